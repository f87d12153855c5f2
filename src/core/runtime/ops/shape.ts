import * as tf from '@tensorflow/tfjs';
import { attrInt, attrInts, attrTensor, normAxis, numbers, unsupported } from './attrs.js';
import { NHWC_POS, permute, plainShape } from './layout.js';
import { plainValue, type HeldValue, type OpContext, type OpSpec } from './types.js';

/** Shape-changing ops. They work in graph layout (NHWC values are converted first), except Transpose. */

function need(ctx: OpContext, i: number): number[] {
  const v = numbers(ctx.constant(i));
  if (!v) throw unsupported(ctx.node, `a missing input ${i}`);
  return v;
}

function reshape(ctx: OpContext): HeldValue[] {
  const x = ctx.plain(0);
  const allowZero = attrInt(ctx.node, 'allowzero', 0) === 1;
  const target = need(ctx, 1).map((d, i) => (d === 0 && !allowZero ? x.shape[i] : d));
  return [plainValue(tf.reshape(x, target))];
}

function flatten(ctx: OpContext): HeldValue[] {
  const x = ctx.plain(0);
  const axis = normAxis(attrInt(ctx.node, 'axis', 1), x.rank);
  const prod = (a: number[]) => a.reduce((p, d) => p * d, 1);
  return [plainValue(tf.reshape(x, [prod(x.shape.slice(0, axis)), prod(x.shape.slice(axis))]))];
}

function transpose(ctx: OpContext): HeldValue[] {
  const v = ctx.held(0);
  const rank = v.tensor.rank;
  const perm = attrInts(ctx.node, 'perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
  // one transpose straight from the held layout
  const held = v.nhwc ? perm.map((a) => NHWC_POS[a]) : perm;
  const identity = (p: number[]) => p.every((a, i) => a === i);
  if (rank === 4) {
    // a 4-D result may be held channels-last: then NHWC -> NCHW model interfaces (TF.js) cost nothing
    const heldNhwc = [0, 2, 3, 1].map((j) => held[j]);
    if (identity(heldNhwc)) return [{ tensor: tf.clone(v.tensor), nhwc: true }];
  }
  if (identity(held)) return [plainValue(tf.clone(v.tensor))];
  return [plainValue(permute(v.tensor, held))];
}

function squeeze(ctx: OpContext): HeldValue[] {
  const x = ctx.plain(0);
  const axes = ctx.has(1) ? need(ctx, 1).map((a) => normAxis(a, x.rank)) : x.shape.flatMap((d, i) => (d === 1 ? [i] : []));
  return [plainValue(tf.reshape(x, x.shape.filter((_, i) => !axes.includes(i))))];
}

function unsqueeze(ctx: OpContext): HeldValue[] {
  const x = ctx.plain(0);
  const outRank = x.rank + need(ctx, 1).length;
  const axes = need(ctx, 1).map((a) => normAxis(a, outRank));
  const out: number[] = [];
  let k = 0;
  for (let i = 0; i < outRank; i++) out.push(axes.includes(i) ? 1 : x.shape[k++]);
  return [plainValue(tf.reshape(x, out))];
}

function expand(ctx: OpContext): HeldValue[] {
  const x = ctx.plain(0);
  const shape = need(ctx, 1);
  const rank = Math.max(x.rank, shape.length);
  const xs = [...new Array(rank - x.rank).fill(1), ...x.shape];
  const ts = [...new Array(rank - shape.length).fill(1), ...shape];
  const out = xs.map((d, i) => (d === 1 ? ts[i] : d));
  return [plainValue(tf.broadcastTo(tf.reshape(x, xs), out))];
}

function shapeOp(ctx: OpContext): HeldValue[] {
  const s = plainShape(ctx.held(0));
  const start = normAxis(attrInt(ctx.node, 'start', 0), s.length);
  const endAttr = ctx.node.attrs.end;
  const end = endAttr === undefined ? s.length : normAxis(endAttr as number, s.length);
  const part = s.slice(Math.max(0, Math.min(start, s.length)), Math.max(0, Math.min(end, s.length)));
  return [plainValue(tf.tensor1d(part, 'int32'))];
}

/** tfjs dtype holding an ONNX TensorProto data type (ints of any width in int32, floats in float32). */
export function tfDtypeOfOnnx(to: number | string): tf.DataType {
  if (typeof to === 'string') return to === 'bool' ? 'bool' : to.startsWith('float') ? 'float32' : 'int32';
  if (to === 9) return 'bool';
  if (to === 1 || to === 10 || to === 11 || to === 16) return 'float32';
  return 'int32';
}

function constantOfShape(ctx: OpContext): HeldValue[] {
  const shape = need(ctx, 0);
  const value = attrTensor(ctx.node, 'value');
  const dtype: tf.DataType = value ? (value.dtype === 'bool' ? 'bool' : value.dtype.startsWith('float') ? 'float32' : 'int32') : 'float32';
  const v = value && value.data.length ? Number(value.data[0]) : 0;
  return [plainValue(tf.fill(shape, v, dtype))];
}

function cast(ctx: OpContext): HeldValue[] {
  const x = ctx.held(0);
  const to = ctx.node.attrs.to as number | string;
  return [{ tensor: tf.cast(x.tensor, tfDtypeOfOnnx(to)), nhwc: x.nhwc }];
}

export const SHAPE_OPS: Record<string, OpSpec> = {
  Reshape: { run: reshape, constInputs: [1] },
  Flatten: { run: flatten },
  Transpose: { run: transpose },
  Squeeze: { run: squeeze, constInputs: [1] },
  Unsqueeze: { run: unsqueeze, constInputs: [1] },
  Expand: { run: expand, constInputs: [1] },
  Shape: { run: shapeOp },
  ConstantOfShape: { run: constantOfShape, constInputs: [0] },
  Cast: { run: cast },
};
