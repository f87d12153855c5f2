import type * as tf from '@tensorflow/tfjs';
import { broadcastOperandToNhwc } from './layout.js';
import type { OpContext } from './types.js';

/**
 * Inputs of a broadcasting op in one common layout: channels-last when any input is held NHWC and every
 * input has rank <= 4 (ONNX right-aligned broadcasting then still lines up), else graph layout.
 */
export function broadcastInputs(ctx: OpContext, indices: number[]): { tensors: tf.Tensor[]; nhwc: boolean } {
  const held = indices.map((i) => ctx.held(i));
  if (held.some((v) => v.nhwc) && held.every((v) => v.tensor.rank <= 4)) {
    const tensors = indices.map((i, k) => (held[k].nhwc ? held[k].tensor : held[k].tensor.rank === 4 ? ctx.nhwc(i) : broadcastOperandToNhwc(held[k].tensor)));
    return { tensors, nhwc: true };
  }
  return { tensors: indices.map((i) => ctx.plain(i)), nhwc: false };
}
