import * as tf from '@tensorflow/tfjs';
import type { Node } from '../../ir/types.js';
import { attrInts, unsupported } from './attrs.js';
import { convPads, spatialAttrs } from './convGeometry.js';
import { nchwToNhwc, nhwcToNchw } from './layout.js';
import { nhwcValue, plainValue, type HeldValue, type OpContext, type OpSpec } from './types.js';

/**
 * Conv and ConvTranspose on channels-last activations (tfjs convolutions are NHWC-native).
 * 1-D convolutions run as 2-D ones with a unit height.
 */

type Pad = number | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

interface Geometry2D {
  kernel: [number, number];
  strides: [number, number];
  dilations: [number, number];
  group: number;
}

function geometry2D(node: Node, wDims: number[]): Geometry2D {
  const g = spatialAttrs(node, wDims.slice(2));
  const two = (a: number[]): [number, number] => (a.length === 1 ? [1, a[0]] : [a[0], a[1]]);
  if (g.kernel.length > 2) throw unsupported(node, `a ${g.kernel.length}-D convolution`);
  return { kernel: two(g.kernel), strides: two(g.strides), dilations: two(g.dilations), group: g.group };
}

function isDepthwise(g: Geometry2D, wDims: number[]): boolean {
  const stridesOne = g.strides[0] === 1 && g.strides[1] === 1;
  const dilOne = g.dilations[0] === 1 && g.dilations[1] === 1;
  return g.group > 1 && wDims[1] === 1 && wDims[0] % g.group === 0 && (stridesOne || dilOne);
}

/** OIHW (or OIW) -> HWIO for tf.conv2d, or -> [kh, kw, C, multiplier] for tf.depthwiseConv2d. */
export function convWeightTransform(node: Node, index: number, dims: number[]) {
  if (index !== 1) return undefined;
  const g = geometry2D(node, dims);
  const to4 = (w: tf.Tensor) => {
    const s = w.shape as number[];
    return w.rank === 3 ? tf.reshape(w, [s[0], s[1], 1, s[2]]) : w;
  };
  if (isDepthwise(g, dims)) {
    return (w: tf.Tensor) => {
      const w4 = to4(w);
      const [o, , kh, kw] = w4.shape;
      return tf.transpose(tf.reshape(w4, [g.group, o / g.group, kh, kw]), [2, 3, 0, 1]);
    };
  }
  return (w: tf.Tensor) => tf.transpose(to4(w), [2, 3, 1, 0]);
}

/** tfjs padding for begin/end pads: a number when all equal, else undefined (pad explicitly first). */
function uniformPad(begin: number[], end: number[]): number | undefined {
  const all = [...begin, ...end];
  return all.every((p) => p === all[0]) ? all[0] : undefined;
}

function padSpatial(x: tf.Tensor4D, begin: number[], end: number[], value = 0): tf.Tensor4D {
  if ([...begin, ...end].every((p) => p === 0)) return x;
  return tf.pad(x, [[0, 0], [begin[0], end[0]], [begin[1], end[1]], [0, 0]], value);
}

/** Input as NHWC 4-D plus how to bring the NHWC result back (1-D convs are held plain). */
function convInput(ctx: OpContext): { x: tf.Tensor4D; finish: (y: tf.Tensor4D) => HeldValue } {
  const shape = ctx.shape(0);
  if (shape.length === 4) return { x: ctx.nhwc(0) as tf.Tensor4D, finish: (y) => nhwcValue(y) };
  if (shape.length !== 3) throw unsupported(ctx.node, `a rank-${shape.length} input`);
  const [n, c, l] = shape;
  const x = nchwToNhwc(tf.reshape(ctx.plain(0), [n, c, 1, l])) as tf.Tensor4D;
  return {
    x,
    finish: (y) => {
      const p = nhwcToNchw(y);
      const s = p.shape as number[];
      return plainValue(tf.reshape(p, [s[0], s[1], s[3]]));
    },
  };
}

function conv(ctx: OpContext): HeldValue[] {
  return [convWith(ctx, ctx.weight(1) as tf.Tensor4D, ctx.has(2) ? (ctx.plain(2) as tf.Tensor1D) : undefined, 'linear')];
}

/**
 * The Conv node of `ctx` with a given (already transformed) filter and bias and a fused activation: also
 * used by the executor to run Conv + BatchNormalization (folded into filter/bias) + Relu as one kernel.
 */
