import * as tf from '@tensorflow/tfjs';

/**
 * tf.gather with a gradient that works on every backend: tfjs's own gather gradient needs the
 * UnsortedSegmentSum kernel, which the wasm backend lacks. The gradient scatters (and sums, for repeated
 * indices) the incoming gradient back with tf.scatterND.
 */
export function gatherAxis(x: tf.Tensor, indices: tf.Tensor | number[], axis: number): tf.Tensor {
  const idx = Array.isArray(indices) ? tf.tensor1d(indices, 'int32') : indices;
  if (x.dtype !== 'float32') return tf.gather(x, idx, axis);
  const shape = x.shape as number[];
  // the indices are saved (kept past the node's tidy) for the backward pass
  const f = tf.customGrad(((xi: tf.Tensor, ii0: tf.Tensor, save: tf.GradSaveFunc) => {
    const value = tf.gather(xi, ii0, axis);
    save([ii0]);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const ii = saved[0];
      const n = ii.size;
      const rest = [...shape.slice(0, axis), ...shape.slice(axis + 1)];
      const flat = tf.reshape(dy, [...shape.slice(0, axis), n, ...shape.slice(axis + 1)]);
      const perm = [axis, ...shape.map((_, i) => i).filter((i) => i !== axis)];
      const front = axis === 0 ? flat : tf.transpose(flat, perm);
      const scattered = tf.scatterND(tf.reshape(ii, [n, 1]), front, [shape[axis], ...rest]);
      const inv = perm.map((_, i) => perm.indexOf(i));
      return [axis === 0 ? scattered : tf.transpose(scattered, inv), tf.zerosLike(ii)];
    };
    return { value, gradFunc };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x, idx) as tf.Tensor;
}
