import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { dequantizedWeight, fakeQuantTensor } from './fakeQuant.js';
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
});
