import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { perChannelWeightScales } from '../quant/weightScale';
import { adaptiveRounding, betaAt, nearestCodes, quadraticLoss, type AdaRoundProblem, type AdaRoundProgress } from './adaptiveRounding';

function rng(seed: number): () => number {
  let s = (seed * 2654435761) >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}
function normal(r: () => number): number {
  return Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
}

/** A layer with correlated inputs x (N x K), x~ = x + small noise, Gaussian weights, 4-bit grid. */
function makeProblem(seed: number, k = 64, cOut = 16, n = 2000, bits = 4): { p: AdaRoundProblem; x: Float32Array; xq: Float32Array; n: number } {
  const r = rng(seed);
  const a = new Float32Array(k * k).map(() => normal(r) / Math.sqrt(k));
  for (let i = 0; i < k; i++) a[i * k + i] += 1;
  const x = new Float32Array(n * k);
  const xq = new Float32Array(n * k);
  const z = new Float32Array(k);
  for (let s = 0; s < n; s++) {
    for (let i = 0; i < k; i++) z[i] = normal(r);
    for (let i = 0; i < k; i++) {
      let v = 0;
      for (let j = 0; j < k; j++) v += a[i * k + j] * z[j];
      x[s * k + i] = Math.max(0, v + 0.3); // ReLU-like, correlated
      xq[s * k + i] = x[s * k + i] + 0.05 * normal(r);
    }
  }
  const G = new Float32Array(k * k);
  const C = new Float32Array(k * k);
  const H = new Float32Array(k * k);
  for (let s = 0; s < n; s++) {
    for (let i = 0; i < k; i++) {
      const xi = xq[s * k + i];
      const fi = x[s * k + i];
      for (let j = 0; j < k; j++) {
        G[i * k + j] += (xi * xq[s * k + j]) / n;
        C[i * k + j] += (xi * x[s * k + j]) / n;
        H[i * k + j] += (fi * x[s * k + j]) / n;
      }
    }
  }
  const w = new Float32Array(cOut * k).map(() => normal(r) * 0.1);
  const scales = perChannelWeightScales(w, cOut, { bits });
  const half = 2 ** (bits - 1);
  return { p: { weights: w, cOut, scales, qmin: -half, qmax: half - 1, moments: { k, G, C, H } }, x, xq, n };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('adaptiveRounding', () => {
  it('quadraticLoss equals the sampled output error', () => {
    const { p, x, xq, n } = makeProblem(1, 16, 4, 300);
    const codes = nearestCodes(p);
    const k = p.moments!.k;
    let direct = 0;
    for (let s = 0; s < n; s++) {
      for (let o = 0; o < p.cOut; o++) {
        let yq = 0;
        let y = 0;
        for (let i = 0; i < k; i++) {
          yq += codes[o * k + i] * p.scales[o] * xq[s * k + i];
          y += p.weights[o * k + i] * x[s * k + i];
        }
        direct += (yq - y) ** 2 / n;
      }
    }
    expect(quadraticLoss(codes, p)).toBeCloseTo(direct, 3);
  });

  it('beta schedule: constant during warm start, then linear to the end value', () => {
    const o = { betaStart: 20, betaEnd: 2, warmup: 0.2 };
    expect(betaAt(0, 1000, o)).toBe(20);
    expect(betaAt(199, 1000, o)).toBe(20);
    expect(betaAt(600, 1000, o)).toBeCloseTo(11, 5);
    expect(betaAt(1000, 1000, o)).toBeCloseTo(2, 5);
  });

  it('beats nearest rounding on its objective (K=64, C_out=16, correlated inputs), codes in range and hard', async () => {
    let strictly = 0;
    const seeds = [1, 2, 3, 4, 5];
    for (const seed of seeds) {
      const { p } = makeProblem(seed);
      const progress: AdaRoundProgress[] = [];
      const res = await adaptiveRounding(p, { iterations: 1000, onProgress: (q) => progress.push(q) });
      expect(res.loss).toBeLessThanOrEqual(res.nearestLoss);
      if (res.adaptiveLoss < res.nearestLoss * 0.98) strictly++;
      // every code is floor(W/s) or floor(W/s)+1 (hard 0/1), clamped to the grid
      const k = p.moments!.k;
      for (let i = 0; i < res.codes.length; i++) {
        const c = res.codes[i];
        expect(c >= p.qmin && c <= p.qmax).toBe(true);
        const fl = Math.floor(p.weights[i] / p.scales[Math.floor(i / k)]);
        if (fl >= p.qmin && fl + 1 <= p.qmax) expect(c === fl || c === fl + 1).toBe(true);
      }
      expect(res.flippedFraction).toBeGreaterThan(0);
      expect(res.flippedFraction).toBeLessThan(0.5);
      expect(progress.at(-1)!.iteration).toBe(999);
      expect(progress.length).toBe(21);
      // at the end the regularizer is near 0: h sits at 0 or 1
      expect(progress.at(-1)!.roundLoss / res.codes.length).toBeLessThan(0.05);
    }
    expect(strictly).toBeGreaterThanOrEqual(4);
  });

  it('the tfjs engine reaches the same result as plain JS', async () => {
    const { p } = makeProblem(7, 32, 8, 500);
    const before = tf.memory().numTensors;
    const js = await adaptiveRounding(p, { iterations: 300, engine: 'js' });
    const t = await adaptiveRounding(p, { iterations: 300, engine: 'tfjs', onProgress: () => {} });
    const hy = await adaptiveRounding(p, { iterations: 300, engine: 'hybrid' });
    expect(Array.from(hy.codes)).toEqual(Array.from(js.codes)); // same loop, same product up to float rounding
    expect(tf.memory().numTensors).toBe(before);
    expect(Math.abs(t.adaptiveLoss - js.adaptiveLoss)).toBeLessThan(0.05 * js.nearestLoss);
    let same = 0;
    for (let i = 0; i < js.codes.length; i++) if (js.codes[i] === t.codes[i]) same++;
    expect(same / js.codes.length).toBeGreaterThan(0.97);
  });

  it('column form: same objective and same rounding as the moments form', async () => {
    const { p, x, xq, n } = makeProblem(3, 32, 8, 400);
    const k = p.moments!.k;
    const pc: AdaRoundProblem = { ...p, moments: undefined, columns: { k, n, xq, x } };
    const near = nearestCodes(p);
    expect(quadraticLoss(near, pc)).toBeCloseTo(quadraticLoss(near, p), 3);
    const before = tf.memory().numTensors;
    const a = await adaptiveRounding(p, { iterations: 300, engine: 'js' });
    const b = await adaptiveRounding(pc, { iterations: 300 });
    expect(tf.memory().numTensors).toBe(before);
    expect(b.adaptiveLoss).toBeLessThan(b.nearestLoss);
    let same = 0;
    for (let i = 0; i < a.codes.length; i++) if (a.codes[i] === b.codes[i]) same++;
    expect(same / a.codes.length).toBeGreaterThan(0.97);
    await expect(adaptiveRounding({ ...p, columns: pc.columns })).rejects.toThrow(/exactly one/);
  });

  it('honours an abort signal', async () => {
    const { p } = makeProblem(2, 16, 4, 100);
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await expect(adaptiveRounding(p, { signal: ac.signal })).rejects.toThrow('stop');
  });
});
