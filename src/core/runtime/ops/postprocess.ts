import * as tf from '@tensorflow/tfjs';
import { attrInt, normAxis, numbers, unsupported } from './attrs.js';
import { plainValue, type HeldValue, type OpContext, type OpSpec } from './types.js';

/**
 * Detection post-processing ops (TopK, ArgMax, NonMaxSuppression, NonZero, GatherND, Floor, Mod, Not, Tile,
 * Range). They sit in a model's float tail (ir/cut.ts), which is never differentiated or quantized, so they
 * are forward-only and work in graph layout. Index outputs are int32 tensors (the IR's int64).
 *
 * tfjs 4.22 pitfall: NonMaxSuppression and NonZero read their inputs with dataSync(), which the webgpu
 * backend cannot do in a Chromium worker; there the float tail runs only on wasm/cpu.
 */

function need(ctx: OpContext, i: number): number[] {
  const v = numbers(ctx.constant(i));
  if (!v) throw unsupported(ctx.node, `a missing input ${i}`);
  return v;
}

/** Moves `axis` last (tf.topk and friends work on the last axis only); returns the inverse perm too. */
function axisLast(x: tf.Tensor, axis: number): { t: tf.Tensor; back: number[] | null } {
  if (axis === x.rank - 1) return { t: x, back: null };
  const perm = x.shape.map((_, i) => i).filter((i) => i !== axis);
  perm.push(axis);
  const back = perm.map((_, i) => perm.indexOf(i));
  return { t: tf.transpose(x, perm), back };
}

function topK(ctx: OpContext): HeldValue[] {
  const x = ctx.plain(0);
  const k = ctx.has(1) ? need(ctx, 1)[0] : attrInt(ctx.node, 'k', 1);
  const axis = normAxis(attrInt(ctx.node, 'axis', -1), x.rank);
  const largest = attrInt(ctx.node, 'largest', 1) === 1;
  const { t, back } = axisLast(x, axis);
  // sorted = 0 allows any order; sorted order is one of them
  const r = tf.topk(largest ? t : tf.neg(t), k, true);
  const values = largest ? r.values : tf.neg(r.values);
  const restore = (v: tf.Tensor) => (back ? tf.transpose(v, back) : v);
  return [plainValue(restore(values)), plainValue(restore(r.indices))];
}

function argExtreme(f: (x: tf.Tensor, axis: number) => tf.Tensor) {
  return (ctx: OpContext): HeldValue[] => {
    const x = ctx.plain(0);
    const axis = normAxis(attrInt(ctx.node, 'axis', 0), x.rank);
    if (attrInt(ctx.node, 'select_last_index', 0) === 1) throw unsupported(ctx.node, 'select_last_index = 1');
    const r = f(x, axis);
    const keep = attrInt(ctx.node, 'keepdims', 1) === 1;
    return [plainValue(keep ? tf.expandDims(r, axis) : r)];
  };
}

function mod(ctx: OpContext): HeldValue[] {
  const a = ctx.plain(0);
  const b = ctx.plain(1);
  // fmod = 1: the sign of the dividend (C fmod); fmod = 0: the sign of the divisor (tf.mod's floor mod)
  if (attrInt(ctx.node, 'fmod', 0) === 1) {
    const m = tf.mod(a, b);
    // floor mod and fmod differ by b exactly where the remainder is nonzero and the signs of a and b differ
    const differ = tf.logicalAnd(tf.notEqual(m, tf.zerosLike(m)), tf.notEqual(tf.less(a, tf.zerosLike(a)), tf.less(b, tf.zerosLike(b))));
    return [plainValue(tf.where(differ, tf.sub(m, b), m))];
  }
  return [plainValue(tf.mod(a, b))];
}

function range(ctx: OpContext): HeldValue[] {
  const [start, limit, delta] = [0, 1, 2].map((i) => Number(ctx.constant(i)?.data[0] ?? 0));
  const dtype = ctx.constant(0)?.dtype.startsWith('float') ? 'float32' : 'int32';
  return [plainValue(tf.range(start, limit, delta, dtype))];
}

