import * as tf from '@tensorflow/tfjs';
import { attrInt, attrInts, normAxis, numbers } from './attrs.js';
import { heldAxis } from './layout.js';
import type { HeldValue, OpContext, OpSpec } from './types.js';

type Reducer = (x: tf.Tensor, axes: number[], keepDims: boolean) => tf.Tensor;

/**
 * Reduce* over the importer's `axes` attribute (an axes input is read too). NHWC values stay NHWC with
 * keepdims, and also without it when the remaining axes keep their order in both layouts.
 */
function reduce(f: Reducer): OpSpec {
  return {
    constInputs: [1],
    run: (ctx: OpContext): HeldValue[] => {
      const v = ctx.held(0);
      const rank = v.tensor.rank;
      const keep = attrInt(ctx.node, 'keepdims', 1) === 1;
      const given = attrInts(ctx.node, 'axes') ?? (ctx.has(1) ? numbers(ctx.constant(1)) : undefined);
      if ((!given || given.length === 0) && attrInt(ctx.node, 'noop_with_empty_axes', 0) === 1) return [{ tensor: tf.clone(v.tensor), nhwc: v.nhwc }];
      const axes = given && given.length ? given.map((a) => normAxis(a, rank)) : Array.from({ length: rank }, (_, i) => i);
      const rest = Array.from({ length: rank }, (_, i) => i).filter((a) => !axes.includes(a));
      const orderSafe = !(rest.includes(1) && (rest.includes(2) || rest.includes(3)));
      if (v.nhwc && (keep || orderSafe)) {
        return [{ tensor: f(v.tensor, axes.map((a) => heldAxis(a, true)), keep), nhwc: keep }];
      }
      return [{ tensor: f(ctx.plain(0), axes, keep), nhwc: false }];
    },
  };
}

export const REDUCE_OPS: Record<string, OpSpec> = {
  ReduceMean: reduce((x, a, k) => tf.mean(x, a, k)),
  ReduceSum: reduce((x, a, k) => tf.sum(x, a, k)),
  ReduceMax: reduce((x, a, k) => tf.max(x, a, k)),
  ReduceMin: reduce((x, a, k) => tf.min(x, a, k)),
  ReduceProd: reduce((x, a, k) => tf.prod(x, a, k)),
  ReduceSumSquare: reduce((x, a, k) => tf.sum(tf.square(x), a, k)),
  ReduceL2: reduce((x, a, k) => tf.sqrt(tf.sum(tf.square(x), a, k))),
};
