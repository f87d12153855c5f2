import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { seeded } from '../testing/opCheck.js';
import { perChannelWeightScales, quantizeRowsNearest } from '../quant/weightScale.js';
import { quadraticLoss, type SecondMoments } from './adaptiveRounding.js';
import { outputErrorScales } from './outputErrorScales.js';
import { initBackend } from '../runtime/backends.js';

/** Moments of n samples of a K-vector whose neighbours are correlated (AR(1), rho), as x = x~ (no input noise). */
function correlatedMoments(k: number, n: number, rho: number, seed: number): SecondMoments {
  const z = seeded(n * k, seed, -1.7, 1.7);
  const m = new Float32Array(k * k);
  const x = new Float64Array(k);
  for (let s = 0; s < n; s++) {
    x[0] = z[s * k];
    for (let i = 1; i < k; i++) x[i] = rho * x[i - 1] + Math.sqrt(1 - rho * rho) * z[s * k + i];
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) m[i * k + j] += (x[i] * x[j]) / n;
  }
  return { k, G: m, C: m, H: m };
}

/** Output error of one row at scale s (nearest codes), by the same quadratic form adaptive rounding minimizes. */
function rowError(w: Float32Array, s: number, bits: number, moments: SecondMoments): number {
  const codes = quantizeRowsNearest(w, Float32Array.of(s), bits);
  return quadraticLoss(codes, { weights: w, cOut: 1, scales: Float32Array.of(s), qmin: -(2 ** (bits - 1)), qmax: 2 ** (bits - 1) - 1, moments });
}

describe('outputErrorScales', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });
  const k = 9;
  const cOut = 12;
  // depthwise-like rows: one large tap and eight small ones of mixed sign
  const rows = seeded(cOut * k, 5, -0.4, 0.4);
  for (let r = 0; r < cOut; r++) rows[r * k + (r % k)] = 2 + r / 10;
  const moments = correlatedMoments(k, 4000, 0.9, 7);

  it('each chosen scale is the best of the candidate ratios by a direct evaluation of the output error (incremental search is exact)', async () => {
    const scales = await outputErrorScales(rows, cOut, moments, { bits: 4, candidates: 40 });
    for (let r = 0; r < cOut; r++) {
      const w = rows.subarray(r * k, (r + 1) * k);
      const maxAbs = Math.max(...Array.from(w, Math.abs));
      let best = Infinity;
      for (let c = 0; c < 40; c++) best = Math.min(best, rowError(w, ((1 - (0.7 * c) / 39) * maxAbs) / 7, 4, moments));
      expect(rowError(w, scales[r], 4, moments)).toBeCloseTo(best, 6);
    }
  });

  it('at 8 bit (every candidate at once, on the tfjs backend) each chosen scale is also the best candidate, and no tensor leaks', async () => {
    // inputs that reach the layer weakened (x~ = 0.8 x: C = 0.8 G): clipping the large weights pays at 8 bit too
    const k8 = 48;
    const rows8 = seeded(cOut * k8, 11, -1, 1);
    const base = correlatedMoments(k8, 1500, 0.5, 3);
    const m8 = { ...base, C: base.G.map((v) => 0.8 * v) };
    const before = tf.memory().numTensors;
    // read asynchronously, as WebGPU needs (a synchronous read fails there in mapAsync)
    const sync = vi.spyOn(tf.Tensor.prototype, 'dataSync');
    const scales = await outputErrorScales(rows8, cOut, m8, { bits: 8, candidates: 40 });
    expect(sync).not.toHaveBeenCalled();
    sync.mockRestore();
    expect(tf.memory().numTensors).toBe(before);
    let clipped = 0;
    for (let r = 0; r < cOut; r++) {
      const w = rows8.subarray(r * k8, (r + 1) * k8);
      const maxAbs = Math.max(...Array.from(w, Math.abs));
      const errs = Array.from({ length: 40 }, (_, c) => rowError(w, ((1 - (0.7 * c) / 39) * maxAbs) / 127, 8, m8));
      const best = Math.min(...errs);
      // float32 sums: a near-tie may pick a neighbour of (relatively) equal error
      expect(rowError(w, scales[r], 8, m8)).toBeLessThanOrEqual(best + 1e-4 * Math.abs(best) + 1e-12);
      if (scales[r] < (0.99 * maxAbs) / 127) clipped++;
    }
    expect(clipped).toBeGreaterThan(0);
  });

  it('beats the weight-MSE clip and min-max on the output error with correlated inputs, and is never worse', async () => {
    const ours = await outputErrorScales(rows, cOut, moments, { bits: 4 });
    const mse = perChannelWeightScales(rows, cOut, { bits: 4, method: 'mse' });
    const max = perChannelWeightScales(rows, cOut, { bits: 4, method: 'max' });
    let sumOurs = 0;
    let sumMse = 0;
    for (let r = 0; r < cOut; r++) {
      const w = rows.subarray(r * k, (r + 1) * k);
      const e = rowError(w, ours[r], 4, moments);
      expect(e).toBeLessThanOrEqual(rowError(w, mse[r], 4, moments) + 1e-9);
      expect(e).toBeLessThanOrEqual(rowError(w, max[r], 4, moments) + 1e-9);
      sumOurs += e;
      sumMse += rowError(w, mse[r], 4, moments);
    }
    expect(sumOurs).toBeLessThan(0.95 * sumMse);
  });

  it('an all-zero row gets scale 1 and a row count that does not match K is refused', async () => {
    const z = new Float32Array(2 * k);
    z.set(rows.subarray(0, k));
    const s = await outputErrorScales(z, 2, moments, { bits: 4 });
    expect(s[1]).toBe(1);
    await expect(outputErrorScales(new Float32Array(10), 1, moments, { bits: 4 })).rejects.toThrow(RangeError);
  });
});
