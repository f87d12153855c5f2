import * as tf from '@tensorflow/tfjs';
import { attrFloat, attrInt, normAxis } from './attrs.js';
import { broadcastInputs } from './broadcast.js';
import { heldAxis } from './layout.js';
import type { HeldValue, OpContext, OpSpec } from './types.js';

/** Element-wise activations keep whatever layout their input is held in. */
function unary(f: (x: tf.Tensor, ctx: OpContext) => tf.Tensor): OpSpec {
  return {
    run: (ctx: OpContext): HeldValue[] => {
      const x = ctx.held(0);
      return [{ tensor: f(x.tensor, ctx), nhwc: x.nhwc }];
    },
  };
}

function scalarOf(ctx: OpContext, i: number, def: number): number {
  if (!ctx.has(i)) return def;
  const c = ctx.constant(i);
  return c && c.data.length ? Number(c.data[0]) : def;
}

function clip(x: tf.Tensor, ctx: OpContext): tf.Tensor {
  const lo = scalarOf(ctx, 1, -Infinity);
  const hi = scalarOf(ctx, 2, Infinity);
  if (lo === 0 && hi === 6) return tf.relu6(x);
  if (lo === 0 && hi === Infinity) return tf.relu(x);
  if (lo === -Infinity && hi === Infinity) return tf.clone(x);
  if (lo === -Infinity) return tf.minimum(x, tf.scalar(hi, x.dtype));
  if (hi === Infinity) return tf.maximum(x, tf.scalar(lo, x.dtype));
  return tf.clipByValue(x, lo, hi);
}

function hardSigmoid(x: tf.Tensor, alpha: number, beta: number): tf.Tensor {
  return tf.clipByValue(tf.add(tf.mul(x, tf.scalar(alpha)), tf.scalar(beta)), 0, 1);
}

/** Softmax over one axis (opset >= 13 form; the importer rewrites older forms). */
function softmax(log: boolean) {
  return (ctx: OpContext): HeldValue[] => {
    const x = ctx.held(0);
    const rank = x.tensor.rank;
    const graphAxis = normAxis(attrInt(ctx.node, 'axis', ctx.opset >= 13 ? -1 : 1), rank);
    if (ctx.opset < 13 && graphAxis < rank - 1) {
      // opset < 13: the input is coerced to 2-D [prod(:axis), prod(axis:)] and normalized per row
      const p = ctx.plain(0);
      const s = p.shape as number[];
      const rows = s.slice(0, graphAxis).reduce((a, b) => a * b, 1);
      const flat = tf.reshape(p, [rows, -1]);
      return [{ tensor: tf.reshape(log ? tf.logSoftmax(flat) : tf.softmax(flat), s), nhwc: false }];
    }
    const axis = x.nhwc ? heldAxis(graphAxis, true) : graphAxis;
    let y: tf.Tensor;
    if (axis === rank - 1) y = log ? tf.logSoftmax(x.tensor) : tf.softmax(x.tensor);
    else {
      const ls = tf.sub(x.tensor, tf.logSumExp(x.tensor, axis, true));
      y = log ? ls : tf.exp(ls);
    }
    return [{ tensor: y, nhwc: x.nhwc }];
  };
}

export const ACTIVATION_OPS: Record<string, OpSpec> = {
  Relu: unary((x) => tf.relu(x)),
  LeakyRelu: unary((x, c) => tf.leakyRelu(x, attrFloat(c.node, 'alpha', 0.01))),
  Elu: unary((x, c) => {
    const a = attrFloat(c.node, 'alpha', 1);
    return a === 1 ? tf.elu(x) : tf.where(tf.greater(x, 0), x, tf.mul(tf.scalar(a), tf.sub(tf.exp(x), 1)));
  }),
  Selu: unary((x) => tf.selu(x)),
  Sigmoid: unary((x) => tf.sigmoid(x)),
  HardSigmoid: unary((x, c) => hardSigmoid(x, attrFloat(c.node, 'alpha', 0.2), attrFloat(c.node, 'beta', 0.5))),
  HardSwish: unary((x) => tf.mul(x, hardSigmoid(x, 1 / 6, 0.5))),
  Tanh: unary((x) => tf.tanh(x)),
  Softplus: unary((x) => tf.softplus(x)),
  Sqrt: unary((x) => tf.sqrt(x)),
  Neg: unary((x) => tf.neg(x)),
  Exp: unary((x) => tf.exp(x)),
  Log: unary((x) => tf.log(x)),
  Abs: unary((x) => tf.abs(x)),
  Reciprocal: unary((x) => tf.reciprocal(x)),
  Erf: unary((x) => tf.erf(x)),
  Floor: unary((x) => tf.floor(x)),
  Ceil: unary((x) => tf.ceil(x)),
  Sin: unary((x) => tf.sin(x)),
  Cos: unary((x) => tf.cos(x)),
  Not: unary((x) => tf.logicalNot(x)),
  Identity: unary((x) => tf.clone(x)),
  Dropout: unary((x) => tf.clone(x)),
  Clip: { run: unary(clip).run, constInputs: [1, 2] },
  PRelu: {
    run: (ctx) => {
      const { tensors, nhwc } = broadcastInputs(ctx, [0, 1]);
      return [{ tensor: tf.prelu(tensors[0], tensors[1]), nhwc }];
    },
  },
  Softmax: { run: softmax(false) },
  LogSoftmax: { run: softmax(true) },
};
