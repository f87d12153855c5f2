import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../runtime/backends.js';
import { seeded } from '../testing/opCheck.js';
import { quadraticLoss, type SecondMoments } from './adaptiveRounding.js';
import { backendQuadraticLoss } from './backendQuadraticLoss.js';

/** Moments of n columns x (correlated through a shared component) and x~ = x + noise, in float32 as the accumulator gives them. */
function moments(n: number, k: number, noise: number): SecondMoments {
  const base = seeded(n * k, 1, -1, 1);
  const shared = seeded(n, 2, -1, 1);
  const eps = seeded(n * k, 3, -noise, noise);
  const x = Float64Array.from(base, (v, i) => v + 2 * shared[Math.floor(i / k)]);
  const xq = Float64Array.from(x, (v, i) => v + eps[i]);
  const form = (a: Float64Array, b: Float64Array) => {
    const m = new Float32Array(k * k);
    for (let l = 0; l < k; l++) for (let j = 0; j < k; j++) {
      let s = 0;
      for (let t = 0; t < n; t++) s += a[t * k + l] * b[t * k + j];
      m[l * k + j] = s / n;
    }
    return m;
  };
  return { k, G: form(xq, xq), C: form(xq, x), H: form(x, x) };
}

describe('output error of 8-bit codes on the backend', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('matches the float64 loops to 1e-3 at 8 bits (errors 1e-4 of the signal), and with a noisy input', async () => {
    const k = 96;
    const cOut = 12;
    const weights = seeded(cOut * k, 4, -0.5, 0.5);
    const scales = Float32Array.from({ length: cOut }, (_, o) => Math.max(...Array.from(weights.subarray(o * k, (o + 1) * k), Math.abs)) / 127);
    const codes = Int8Array.from(weights, (v, i) => Math.round(v / scales[Math.floor(i / k)]));
    for (const noise of [0, 0.05]) {
      const p = { weights, cOut, scales, qmin: -127, qmax: 127, moments: moments(400, k, noise) };
      const ref = quadraticLoss(codes, p);
      expect(ref).toBeGreaterThan(0);
      expect(Math.abs((await backendQuadraticLoss(codes, p)) - ref) / ref).toBeLessThan(1e-3);
    }
  });
});
