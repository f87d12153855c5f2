import * as tf from '@tensorflow/tfjs';
import { channelMoments } from '../runtime/channelMoments.js';
import type { Normalization } from './options.js';
import { pixelRange } from './pixelRange.js';

/** Weights of the image prior (see SynthesisOptions). */
export interface ImagePriorWeights {
  inputStatsWeight: number;
  tvWeight: number;
  l2Weight: number;
}

/**
 * What natural images look like, in the model's normalized input space (NCHW batch):
 * - input statistics: per-channel batch mean 0 and std 1, scored like a BN layer (ZeroQ);
 * - total variation: mean squared difference of vertical and horizontal neighbours (DeepInversion);
 * - L2: mean squared pixel value.
 * Returns the weighted sum as a scalar. Call inside a tidy / gradient scope.
 */
export function imagePriorLoss(x: tf.Tensor4D, w: ImagePriorWeights): tf.Scalar {
  return tf.tidy(() => {
    let total: tf.Scalar = tf.scalar(0);
    if (w.inputStatsWeight > 0) {
      const { mean, variance } = channelMoments(x, [0, 2, 3]);
      const std = tf.sqrt(tf.add(variance, 1e-5));
      const stats = tf.add(tf.mean(tf.square(mean)), tf.mean(tf.square(tf.sub(std, 1)))) as tf.Scalar;
      total = tf.add(total, tf.mul(stats, w.inputStatsWeight));
    }
    if (w.tvWeight > 0) {
      total = tf.add(total, tf.mul(totalVariation(x), w.tvWeight));
    }
    if (w.l2Weight > 0) {
      total = tf.add(total, tf.mul(tf.mean(tf.square(x)), w.l2Weight));
    }
    return total;
  });
}

/** Mean squared difference between vertical neighbours plus that between horizontal neighbours (NCHW). */
export function totalVariation(x: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => {
    const [n, c, h, wd] = x.shape;
    const parts: tf.Scalar[] = [];
    if (h > 1) {
      const dv = tf.sub(tf.slice(x, [0, 0, 1, 0], [n, c, h - 1, wd]), tf.slice(x, [0, 0, 0, 0], [n, c, h - 1, wd]));
      parts.push(tf.mean(tf.square(dv)));
    }
    if (wd > 1) {
      const dh = tf.sub(tf.slice(x, [0, 0, 0, 1], [n, c, h, wd - 1]), tf.slice(x, [0, 0, 0, 0], [n, c, h, wd - 1]));
      parts.push(tf.mean(tf.square(dh)));
    }
    return parts.length === 0 ? tf.scalar(0) : parts.length === 1 ? parts[0] : (tf.add(parts[0], parts[1]) as tf.Scalar);
  });
}

/** Circular shift of an NCHW batch by (dy, dx) pixels; differentiable (slice + concat, no StridedSlice). */
export function roll2d(x: tf.Tensor4D, dy: number, dx: number): tf.Tensor4D {
  return tf.tidy(() => rollAxis(rollAxis(x, 2, dy), 3, dx));
}

function rollAxis(x: tf.Tensor4D, axis: 2 | 3, shift: number): tf.Tensor4D {
  const size = x.shape[axis];
  const s = ((shift % size) + size) % size;
  if (s === 0) return x;
  const begin = [0, 0, 0, 0];
  const tailSize = [...x.shape] as number[];
  tailSize[axis] = s;
  begin[axis] = size - s;
  const tail = tf.slice(x, begin, tailSize);
  const headSize = [...x.shape] as number[];
  headSize[axis] = size - s;
  const head = tf.slice(x, [0, 0, 0, 0], headSize);
  return tf.concat([tail, head], axis);
}

/** One random augmentation between steps: the shift and whether to mirror left-right. */
export interface Augmentation {
  dy: number;
  dx: number;
  flip: boolean;
}

/** Apply an augmentation to an NCHW batch (differentiable). */
export function augment(x: tf.Tensor4D, a: Augmentation): tf.Tensor4D {
  return tf.tidy(() => {
    let y = a.dy !== 0 || a.dx !== 0 ? roll2d(x, a.dy, a.dx) : x;
    if (a.flip) y = tf.reverse(y, 3);
    return y === x ? tf.clone(x) : y;
  });
}

/** Clamp an NCHW batch to the valid pixel range of each channel. */
export function clampToPixelRange(x: tf.Tensor4D, norm: Normalization): tf.Tensor4D {
  return tf.tidy(() => {
    const c = x.shape[1];
    const { lo, hi } = pixelRange(norm, c);
    const loT = tf.tensor4d(lo, [1, c, 1, 1]);
    const hiT = tf.tensor4d(hi, [1, c, 1, 1]);
    return tf.minimum(tf.maximum(x, loT), hiT);
  });
}
