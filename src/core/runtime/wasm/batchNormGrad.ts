import * as tf from '@tensorflow/tfjs';

/**
 * Gradient of FusedBatchNorm (tf.batchNorm) without Tile. tfjs 4.22's gradient tiles 1/sqrt(var+eps) to the
 * full activation shape and computes (x - mean) and dy*scale eagerly whatever is asked for; on wasm the Tile
 * alone cost more than all convolutions of a ResNet-20 gradient step. Here every input's gradient is lazy
 * and per-channel values broadcast: d/dx is one multiply. Backend-agnostic (registered for every backend).
 */
/** Sums `t` down to `shape` (numpy broadcasting, right-aligned). */
function sumToShape(t: tf.Tensor, shape: number[]): tf.Tensor {
  const offset = t.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < t.rank; i++) if (i < offset || (shape[i - offset] === 1 && t.shape[i] !== 1)) axes.push(i);
  return tf.reshape(axes.length ? tf.sum(t, axes) : t, shape);
}

export const fusedBatchNormGrad: tf.GradConfig = {
  kernelName: 'FusedBatchNorm',
  inputsToSave: ['x', 'mean', 'variance', 'scale'],
  gradFunc: (dy, saved, attrs) => {
    const g = dy as tf.Tensor;
    const eps = (attrs as { varianceEpsilon: number }).varianceEpsilon;
    const [x, mean, variance, scale] = saved;
    const rstd = () => tf.rsqrt(tf.add(variance, eps));
    const scaled = () => (scale == null ? rstd() : tf.mul(rstd(), scale)); // scale / sqrt(var + eps)
    return {
      x: () => tf.mul(g, scaled()),
      mean: () => sumToShape(tf.mul(g, tf.neg(scaled())), mean.shape),
      variance: () => {
        // d/dvar = dy * scale * (x - mean) * (-1/2) (var + eps)^(-3/2)
        const r = rstd();
        const k = tf.mul(tf.mul(tf.mul(r, r), scale == null ? r : tf.mul(r, scale)), -0.5);
        return sumToShape(tf.mul(tf.mul(g, tf.sub(x, mean)), k), variance.shape);
      },
      scale: () => sumToShape(tf.mul(g, tf.mul(tf.sub(x, mean), rstd())), scale.shape),
      offset: () => sumToShape(g, mean.shape),
    };
  },
};
