import * as tf from '@tensorflow/tfjs';
import { broadcastInputs } from './broadcast.js';
import type { HeldValue, OpContext, OpSpec } from './types.js';

/** Broadcasting arithmetic (Add, Mul, ...): layout-agnostic, so NHWC activations stay NHWC. */

function binary(f: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor): OpSpec {
  return {
    run: (ctx: OpContext): HeldValue[] => {
      const { tensors, nhwc } = broadcastInputs(ctx, [0, 1]);
      return [{ tensor: f(tensors[0], tensors[1]), nhwc }];
    },
  };
}

function variadic(f: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, finish?: (t: tf.Tensor, n: number) => tf.Tensor): OpSpec {
  return {
    run: (ctx: OpContext): HeldValue[] => {
      const idx = ctx.node.inputs.map((_, i) => i).filter((i) => ctx.has(i));
      const { tensors, nhwc } = broadcastInputs(ctx, idx);
      // pairwise, never tf.addN (which returns zeros for 8+ inputs on webgpu)
      let acc = tensors.length === 1 ? tf.clone(tensors[0]) : tensors.slice(1).reduce((a, b) => f(a, b), tensors[0]);
      if (finish) acc = finish(acc, tensors.length);
      return [{ tensor: acc, nhwc }];
    },
  };
}

/** Pow with a known scalar exponent uses square/sqrt (cheaper, and a gradient that is finite at 0). */
const powOp: OpSpec = {
  run: (ctx) => {
    const e = ctx.known(1);
    if (e && e.data.length === 1) {
      const x = ctx.held(0);
      const k = Number(e.data[0]);
      if (k === 2) return [{ tensor: tf.square(x.tensor), nhwc: x.nhwc }];
      if (k === 1) return [{ tensor: tf.clone(x.tensor), nhwc: x.nhwc }];
      if (k === 0.5) return [{ tensor: tf.sqrt(x.tensor), nhwc: x.nhwc }];
    }
    const { tensors, nhwc } = broadcastInputs(ctx, [0, 1]);
    return [{ tensor: tf.pow(tensors[0], tensors[1]), nhwc }];
  },
};

export const ELEMENTWISE_OPS: Record<string, OpSpec> = {
  Add: binary(tf.add),
  Sub: binary(tf.sub),
  Mul: binary(tf.mul),
  Div: binary(tf.div),
  Pow: powOp,
  Max: variadic(tf.maximum),
  Min: variadic(tf.minimum),
  Sum: variadic(tf.add),
  Mean: variadic(tf.add, (t, n) => tf.div(t, tf.scalar(n))),
  Equal: binary(tf.equal),
  Less: binary(tf.less),
  Greater: binary(tf.greater),
  LessOrEqual: binary(tf.lessEqual),
  GreaterOrEqual: binary(tf.greaterEqual),
  And: binary(tf.logicalAnd),
  Or: binary(tf.logicalOr),
  Where: {
    run: (ctx) => {
      const { tensors, nhwc } = broadcastInputs(ctx, [0, 1, 2]);
      return [{ tensor: tf.where(tensors[0] as tf.Tensor, tensors[1], tensors[2]), nhwc }];
    },
  },
};