export function convWith(ctx: OpContext, w: tf.Tensor4D, bias: tf.Tensor1D | undefined, activation: 'linear' | 'relu'): HeldValue {
  const node = ctx.node;
  const wDims = ctx.shape(1);
  const g = geometry2D(node, wDims);
  const { x, finish } = convInput(ctx);
  const oneD = ctx.shape(0).length === 3;
  const inSpatial = [x.shape[1], x.shape[2]];
  const pick = (a: [number, number]) => (oneD ? [a[1]] : a);
  let pads = convPads(node, oneD ? [inSpatial[1]] : inSpatial, pick(g.kernel), pick(g.strides), pick(g.dilations));
  if (oneD) pads = { begin: [0, pads.begin[0]], end: [0, pads.end[0]] };
  let xin = x;
  // tfjs sizes a numeric pad with the kernel height and stride only: use it for square geometry
  const square = g.kernel[0] === g.kernel[1] && g.strides[0] === g.strides[1] && g.dilations[0] === g.dilations[1];
  let pad: Pad | 'valid' | undefined = square ? uniformPad(pads.begin, pads.end) : undefined;
  if (pad === undefined) {
    xin = padSpatial(x, pads.begin, pads.end);
    pad = 'valid';
  }
  // tfjs convolutions refuse strides > 1 together with dilations > 1: run at stride 1, then subsample
  const both = (g.strides[0] > 1 || g.strides[1] > 1) && (g.dilations[0] > 1 || g.dilations[1] > 1);
  const strides: [number, number] = both ? [1, 1] : g.strides;
  const dilated = g.dilations[0] > 1 || g.dilations[1] > 1;
  // tfjs's fused-conv gradients refuse dilations > 1: dilated convs run unfused
  // Under a gradient tape, fused convs (tfjs customGrad) compute the filter gradient eagerly even when only
  // dL/dx is wanted (data-free synthesis: ~30% of a step); unfused ones compute each input's gradient lazily.
  const taped = (tf.engine().state as unknown as { gradientDepth: number }).gradientDepth > 0;
  const conv2d = (xi: tf.Tensor4D, wi: tf.Tensor4D, bi: tf.Tensor1D | undefined, depthwise: boolean): tf.Tensor4D => {
    if (!dilated && !taped) {
      const args = { x: xi, filter: wi, strides, pad, dataFormat: 'NHWC' as const, dilations: g.dilations, activation, bias: bi };
      return depthwise ? tf.fused.depthwiseConv2d(args) : tf.fused.conv2d(args);
    }
    let yi = depthwise ? tf.depthwiseConv2d(xi, wi, strides, pad, 'NHWC', g.dilations) : tf.conv2d(xi, wi, strides, pad, 'NHWC', g.dilations);
    if (bi) yi = tf.add(yi, bi);
    return activation === 'relu' ? tf.relu(yi) : yi;
  };
  let y: tf.Tensor4D;
  if (isDepthwise(g, wDims)) y = conv2d(xin, w, bias, true);
  else if (g.group === 1) y = conv2d(xin, w, bias, false);
  else {
    const xs = tf.split(xin, g.group, 3) as tf.Tensor4D[];
    const ws = tf.split(w, g.group, 3) as tf.Tensor4D[];
    const bs = bias ? (tf.split(bias, g.group, 0) as tf.Tensor1D[]) : undefined;
    y = tf.concat(xs.map((xi, i) => conv2d(xi, ws[i], bs?.[i], false)), 3) as tf.Tensor4D;
  }
  if (both) y = tf.avgPool(y, 1, g.strides, 'valid'); // exact subsampling
  return finish(y);
}

/** [C, O/g, kh, kw] -> [kh, kw, O/g, C] (tf.conv2dTranspose), with dilation holes inserted into the kernel. */
function convTransposeWeightTransform(node: Node, index: number, dims: number[]) {
  if (index !== 1) return undefined;
  const g = geometry2D(node, dims);
  return (w: tf.Tensor) => {
    const ws = w.shape as number[];
    let k = w.rank === 3 ? tf.reshape(w, [ws[0], ws[1], 1, ws[2]]) : w;
    k = tf.transpose(k, [2, 3, 1, 0]);
    for (const axis of [0, 1]) {
      const d = g.dilations[axis];
      if (d === 1) continue;
      const s = k.shape as number[];
      const zeros = tf.zeros(axis === 0 ? [s[0], d - 1, s[1], s[2], s[3]] : [s[0], s[1], d - 1, s[2], s[3]]);
      const spread = tf.concat([tf.expandDims(k, axis + 1), zeros], axis + 1);
      const merged = tf.reshape(spread, axis === 0 ? [s[0] * d, s[1], s[2], s[3]] : [s[0], s[1] * d, s[2], s[3]]);
      k = tf.slice(merged, [0, 0, 0, 0], axis === 0 ? [(s[0] - 1) * d + 1, -1, -1, -1] : [-1, (s[1] - 1) * d + 1, -1, -1]);
    }
    return k;
  };
}

