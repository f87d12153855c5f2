import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { ChannelNoise } from './channelNoise.js';

describe('ChannelNoise', () => {
  it('per-channel variance and squared rounding error on the grid, the same in NCHW and NHWC', async () => {
    // channel 0 spans [-1, 1] (on a 0.5 grid: exact), channel 1 holds 0.1 and 0.3 (both round to 0 / 0.5)
    const nchw = tf.tensor4d([-1, 1, 0.5, -0.5, 0.1, 0.3, 0.1, 0.3], [1, 2, 2, 2]);
    const grid = { scale: 0.5, zeroPoint: 0, bits: 8, signed: true };
    const a = new ChannelNoise();
    await a.add(nchw, 'NCHW', grid);
    const b = new ChannelNoise();
    const nhwc = tf.transpose(nchw, [0, 2, 3, 1]);
    await b.add(nhwc, 'NHWC', grid);
    for (const n of [a, b]) {
      expect(n.channels).toBe(2);
      const v = n.variance();
      expect(v[0]).toBeCloseTo((1 + 1 + 0.25 + 0.25) / 4, 6);
      expect(v[1]).toBeCloseTo(0.01, 6);
      const e = n.noise();
      expect(e[0]).toBeCloseTo(0, 9);
      expect(e[1]).toBeCloseTo((0.01 + 0.04) / 2, 6); // 0.1 -> 0, 0.3 -> 0.5
    }
    tf.dispose([nchw, nhwc]);
  });

  it('accumulates over batches, leaves no tensors behind, refuses a changed channel count', async () => {
    const n = new ChannelNoise();
    const before = tf.memory().numTensors;
    const x = tf.tensor2d([[0.2, 4], [0.4, 8]]);
    await n.add(x, 'plain', { scale: 1, zeroPoint: 0, bits: 8, signed: true });
    await n.add(x, 'plain', { scale: 1, zeroPoint: 0, bits: 8, signed: true });
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(n.variance()[0]).toBeCloseTo(0.01, 6);
    expect(n.noise()[0]).toBeCloseTo((0.04 + 0.16) / 2, 6);
    expect(n.noise()[1]).toBe(0);
    await expect(n.add(tf.zeros([1, 3]), 'plain', { scale: 1, zeroPoint: 0, bits: 8, signed: true })).rejects.toThrow(/channel count/);
    x.dispose();
  });
});
