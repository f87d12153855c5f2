import * as tf from '@tensorflow/tfjs';
import type { HeldValue } from './types.js';

/** Position of each NCHW axis inside an NHWC tensor: N->0, C->3, H->1, W->2. */
export const NHWC_POS = [0, 3, 1, 2] as const;
/** NCHW axis held at each NHWC position. */
export const NCHW_OF_NHWC = [0, 2, 3, 1] as const;

/**
 * Transposes, or reshapes when the permutation only moves size-1 axes (e.g. [N,C,1,1] <-> [N,1,1,C]),
 * which costs no data movement.
 */
export function permute(t: tf.Tensor, perm: readonly number[]): tf.Tensor {
  const nonUnit = perm.filter((a) => t.shape[a] !== 1);
  if (nonUnit.every((a, i) => i === 0 || nonUnit[i - 1] < a)) return tf.reshape(t, perm.map((a) => t.shape[a]));
  return tf.transpose(t, perm as number[]);
}

export const nchwToNhwc = (t: tf.Tensor): tf.Tensor => permute(t, [0, 2, 3, 1]);
export const nhwcToNchw = (t: tf.Tensor): tf.Tensor => permute(t, [0, 3, 1, 2]);

/** Graph-layout view of a held value. */
export function asPlain(v: HeldValue): tf.Tensor {
  return v.nhwc ? nhwcToNchw(v.tensor) : v.tensor;
}

/** Graph-layout shape of a held value. */
export function plainShape(v: HeldValue): number[] {
  const s = v.tensor.shape as number[];
  return v.nhwc ? [s[0], s[3], s[1], s[2]] : s.slice();
}

/**
 * A graph-layout operand of rank <= 4 made broadcast-compatible with NHWC operands: right-aligned to
 * rank 4 (ONNX/numpy broadcasting) and permuted like the activations. Scalars stay scalars.
 */
export function broadcastOperandToNhwc(t: tf.Tensor): tf.Tensor {
  if (t.rank === 0) return t;
  const s = t.shape;
  const s4 = [...Array(4 - s.length).fill(1), ...s];
  return nchwToNhwc(s.length === 4 ? t : tf.reshape(t, s4));
}

/** Remaps a (normalized) graph axis of a 4-D value to where it sits when held NHWC. */
export function heldAxis(axis: number, nhwc: boolean): number {
  return nhwc ? NHWC_POS[axis] : axis;
}
