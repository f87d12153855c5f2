import * as tf from '@tensorflow/tfjs';

/**
 * Per-channel batch mean and (biased) variance of an activation, reduced over `axes` (default: every axis
 * but the last, i.e. N, H, W of an NHWC tensor; pass [0, 2, 3] for NCHW), with a fused
 * gradient. tf.moments' autodiff runs about ten full-size passes backwards (Mean's gradient alone builds a
 * ones tensor, multiplies and divides); here the gradient is one affine map per channel,
 *   d/dy = gMean/P + 2*gVar*(y - mean)/P = a_c + b_c * y   (P = N*H*W),
 * two elementwise passes. Used for BatchNorm-statistics losses in data-free synthesis.
 *
 * Returns a [2, C] tensor: row 0 the mean, row 1 the variance (customGrad needs a single output).
 */
export function channelMomentsPacked(y: tf.Tensor, axes?: number[]): tf.Tensor2D {
  const reduce = axes ?? y.shape.slice(0, -1).map((_, i) => i);
  const kept = y.shape.map((_, i) => i).filter((i) => !reduce.includes(i));
  if (kept.length !== 1) throw new Error(`channelMoments: axes ${reduce} must leave exactly one axis of a rank-${y.rank} tensor`);
  // Shape of the per-channel values broadcast against y (1 on reduced axes).
  const bshape = y.shape.map((d, i) => (reduce.includes(i) ? 1 : d));
  const f = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    const mean = tf.mean(x, reduce, true);
    const variance = tf.mean(tf.square(tf.sub(x, mean)), reduce);
    save([x, mean]);
    return {
      value: tf.stack([tf.reshape(mean, [-1]), variance]) as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, m] = saved;
        const p = xs.size / m.size;
        const [gMean, gVar] = tf.unstack(dy).map((g) => tf.reshape(g, bshape));
        const b = tf.mul(gVar, 2 / p);
        const a = tf.sub(tf.div(gMean, p), tf.mul(b, m));
        return tf.add(tf.mul(xs, b), a);
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad<tf.Tensor2D>>[0]);
  return f(y) as tf.Tensor2D;
}

/** Convenience split of channelMomentsPacked. */
export function channelMoments(y: tf.Tensor, axes?: number[]): { mean: tf.Tensor1D; variance: tf.Tensor1D } {
  const packed = channelMomentsPacked(y, axes);
  const c = packed.shape[1];
  const mean = tf.reshape(tf.slice(packed, [0, 0], [1, c]), [c]) as tf.Tensor1D;
  const variance = tf.reshape(tf.slice(packed, [1, 0], [1, c]), [c]) as tf.Tensor1D;
  packed.dispose();
  return { mean, variance };
}
