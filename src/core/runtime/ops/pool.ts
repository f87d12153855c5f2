import * as tf from '@tensorflow/tfjs';
import { attrInt, unsupported } from './attrs.js';
import { convPads, spatialAttrs } from './convGeometry.js';
import { nchwToNhwc, nhwcToNchw } from './layout.js';
import { nhwcValue, plainValue, type HeldValue, type OpContext, type OpSpec } from './types.js';

/**
 * MaxPool / AveragePool / global pools on channels-last activations. Padding and ceil_mode follow ONNX
 * (onnxruntime): the pads are applied explicitly and averages divided by an exact per-position count,
 * except where tfjs's own padding gives the same result.
 */

interface PoolPlan {
  x: tf.Tensor4D;
  kernel: [number, number];
  strides: [number, number];
  dilations: [number, number];
  begin: [number, number];
  /** End padding actually needed to produce `out` windows (>= 0). */
  end: [number, number];
  /** End padding the model declared (counts for count_include_pad). */
  declaredEnd: [number, number];
  out: [number, number];
  inSize: [number, number];
  finish: (y: tf.Tensor4D) => HeldValue;
}

function plan(ctx: OpContext): PoolPlan {
  const node = ctx.node;
  const shape = ctx.shape(0);
  const g = spatialAttrs(node, undefined);
  const oneD = shape.length === 3;
  if (!oneD && shape.length !== 4) throw unsupported(node, `a rank-${shape.length} input`);
  const x = oneD ? (nchwToNhwc(tf.reshape(ctx.plain(0), [shape[0], shape[1], 1, shape[2]])) as tf.Tensor4D) : (ctx.nhwc(0) as tf.Tensor4D);
  const lift = (a: number[], unit: number): [number, number] => (oneD ? [unit, a[0]] : [a[0], a[1]]);
  const kernel = lift(g.kernel, 1);
  const strides = lift(g.strides, 1);
  const dilations = lift(g.dilations, 1);
  const inSize: [number, number] = [x.shape[1], x.shape[2]];
  const pads = convPads(node, oneD ? [inSize[1]] : inSize, g.kernel, g.strides, g.dilations);
  const begin = lift(pads.begin, 0);
  const declaredEnd = lift(pads.end, 0);
  const ceil = attrInt(node, 'ceil_mode', 0) === 1;
  const out: [number, number] = [0, 0];
  const end: [number, number] = [0, 0];
  for (let a = 0; a < 2; a++) {
    const span = (kernel[a] - 1) * dilations[a] + 1;
    const q = (inSize[a] + begin[a] + declaredEnd[a] - span) / strides[a] + 1;
    let o = ceil ? Math.ceil(q) : Math.floor(q);
    // a window must start inside the input or its begin padding (onnxruntime / PyTorch rule)
    if (ceil && (o - 1) * strides[a] >= inSize[a] + begin[a]) o--;
    out[a] = o;
    end[a] = Math.max(0, (o - 1) * strides[a] + span - inSize[a] - begin[a]);
  }
  const finish = oneD
    ? (y: tf.Tensor4D) => {
        const p = nhwcToNchw(y);
        const s = p.shape as number[];
        return plainValue(tf.reshape(p, [s[0], s[1], s[3]]));
      }
    : (y: tf.Tensor4D) => nhwcValue(y);
  return { x, kernel, strides, dilations, begin, end, declaredEnd, out, inSize, finish };
}

const noPad = (p: PoolPlan) => p.begin.every((v) => v === 0) && p.end.every((v) => v === 0);

function maxPool(ctx: OpContext): HeldValue[] {
  if (ctx.node.outputs.length > 1 && ctx.node.outputs[1] !== '') throw unsupported(ctx.node, 'the Indices output');
  const p = plan(ctx);
  const dil = p.dilations[0] > 1 || p.dilations[1] > 1;
  let x = p.x;
  // tfjs sizes a numeric pad with the kernel height and stride only: use it for square geometry
  const square = p.kernel[0] === p.kernel[1] && p.strides[0] === p.strides[1];
  const uniform = square && [...p.begin, ...p.end].every((v) => v === p.begin[0]);
  let pad: number | 'valid' = 'valid';
  if (uniform && !noPad(p) && !dil) pad = p.begin[0];
  else if (!noPad(p)) x = tf.pad(x, [[0, 0], [p.begin[0], p.end[0]], [p.begin[1], p.end[1]], [0, 0]], -Infinity);
  let y: tf.Tensor4D;
  if (dil) {
    if (p.strides[0] > 1 || p.strides[1] > 1) throw unsupported(ctx.node, 'dilations together with strides');
    y = tf.pool(x, p.kernel, 'max', 'valid', p.dilations, p.strides);
  } else y = tf.maxPool(x, p.kernel, p.strides, pad);
  return [p.finish(y)];
}

/** Per-output-position number of window elements that count for the average, along one axis. */
function counts(out: number, stride: number, k: number, begin: number, lo: number, hi: number): number[] {
  const c: number[] = [];
  for (let o = 0; o < out; o++) {
    const s = o * stride - begin;
    c.push(Math.max(0, Math.min(s + k, hi) - Math.max(s, lo)));
  }
  return c;
}

function averagePool(ctx: OpContext): HeldValue[] {
  const p = plan(ctx);
  if (p.dilations[0] > 1 || p.dilations[1] > 1) throw unsupported(ctx.node, 'a dilated AveragePool');
  if (noPad(p)) return [p.finish(tf.avgPool(p.x, p.kernel, p.strides, 'valid'))];
  const includePad = attrInt(ctx.node, 'count_include_pad', 0) === 1;
  const xp = tf.pad(p.x, [[0, 0], [p.begin[0], p.end[0]], [p.begin[1], p.end[1]], [0, 0]]);
  const mean = tf.avgPool(xp, p.kernel, p.strides, 'valid');
  const axisCounts = [0, 1].map((a) =>
    includePad
      ? counts(p.out[a], p.strides[a], p.kernel[a], p.begin[a], -p.begin[a], p.inSize[a] + p.declaredEnd[a])
      : counts(p.out[a], p.strides[a], p.kernel[a], p.begin[a], 0, p.inSize[a]),
  );
  const area = p.kernel[0] * p.kernel[1];
  const factor = new Float32Array(p.out[0] * p.out[1]);
  for (let i = 0; i < p.out[0]; i++) for (let j = 0; j < p.out[1]; j++) factor[i * p.out[1] + j] = area / Math.max(1, axisCounts[0][i] * axisCounts[1][j]);
  return [p.finish(tf.mul(mean, tf.tensor4d(factor, [1, p.out[0], p.out[1], 1])))];
}

function globalPool(kind: 'mean' | 'max') {
  return (ctx: OpContext): HeldValue[] => {
    const v = ctx.held(0);
    const reduce = (t: tf.Tensor, axes: number[]) => (kind === 'mean' ? tf.mean(t, axes, true) : tf.max(t, axes, true));
    if (v.nhwc) return [nhwcValue(reduce(v.tensor, [1, 2]))];
    const t = ctx.plain(0);
    const axes = Array.from({ length: t.rank - 2 }, (_, i) => i + 2);
    return [plainValue(reduce(t, axes))];
  };
}

export const POOL_OPS: Record<string, OpSpec> = {
  MaxPool: { run: maxPool },
  AveragePool: { run: averagePool },
  GlobalAveragePool: { run: globalPool('mean') },
  GlobalMaxPool: { run: globalPool('max') },
};