/** Corners (y1, x1, y2, x2) of box i, from corner pairs in any order or from centers (center_point_box = 1). */
function corners(b: Float32Array | Int32Array | Uint8Array, i: number, center: boolean): [number, number, number, number] {
  const [p, q, r, s] = [b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]];
  if (center) return [q - s / 2, p - r / 2, q + s / 2, p + r / 2];
  return [Math.min(p, r), Math.min(q, s), Math.max(p, r), Math.max(q, s)];
}

export function iou(a: readonly number[], b: readonly number[]): number {
  const ih = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const iw = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = ih * iw;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
}

/** ONNX NonMaxSuppression: greedy per batch and class, as onnxruntime does (score > threshold, IoU > threshold suppresses). */
function nonMaxSuppression(ctx: OpContext): HeldValue[] {
  const boxesT = ctx.plain(0);
  const scoresT = ctx.plain(1);
  const [nb, n] = boxesT.shape as [number, number];
  const nc = scoresT.shape[1] as number;
  const maxPer = ctx.has(2) ? need(ctx, 2)[0] : 0;
  const iouMax = ctx.has(3) ? need(ctx, 3)[0] : 0;
  const scoreMin = ctx.has(4) ? need(ctx, 4)[0] : -Infinity;
  const center = attrInt(ctx.node, 'center_point_box', 0) === 1;
  const boxes = boxesT.dataSync() as Float32Array;
  const scores = scoresT.dataSync() as Float32Array;
  const out: number[] = [];
  for (let bi = 0; bi < nb; bi++) {
    const box = (i: number) => corners(boxes, bi * n + i, center);
    for (let c = 0; c < nc; c++) {
      const base = (bi * nc + c) * n;
      const cand = [];
      for (let i = 0; i < n; i++) if (scores[base + i] > scoreMin) cand.push(i);
      cand.sort((i, j) => scores[base + j] - scores[base + i] || i - j);
      const kept: number[] = [];
      for (const i of cand) {
        if (kept.length >= maxPer) break; // 0 (the default) selects nothing
        if (kept.every((j) => iou(box(i), box(j)) <= iouMax)) kept.push(i);
      }
      for (const i of kept) out.push(bi, c, i);
    }
  }
  return [plainValue(tf.tensor2d(out, [out.length / 3, 3], 'int32'))];
}

function nonZero(ctx: OpContext): HeldValue[] {
  const x = ctx.plain(0);
  const v = x.dataSync();
  const shape = x.shape;
  const hits: number[] = [];
  for (let i = 0; i < v.length; i++) if (v[i]) hits.push(i);
  const out = new Int32Array(shape.length * hits.length);
  hits.forEach((flat, k) => {
    let rest = flat;
    for (let d = shape.length - 1; d >= 0; d--) {
      out[d * hits.length + k] = rest % shape[d];
      rest = Math.floor(rest / shape[d]);
    }
  });
  return [plainValue(tf.tensor2d(out, [shape.length, hits.length], 'int32'))];
}

function gatherND(ctx: OpContext): HeldValue[] {
  if (attrInt(ctx.node, 'batch_dims', 0) !== 0) throw unsupported(ctx.node, 'batch_dims other than 0');
  return [plainValue(tf.gatherND(ctx.plain(0), tf.cast(ctx.plain(1), 'int32')))];
}

export const POSTPROCESS_OPS: Record<string, OpSpec> = {
  TopK: { run: topK, constInputs: [1] },
  ArgMax: { run: argExtreme(tf.argMax) },
  ArgMin: { run: argExtreme(tf.argMin) },
  NonMaxSuppression: { run: nonMaxSuppression, constInputs: [2, 3, 4] },
  NonZero: { run: nonZero },
  GatherND: { run: gatherND },
  Floor: { run: (ctx) => [plainValue(tf.floor(ctx.plain(0)))] },
  Mod: { run: mod },
  Not: { run: (ctx) => [plainValue(tf.logicalNot(ctx.plain(0)))] },
  Tile: { run: (ctx) => [plainValue(tf.tile(ctx.plain(0), need(ctx, 1)))], constInputs: [1] },
  Range: { run: range, constInputs: [0, 1, 2] },
};
