import * as tf from '@tensorflow/tfjs';
import { attrString, numbers, unsupported } from './attrs.js';
import { gatherAxis } from './gather.js';
import { nhwcValue, type HeldValue, type OpContext, type OpSpec } from './types.js';

/**
 * Resize (opset 11+ form: X, roi, scales, sizes) of the two spatial axes of a 4-D value, channels-last.
 * Index maps follow ONNX (onnxruntime) exactly. Nearest: integer-factor replication by broadcasting, else
 * separable gathers; linear: gathers + lerp. (tfjs's resize kernels are not used: their gradients are
 * wrong on the cpu backend for batch > 1 / non-square images in tfjs 4.22.)
 */

type CoordMode = 'half_pixel' | 'pytorch_half_pixel' | 'align_corners' | 'asymmetric' | 'tf_half_pixel_for_nn';

function toOriginal(mode: CoordMode, x: number, scale: number, inSize: number, outSize: number): number {
  switch (mode) {
    case 'half_pixel':
      return (x + 0.5) / scale - 0.5;
    case 'pytorch_half_pixel':
      return outSize > 1 ? (x + 0.5) / scale - 0.5 : 0;
    case 'align_corners':
      return outSize === 1 ? 0 : (x * (inSize - 1)) / (outSize - 1);
    case 'asymmetric':
      return x / scale;
    case 'tf_half_pixel_for_nn':
      return (x + 0.5) / scale;
  }
}

function nearestIndex(mode: string, v: number): number {
  switch (mode) {
    case 'floor':
      return Math.floor(v);
    case 'ceil':
      return Math.ceil(v);
    case 'round_prefer_ceil':
      return Math.floor(v + 0.5);
    default: // round_prefer_floor
      return v === Math.floor(v) + 0.5 ? Math.floor(v) : Math.round(v);
  }
}

function resize(ctx: OpContext): HeldValue[] {
  const node = ctx.node;
  const shape = ctx.shape(0);
  if (shape.length !== 4) throw unsupported(node, `resizing a rank-${shape.length} tensor`);
  const mode = attrString(node, 'mode', 'nearest');
  const coord = attrString(node, 'coordinate_transformation_mode', 'half_pixel') as CoordMode;
  if (!['half_pixel', 'pytorch_half_pixel', 'align_corners', 'asymmetric', 'tf_half_pixel_for_nn'].includes(coord)) {
    throw unsupported(node, `coordinate_transformation_mode '${coord}'`);
  }
  if (node.attrs.axes !== undefined) throw unsupported(node, 'the axes attribute');
  const sizes = ctx.has(3) ? numbers(ctx.constant(3)) : undefined;
  const scalesIn = ctx.has(2) ? numbers(ctx.constant(2)) : undefined;
  let out: number[];
  let scale: number[];
  if (sizes && sizes.length) {
    out = sizes;
    scale = sizes.map((s, i) => s / shape[i]);
  } else if (scalesIn && scalesIn.length) {
    scale = scalesIn;
    out = shape.map((d, i) => Math.floor(d * scalesIn[i]));
  } else throw unsupported(node, 'a Resize without scales or sizes');
  if (out[0] !== shape[0] || out[1] !== shape[1]) throw unsupported(node, 'resizing the batch or channel axis');
  const x = ctx.nhwc(0) as tf.Tensor4D;
  const spatial = [2, 3];

  if (mode === 'nearest') {
    const nearestMode = attrString(node, 'nearest_mode', 'round_prefer_floor');
    const maps = spatial.map((a) =>
      Array.from({ length: out[a] }, (_, i) =>
        Math.min(shape[a] - 1, Math.max(0, nearestIndex(nearestMode, toOriginal(coord, i, scale[a], shape[a], out[a])))),
      ),
    );
    // pure replication by integer factors (map[i] = floor(i / s)): reshape + broadcast, fast everywhere
    const factors = spatial.map((a, k) => {
      const f = out[a] / shape[a];
      return Number.isInteger(f) && maps[k].every((v, i) => v === Math.floor(i / f)) ? f : 0;
    });
    if (factors.every((f) => f > 0)) {
      // one axis at a time, at rank 4 (tfjs's Tile gradient stops at rank 4)
      const [n, h, w, c] = x.shape;
      const rows = tf.reshape(tf.broadcastTo(tf.reshape(x, [n, h, 1, w * c]), [n, h, factors[0], w * c]), [n * out[2], w, 1, c]);
      return [nhwcValue(tf.reshape(tf.broadcastTo(rows, [n * out[2], w, factors[1], c]), [n, out[2], out[3], c]))];
    }
    let y: tf.Tensor = x;
    maps.forEach((m, k) => {
      y = gatherAxis(y, m, k + 1);
    });
    return [nhwcValue(y)];
  }
  if (mode !== 'linear') throw unsupported(node, `Resize mode '${mode}'`);
  // separable gathers + lerp: exact ONNX coordinates and a gradient that is right on every backend
  // (tfjs 4.22's ResizeBilinear gradients are wrong on cpu for non-square images)
  let y: tf.Tensor = x;
  spatial.forEach((a, k) => {
    const i0: number[] = [];
    const i1: number[] = [];
    const lambda = new Float32Array(out[a]);
    for (let i = 0; i < out[a]; i++) {
      const src = Math.min(Math.max(toOriginal(coord, i, scale[a], shape[a], out[a]), 0), shape[a] - 1);
      const f = Math.floor(src);
      i0.push(f);
      i1.push(Math.min(f + 1, shape[a] - 1));
      lambda[i] = src - f;
    }
    const axis = k + 1;
    const g0 = gatherAxis(y, i0, axis);
    const g1 = gatherAxis(y, i1, axis);
    const lshape = [1, 1, 1, 1];
    lshape[axis] = out[a];
    y = tf.add(g0, tf.mul(tf.sub(g1, g0), tf.tensor(lambda, lshape)));
  });
  return [nhwcValue(y)];
}

export const RESIZE_OPS: Record<string, OpSpec> = {
  Resize: { run: resize, constInputs: [1, 2, 3] },
};
