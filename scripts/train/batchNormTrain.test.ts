import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/core/runtime/backends';
import { batchNormTrain, channelSum } from './batchNormTrain';
import { BN_EPSILON } from './netSpec';

/** tfjs's own composition, differentiated by tfjs: the reference. */
function reference(x: tf.Tensor4D, g: tf.Tensor1D, b: tf.Tensor1D): tf.Tensor {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, BN_EPSILON))), g), b);
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

describe('batchNormTrain', () => {
  beforeAll(async () => { await initBackend('wasm'); });

  it('matches tfjs moments + normalization in value, batch statistics and all three gradients', () => {
    tf.tidy(() => {
      const x = tf.add(tf.mul(tf.randomNormal([3, 5, 4, 6], 0, 1, 'float32', 1), 2), 0.7) as tf.Tensor4D;
      const g = tf.randomUniform([6], 0.5, 1.5, 'float32', 2) as tf.Tensor1D;
      const b = tf.randomNormal([6], 0, 1, 'float32', 3) as tf.Tensor1D;
      const w = tf.randomNormal([3, 5, 4, 6], 0, 1, 'float32', 4); // a non-uniform upstream gradient
      const ours = batchNormTrain(x, g, b);
      const ref = reference(x, g, b);
      expect(maxAbsDiff(ours.y, ref)).toBeLessThan(1e-5);
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      expect(maxAbsDiff(ours.mean, mean)).toBeLessThan(1e-5);
      expect(maxAbsDiff(ours.variance, variance)).toBeLessThan(1e-4);
      const gOurs = tf.grads((xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor) => {
        const r = batchNormTrain(xi as tf.Tensor4D, gi as tf.Tensor1D, bi as tf.Tensor1D);
        tf.dispose([r.mean, r.variance]);
        return tf.sum(tf.mul(r.y, w));
      })([x, g, b]);
      const gRef = tf.grads((xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor) => tf.sum(tf.mul(reference(xi as tf.Tensor4D, gi as tf.Tensor1D, bi as tf.Tensor1D), w)))([x, g, b]);
      for (let i = 0; i < 3; i++) {
        const scale = tf.max(tf.abs(gRef[i])).dataSync()[0];
        expect(scale).toBeGreaterThan(1e-3);
        expect(maxAbsDiff(gOurs[i], gRef[i]) / scale).toBeLessThan(1e-4);
      }
      tf.dispose([ours.mean, ours.variance]);
    });
  });

  it('channelSum sums every channel over batch and space', () => {
    const t = tf.tensor4d(Float32Array.from({ length: 2 * 2 * 3 * 2 }, (_, i) => i), [2, 2, 3, 2]);
    const s = channelSum(t);
    // channel 0 holds the even numbers 0..22, channel 1 the odd ones 1..23
    expect(Array.from(s.dataSync())).toEqual([132, 144]);
    tf.dispose([t, s]);
  });

  it('leaves no tensors behind (beyond the ones column it keeps per length)', () => {
    const once = () => {
      const x = tf.randomNormal([2, 3, 3, 4]) as tf.Tensor4D;
      const g = tf.ones([4]) as tf.Tensor1D;
      const b = tf.zeros([4]) as tf.Tensor1D;
      const r = batchNormTrain(x, g, b);
      tf.dispose([x, g, b, r.y, r.mean, r.variance]);
    };
    once();
    const before = tf.memory().numTensors;
    once();
    expect(tf.memory().numTensors).toBe(before);
  });
});
