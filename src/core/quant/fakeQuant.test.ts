import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { dequantizedWeight, fakeQuantLsq, fakeQuantTensor } from './fakeQuant.js';
import { fakeQuantize } from './primitives.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('fakeQuantTensor', () => {
  it('matches the Float32Array reference (ties to even, saturation, zero point)', () => {
    const vals = new Float32Array([0.25, 0.75, -0.25, -0.75, 3, -3, 0.1, 1.26, 0]);
    for (const p of [
      { scale: 0.5, zeroPoint: 0, bits: 4, signed: true },
      { scale: 0.1, zeroPoint: 0, bits: 4, signed: false },
      { scale: 0.02, zeroPoint: 100, bits: 8, signed: false },
    ]) {
      const before = tf.memory().numTensors;
      const x = tf.tensor1d(vals);
      const y = fakeQuantTensor(x, p);
      const ref = fakeQuantize(vals, p);
      const got = y.dataSync();
      for (let i = 0; i < vals.length; i++) expect(got[i]).toBeCloseTo(ref[i], 6);
      tf.dispose([x, y]);
      expect(tf.memory().numTensors).toBe(before);
    }
  });
  it('dequantizedWeight applies per-output-channel scales', () => {
    const w = dequantizedWeight(new Int8Array([1, 2, 3, 4]), new Float32Array([0.5, 2]), [2, 2], 0);
    expect(Array.from(w)).toEqual([0.5, 1, 6, 8]);
    expect(Array.from(dequantizedWeight(new Int8Array([1, 2, 3, 4]), new Float32Array([0.5, 2]), [2, 2], 1))).toEqual([0.5, 4, 1.5, 8]);
  });
  it('fakeQuantLsq: the value of fakeQuantTensor; LSQ gradients to the step size and straight-through to x', () => {
    // unsigned 4-bit, s = 0.5: codes 0..15, range [0, 7.5]; -1 and 9 are clamped (codes 0 and 15)
    const vals = [0.2, 0.8, 1.3, 3.74, 7.4, -1, 9];
    const dy = [1, -2, 0.5, 3, 1, 2, -1];
    const p = { zeroPoint: 0, bits: 4, signed: false };
    const before = tf.memory().numTensors;
    const x = tf.tensor1d(vals);
    const s = tf.scalar(0.5);
    const w = tf.tensor1d(dy);
    const y = fakeQuantLsq(x, s, p);
    const ref = fakeQuantTensor(x, { ...p, scale: 0.5 });
    expect(Array.from(y.dataSync())).toEqual(Array.from(ref.dataSync()));
    const [gx, gs] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(fakeQuantLsq(a, b as tf.Scalar, p), w)))([x, s]);
    // in range: round(x/s) - x/s; clamped: the bound's code
    const expected = vals.reduce((acc, v, i) => {
      const r = v / 0.5;
      const term = r < 0 ? 0 : r > 15 ? 15 : Math.round(r) - r;
      return acc + dy[i] * term;
    }, 0);
    expect(gs.dataSync()[0]).toBeCloseTo(expected, 5);
    expect(Array.from(gx.dataSync(), (g) => g + 0)).toEqual(dy.map((d, i) => (vals[i] < 0 || vals[i] > 7.5 ? 0 : d)));
    tf.dispose([x, s, w, y, ref, gx, gs]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
