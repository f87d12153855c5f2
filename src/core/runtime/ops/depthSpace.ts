/**
 * DepthToSpace (modes DCR and CRD) and SpaceToDepth, on values held channels-last.
 *
 * tfjs 4.22 pitfall: tf.depthToSpace has no gradient ("gradient function not found for DepthToSpace"), and
 * synthesis and rounding differentiate through every op; so both ops are reshapes and rank-4 transposes
 * (the wasm backend's Transpose and its gradient handle rank 4 everywhere).
 *
 * DCR, NHWC: out[n, h*b+i, w*b+j, k] = x[n, h, w, (i*b+j)*c + k]. As [N*H, W, b, b*c] -> transpose the W and
 * i axes -> [N*H, b, W, b*c], which read row-major is [N, H*b, W*b, c]. CRD reads channel k*b*b + i*b + j:
 * a transpose of the last axis as [c, b*b] first brings it to the DCR order.
 */
import * as tf from '@tensorflow/tfjs';
import { LocalQuantError } from '../../errors.js';
import { attrInt, attrString } from './attrs.js';
import { nhwcValue, type HeldValue, type OpContext, type OpSpec } from './types.js';

function blockSizeOf(ctx: OpContext, channels: number, fromDepth: boolean): number {
  const b = attrInt(ctx.node, 'blocksize', 0);
  if (!(b >= 1) || (fromDepth && channels % (b * b) !== 0)) {
    throw new LocalQuantError('UNSUPPORTED_OP', `Node '${ctx.node.name}' (${ctx.node.opType}) has blocksize ${b} for ${channels} channels.`, 'The block size must be at least 1 and, for DepthToSpace, divide the channels by its square.');
  }
  return b;
}

function depthToSpace(ctx: OpContext): HeldValue[] {
  const x = ctx.nhwc(0);
  const [n, h, w, cIn] = x.shape;
  const b = blockSizeOf(ctx, cIn, true);
  const c = cIn / (b * b);
  const mode = attrString(ctx.node, 'mode', 'DCR');
  if (mode !== 'DCR' && mode !== 'CRD') throw new LocalQuantError('UNSUPPORTED_OP', `Node '${ctx.node.name}' (DepthToSpace) has mode '${mode}'.`, 'ONNX defines DCR and CRD.');
  const y = tf.tidy(() => {
    const dcr = mode === 'DCR' ? x : tf.reshape(tf.transpose(tf.reshape(x, [n * h * w, c, b * b]), [0, 2, 1]), [n, h, w, cIn]);
    const t = tf.transpose(tf.reshape(dcr, [n * h, w, b, b * c]), [0, 2, 1, 3]);
    return tf.reshape(t, [n, h * b, w * b, c]);
  });
  return [nhwcValue(y)];
}

/** The inverse of DCR DepthToSpace (ONNX SpaceToDepth has no mode): [N, H, W, c] -> [N, H/b, W/b, b*b*c]. */
function spaceToDepth(ctx: OpContext): HeldValue[] {
  const x = ctx.nhwc(0);
  const [n, h, w, c] = x.shape;
  const b = blockSizeOf(ctx, c, false);
  if (h % b !== 0 || w % b !== 0) throw new LocalQuantError('UNSUPPORTED_OP', `Node '${ctx.node.name}' (SpaceToDepth) has blocksize ${b} for a ${h}x${w} input.`, 'The block size must divide the height and the width.');
  const y = tf.tidy(() => {
    const t = tf.transpose(tf.reshape(x, [n * (h / b), b, w / b, b * c]), [0, 2, 1, 3]);
    return tf.reshape(t, [n, h / b, w / b, b * b * c]);
  });
  return [nhwcValue(y)];
}

export const DEPTH_SPACE_OPS: Record<string, OpSpec> = {
  DepthToSpace: { run: depthToSpace },
  SpaceToDepth: { run: spaceToDepth },
};
