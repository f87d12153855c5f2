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

/** x[:, o0*s0 + d0, o1*s1 + d1, :] over all output positions (an exact strided view). */
function shifted(x: tf.Tensor4D, d0: number, d1: number, out: [number, number], strides: [number, number]): tf.Tensor4D {
  const v = tf.slice(x, [0, d0, d1, 0], [-1, (out[0] - 1) * strides[0] + 1, (out[1] - 1) * strides[1] + 1, -1]);
  return strides[0] > 1 || strides[1] > 1 ? tf.avgPool(v, 1, strides, 'valid') : v;
}

/** The inverse of `shifted`: v spread back onto a zero tensor of `shape` at offset (d0, d1), stride s. */
function place(v: tf.Tensor4D, d0: number, d1: number, strides: [number, number], shape: number[]): tf.Tensor4D {
  let t: tf.Tensor = v;
  for (const axis of [1, 2]) {
    const st = strides[axis - 1];
    if (st === 1) continue;
    const sh = t.shape as number[];
    const zerosShape = [...sh.slice(0, axis + 1), st - 1, ...sh.slice(axis + 1)];
    const spread = tf.concat([tf.expandDims(t, axis + 1), tf.zeros(zerosShape)], axis + 1);
    const merged = tf.reshape(spread, sh.map((d, i) => (i === axis ? d * st : d)));
    t = tf.slice(merged, [0, 0, 0, 0], sh.map((d, i) => (i === axis ? (d - 1) * st + 1 : -1)));
  }
  const ts = t.shape as number[];
  return tf.pad(t as tf.Tensor4D, [[0, 0], [d0, shape[1] - d0 - ts[1]], [d1, shape[2] - d1 - ts[2]], [0, 0]]);
}

/**
 * Max pool over an already padded NHWC input ('valid' windows), with its own gradient: tfjs 4.22's wasm
 * MaxPoolGrad / MaxPoolWithArgmax mishandle negative inputs. The gradient goes to the first maximum of
 * each window (as tfjs's cpu kernel and onnxruntime do).
 */
function maxPoolValid(x: tf.Tensor4D, kernel: [number, number], strides: [number, number], dilations: [number, number]): tf.Tensor4D {
  const xs = x.shape as number[];
  const out: [number, number] = [0, 1].map((a) => Math.floor((xs[a + 1] - ((kernel[a] - 1) * dilations[a] + 1)) / strides[a]) + 1) as [number, number];
  const offsets: [number, number][] = [];
  for (let i = 0; i < kernel[0]; i++) for (let j = 0; j < kernel[1]; j++) offsets.push([i * dilations[0], j * dilations[1]]);
  const f = tf.customGrad(((xi: tf.Tensor4D, save: tf.GradSaveFunc) => {
    const dilated = dilations[0] > 1 || dilations[1] > 1;
    const value = dilated
      ? offsets.map(([a, b]) => shifted(xi, a, b, out, strides)).reduce((m, v) => tf.maximum(m, v))
      : tf.maxPool(xi, kernel, strides, 'valid');
    save([xi, value]);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xv, y] = saved as tf.Tensor4D[];
      let taken: tf.Tensor = tf.zerosLike(y);
      let dx: tf.Tensor = tf.zerosLike(xv);
      for (const [a, b] of offsets) {
        const hit = tf.mul(tf.cast(tf.equal(shifted(xv, a, b, out, strides), y), 'float32'), tf.sub(1, taken));
        taken = tf.add(taken, hit);
        dx = tf.add(dx, place(tf.mul(dy, hit) as tf.Tensor4D, a, b, strides, xs));
      }
      return dx;
    };
    return { value, gradFunc };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x) as tf.Tensor4D;
}

function maxPool(ctx: OpContext): HeldValue[] {
  if (ctx.node.outputs.length > 1 && ctx.node.outputs[1] !== '') throw unsupported(ctx.node, 'the Indices output');
  const p = plan(ctx);
  const x = noPad(p) ? p.x : tf.pad(p.x, [[0, 0], [p.begin[0], p.end[0]], [p.begin[1], p.end[1]], [0, 0]], -Infinity);
  return [p.finish(maxPoolValid(x, p.kernel, p.strides, p.dilations))];
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
