import { describe, expect, it } from 'vitest';
import { ActivationObserver, activationQParams, qparamsForRange, RangeHistogram, type ActivationQParams } from './observers';
import { fakeQuantize } from './primitives';

function gaussian(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const r = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
  return out;
}
function mse(x: Float32Array, p: ActivationQParams): number {
  const y = fakeQuantize(x, { scale: p.scale, zeroPoint: p.zeroPoint, bits: p.bits, signed: p.signed });
  let e = 0;
  for (let i = 0; i < x.length; i++) e += (x[i] - y[i]) ** 2;
  return e / x.length;
}
function feed(h: RangeHistogram, x: Float32Array, batches: number): void {
  const n = x.length / batches;
  for (let b = 0; b < batches; b++) h.observe(x.subarray(b * n, (b + 1) * n));
}
function zeroIsExact(p: ActivationQParams): boolean {
  return fakeQuantize(new Float32Array([0]), { scale: p.scale, zeroPoint: p.zeroPoint, bits: p.bits, signed: p.signed })[0] === 0;
}

describe('RangeHistogram', () => {
  it('keeps exact min/max/count and mass through re-binning', () => {
    const h = new RangeHistogram(64);
    h.observe(new Float32Array([0.1, 0.2, 0, 0]));
    h.observe(new Float32Array([-5, 10, 3]));
    h.observe(new Float32Array([100]));
    expect(h.count).toBe(8);
    expect(h.zeros).toBe(2);
    expect(h.min).toBe(-5);
    expect(h.max).toBe(100);
    const { hist, lo, width } = h.binsView();
    expect(hist.reduce((a, b) => a + b, 0)).toBe(6);
    expect(lo).toBeLessThanOrEqual(-5);
    expect(lo + 64 * width).toBeGreaterThanOrEqual(100);
  });
  it('quantiles agree with sorted data within a bin', () => {
    const x = gaussian(20000, 3);
    const h = new RangeHistogram();
    feed(h, x, 10);
    const sorted = Array.from(x).sort((a, b) => a - b);
    const w = h.binsView().width;
    for (const q of [0.01, 0.5, 0.99, 0.999]) {
      const i = Math.floor(q * x.length);
      const v = h.quantile(q);
      // within one bin of the order statistics around rank q*n
      expect(v).toBeGreaterThanOrEqual(sorted[i - 3] - w);
      expect(v).toBeLessThanOrEqual(sorted[i + 3] + w);
    }
  });
});

describe('activation ranges', () => {
  const g = gaussian(40000, 7);
  const relu = g.map((v) => Math.max(0, v));

  it('ReLU data: unsigned grid, zero point 0, covers max with minmax', () => {
    const h = new RangeHistogram();
    feed(h, relu, 8);
    const p = activationQParams(h, { bits: 8, method: 'minmax' });
    expect(p.signed).toBe(false);
    expect(p.zeroPoint).toBe(0);
    expect(p.max).toBeCloseTo(h.max, 5);
  });

  for (const [name, data] of [['gaussian', g], ['relu(gaussian)', relu]] as const) {
    it(`${name}: MSE clip beats minmax at 4 bit, percentile sits in between or better`, () => {
      const h = new RangeHistogram();
      feed(h, data, 8);
      const pm = activationQParams(h, { bits: 4, method: 'minmax' });
      const pe = activationQParams(h, { bits: 4, method: 'mse' });
      const pp = activationQParams(h, { bits: 4, method: 'percentile', percentile: 99.9 });
      expect(mse(data, pe)).toBeLessThan(0.7 * mse(data, pm));
      expect(mse(data, pp)).toBeLessThan(mse(data, pm));
      expect(mse(data, pe)).toBeLessThanOrEqual(mse(data, pp) * 1.05);
      for (const p of [pm, pe, pp]) expect(zeroIsExact(p)).toBe(true);
    });
  }

  it('asymmetric grid keeps zero exact and fits a shifted range', () => {
    const x = g.map((v) => v + 2); // mostly positive, some negatives
    const o = new ActivationObserver({ bits: 8, method: 'minmax', signedMode: 'asymmetric' });
    o.observe(x);
    const p = o.qparams();
    expect(p.signed).toBe(false);
    expect(p.zeroPoint).toBeGreaterThan(0);
    expect(zeroIsExact(p)).toBe(true);
    expect(p.min).toBeLessThanOrEqual(o.stats.min + p.scale);
    expect(p.max).toBeGreaterThanOrEqual(o.stats.max - p.scale);
    const sym = activationQParams(o.stats, { bits: 8, method: 'minmax' });
    expect(sym.signed).toBe(true);
    expect(mse(x, p)).toBeLessThan(mse(x, sym));
  });

  it('qparamsForRange symmetric/unsigned basics', () => {
    expect(qparamsForRange(-1, 0.5, 8, 'symmetric')).toMatchObject({ zeroPoint: 0, signed: true, scale: 1 / 127 });
    expect(qparamsForRange(0, 2.55, 8, 'unsigned').scale).toBeCloseTo(0.01, 10);
  });
});