function convTranspose(ctx: OpContext): HeldValue[] {
  const node = ctx.node;
  const wDims = ctx.shape(1);
  const g = geometry2D(node, wDims);
  const { x, finish } = convInput(ctx);
  const oneD = ctx.shape(0).length === 3;
  const w = ctx.weight(1) as tf.Tensor4D; // [kh', kw', O/g, C] with dilation applied
  const kEff = [w.shape[0], w.shape[1]];
  const outPad = attrInts(node, 'output_padding') ?? [];
  const outShapeAttr = attrInts(node, 'output_shape');
  const autoPad = (node.attrs.auto_pad as string | undefined) ?? 'NOTSET';
  const padsAttr = attrInts(node, 'pads');
  const inSpatial = [x.shape[1], x.shape[2]];
  const head: number[] = [];
  const size: number[] = [];
  for (let a = 0; a < 2; a++) {
    // index into the 1-D attribute lists for the 1-D case (height is the added unit axis)
    const ai = oneD ? a - 1 : a;
    const op = ai >= 0 ? outPad[ai] ?? 0 : 0;
    const full = (inSpatial[a] - 1) * g.strides[a] + kEff[a];
    let out: number;
    let h: number;
    const nSp = oneD ? 1 : 2;
    const wanted = ai >= 0 && outShapeAttr ? outShapeAttr[outShapeAttr.length - nSp + ai] : undefined;
    if (wanted !== undefined || autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      out = wanted ?? inSpatial[a] * g.strides[a];
      const total = Math.max(0, full + op - out);
      // onnxruntime: SAME_UPPER puts the odd extra at the end; SAME_LOWER and output_shape at the start
      h = autoPad === 'SAME_UPPER' ? Math.floor(total / 2) : total - Math.floor(total / 2);
      if (ai < 0) h = 0;
    } else {
      const pb = ai >= 0 && padsAttr && autoPad !== 'VALID' ? padsAttr[ai] : 0;
      const pe = ai >= 0 && padsAttr && autoPad !== 'VALID' ? padsAttr[ai + nSp] : 0;
      out = full + op - pb - pe;
      h = pb;
    }
    head.push(h);
    size.push(out);
  }
  const cin = x.shape[3];
  const run = (xi: tf.Tensor4D, wi: tf.Tensor4D) => {
    const full = [xi.shape[0], (inSpatial[0] - 1) * g.strides[0] + kEff[0], (inSpatial[1] - 1) * g.strides[1] + kEff[1], wi.shape[2]] as [number, number, number, number];
    return tf.conv2dTranspose(xi, wi, full, g.strides, 'valid');
  };
  let y: tf.Tensor4D;
  if (g.group === 1) y = run(x, w);
  else {
    if (cin % g.group) throw unsupported(node, 'input channels not divisible by group');
    const xs = tf.split(x, g.group, 3) as tf.Tensor4D[];
    const ws = tf.split(w, g.group, 3) as tf.Tensor4D[];
    y = tf.concat(xs.map((xi, i) => run(xi, ws[i])), 3) as tf.Tensor4D;
  }
  // crop [head, head + size), zero-filling what output_padding adds past the computed extent
  const [fh, fw] = [y.shape[1], y.shape[2]];
  const take = [Math.min(size[0], fh - head[0]), Math.min(size[1], fw - head[1])];
  y = tf.slice(y, [0, head[0], head[1], 0], [-1, take[0], take[1], -1]);
  if (take[0] < size[0] || take[1] < size[1]) y = tf.pad(y, [[0, 0], [0, size[0] - take[0]], [0, size[1] - take[1]], [0, 0]]);
  if (ctx.has(2)) y = tf.add(y, ctx.plain(2));
  return [finish(y)];
}

export const CONV_OPS: Record<string, OpSpec> = {
  Conv: { run: conv, weightTransform: convWeightTransform },
  ConvTranspose: { run: convTranspose, weightTransform: convTransposeWeightTransform },
};
