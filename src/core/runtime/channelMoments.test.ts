import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './backends';
import { channelMoments } from './channelMoments';

function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 0.7;
  }
  return out;
}

describe('channelMoments', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('matches tf.moments and its gradient, without leaks', () => {
    const shape = [3, 5, 4, 6];
    const y = tf.tensor4d(values(3 * 5 * 4 * 6, 1), shape as [number, number, number, number]);
    const targetMean = tf.tensor1d(values(6, 2));
    const targetVar = tf.tensor1d(values(6, 3).map((v) => v + 1));
    const loss = (m: { mean: tf.Tensor; variance: tf.Tensor }) =>
      tf.add(tf.sum(tf.squaredDifference(m.mean, targetMean)), tf.sum(tf.squaredDifference(m.variance, targetVar))) as tf.Scalar;
    const before = tf.memory().numTensors;
    const [ours, ref, gOurs, gRef] = tf.tidy(() => {
      const a = channelMoments(y);
      const b = tf.moments(y, [0, 1, 2]);
      return [
        tf.concat([a.mean, a.variance]).dataSync(),
        tf.concat([b.mean, b.variance]).dataSync(),
        tf.grad((t: tf.Tensor) => loss(channelMoments(t)))(y).dataSync(),
        tf.grad((t: tf.Tensor) => loss(tf.moments(t, [0, 1, 2])))(y).dataSync(),
      ];
    });
    expect(tf.memory().numTensors).toBe(before);
    for (let i = 0; i < ref.length; i++) expect(ours[i]).toBeCloseTo(ref[i], 5);
    const scale = Math.max(...Array.from(gRef, Math.abs));
    expect(scale).toBeGreaterThan(1e-3);
    for (let i = 0; i < gRef.length; i++) expect(Math.abs(gOurs[i] - gRef[i])).toBeLessThan(1e-5 * scale + 1e-7);
    tf.dispose([y, targetMean, targetVar]);
  });

  it('reduces over given axes (NCHW: [0, 2, 3]) like tf.moments, gradient included', () => {
    const y = tf.tensor4d(values(2 * 5 * 3 * 4, 4), [2, 5, 3, 4]);
    const w = tf.tensor1d(values(5, 5));
    const [ours, ref, gOurs, gRef] = tf.tidy(() => {
      const lossOf = (m: { mean: tf.Tensor; variance: tf.Tensor }) => tf.sum(tf.mul(tf.add(m.mean, tf.mul(m.variance, 3)), w)) as tf.Scalar;
      const a = channelMoments(y, [0, 2, 3]);
      const b = tf.moments(y, [0, 2, 3]);
      return [
        tf.concat([a.mean, a.variance]).dataSync(),
        tf.concat([b.mean, b.variance]).dataSync(),
        tf.grad((t: tf.Tensor) => lossOf(channelMoments(t, [0, 2, 3])))(y).dataSync(),
        tf.grad((t: tf.Tensor) => lossOf(tf.moments(t, [0, 2, 3])))(y).dataSync(),
      ];
    });
    expect(ours.length).toBe(10);
    for (let i = 0; i < ref.length; i++) expect(ours[i]).toBeCloseTo(ref[i], 5);
    for (let i = 0; i < gRef.length; i++) expect(gOurs[i]).toBeCloseTo(gRef[i], 5);
    tf.dispose([y, w]);
  });
});
