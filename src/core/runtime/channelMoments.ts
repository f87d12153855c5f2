import * as tf from '@tensorflow/tfjs';

/**
 * Per-channel batch mean and (biased) variance of an NHWC activation, reduced over N, H and W, with a fused
 * gradient. tf.moments' autodiff runs about ten full-size passes backwards (Mean's gradient alone builds a
 * ones tensor, multiplies and divides); here the gradient is one affine map per channel,
 *   d/dy = gMean/P + 2*gVar*(y - mean)/P = a_c + b_c * y   (P = N*H*W),
 * two elementwise passes. Used for BatchNorm-statistics losses in data-free synthesis.
 *
 * Returns a [2, C] tensor: row 0 the mean, row 1 the variance (customGrad needs a single output).
 */
export function channelMomentsPacked(y: tf.Tensor): tf.Tensor2D {
  const f = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    const c = x.shape[x.rank - 1];
    const axes = x.shape.slice(0, -1).map((_, i) => i);
    const mean = tf.mean(x, axes);
    const variance = tf.mean(tf.square(tf.sub(x, mean)), axes);
    save([x, mean]);
    return {
      value: tf.stack([mean, variance]) as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, m] = saved;
        const p = xs.size / c;
        const [gMean, gVar] = tf.unstack(dy);
        const b = tf.mul(gVar, 2 / p);
        const a = tf.sub(tf.div(gMean, p), tf.mul(b, m));
        return tf.add(tf.mul(xs, b), a);
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad<tf.Tensor2D>>[0]);
  return f(y) as tf.Tensor2D;
}

/** Convenience split of channelMomentsPacked. */
export function channelMoments(y: tf.Tensor): { mean: tf.Tensor1D; variance: tf.Tensor1D } {
  const packed = channelMomentsPacked(y);
  const c = packed.shape[1];
  const mean = tf.reshape(tf.slice(packed, [0, 0], [1, c]), [c]) as tf.Tensor1D;
  const variance = tf.reshape(tf.slice(packed, [1, 0], [1, c]), [c]) as tf.Tensor1D;
  packed.dispose();
  return { mean, variance };
}
