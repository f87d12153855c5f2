import { describe, expect, it } from 'vitest';
import { qrange } from './primitives';
import { fromRows, outputChannelAxis, perChannelWeightScales, perTensorWeightScale, quantizeRowsNearest, weightAsRows } from './weightScale';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
function gaussian(n: number, seed: number): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
  return out;
}
function rowErrors(w: Float32Array, scales: Float32Array, bits: number, weight?: Float32Array): number {
  const q = quantizeRowsNearest(w, scales, bits);
  const k = w.length / scales.length;
  let e = 0;
  for (let i = 0; i < w.length; i++) {
    const d = w[i] - q[i] * scales[Math.floor(i / k)];
    e += (weight ? weight[i % k] : 1) * d * d;
  }
  return e;
}

describe('weight scales', () => {
  const cOut = 8;
  const k = 576;
  const w = gaussian(cOut * k, 1);
  for (let r = 0; r < cOut; r++) for (let i = 0; i < k; i++) w[r * k + i] *= 0.01 * (r + 1); // rows differ in scale

  it('max method gives max|w| / qmax per row', () => {
    const s = perChannelWeightScales(w, cOut, { bits: 8, method: 'max' });
    for (let r = 0; r < cOut; r++) {
      let m = 0;
      for (let i = 0; i < k; i++) m = Math.max(m, Math.abs(w[r * k + i]));
      expect(s[r]).toBeCloseTo(m / 127, 8);
    }
  });

  it('MSE scale error is at most the max-scale error, strictly less at 4 bit', () => {
    for (const bits of [2, 3, 4, 8]) {
      const sMax = perChannelWeightScales(w, cOut, { bits, method: 'max' });
      const sMse = perChannelWeightScales(w, cOut, { bits });
      expect(rowErrors(w, sMse, bits)).toBeLessThanOrEqual(rowErrors(w, sMax, bits));
      if (bits === 4) expect(rowErrors(w, sMse, bits)).toBeLessThan(0.9 * rowErrors(w, sMax, bits));
    }
  });

  it('at 8 bit the MSE clip stays near max', () => {
    const sMax = perChannelWeightScales(w, cOut, { bits: 8, method: 'max' });
    const sMse = perChannelWeightScales(w, cOut, { bits: 8 });
    for (let r = 0; r < cOut; r++) expect(sMse[r] / sMax[r]).toBeGreaterThan(0.85);
    const s4 = perChannelWeightScales(w, cOut, { bits: 4 });
    for (let r = 0; r < cOut; r++) expect(((s4[r] * 7) / (sMax[r] * 127))).toBeLessThan(0.9); // 4-bit clips harder
  });

  it('input second moment weighting lowers the weighted error', () => {
    const m = new Float32Array(k).map((_, i) => (i < 10 ? 100 : 0.01));
    const plain = perChannelWeightScales(w, cOut, { bits: 3 });
    const weighted = perChannelWeightScales(w, cOut, { bits: 3, inputSecondMoment: m });
    expect(rowErrors(w, weighted, 3, m)).toBeLessThanOrEqual(rowErrors(w, plain, 3, m));
  });

  it('per tensor and zero rows', () => {
    const s = perTensorWeightScale(w, { bits: 8, method: 'max' });
    let m = 0;
    for (const v of w) m = Math.max(m, Math.abs(v));
    expect(s).toBeCloseTo(m / 127, 8);
    const z = perChannelWeightScales(new Float32Array(6), 2, { bits: 4 });
    expect(Array.from(z)).toEqual([1, 1]);
  });

  it('codes stay inside the signed range', () => {
    const s = perChannelWeightScales(w, cOut, { bits: 4 });
    const q = quantizeRowsNearest(w, s, 4);
    const { qmin, qmax } = qrange(4, true);
    for (const v of q) expect(v >= qmin && v <= qmax).toBe(true);
  });

  it('Gemm layouts: transB=0 puts output channels on axis 1', () => {
    expect(outputChannelAxis('Conv')).toBe(0);
    expect(outputChannelAxis('Gemm', { transB: 1 })).toBe(0);
    expect(outputChannelAxis('Gemm', { transB: 0 })).toBe(1);
    const b = new Float32Array([1, 2, 3, 4, 5, 6]); // K=2 x N=3
    const { rows, cOut: n, k: kk } = weightAsRows(b, [2, 3], 1);
    expect([n, kk]).toEqual([3, 2]);
    expect(Array.from(rows)).toEqual([1, 4, 2, 5, 3, 6]);
    expect(Array.from(fromRows(rows, [2, 3], 1))).toEqual(Array.from(b));
  });
});
