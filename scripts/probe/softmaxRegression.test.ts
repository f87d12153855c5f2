import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/core/runtime/backends';
import { mulberry32, normal as standardNormal } from '../train/rng';
import { fitSoftmaxRegression, probeAccuracy, probeLogits, type ProbeData } from './softmaxRegression';

/**
 * Two Gaussian classes in d dimensions, means -mu and +mu on the first axis (unit variance: Bayes error
 * Phi(-mu)), the other axes noise. Feature 0 is then stored as 1000 x + 100000 and feature 1 as 0.001 x so
 * the fit must centre and scale, and fold both back, to score on raw features.
 */
function gaussians(n: number, d: number, mu: number, seed: number): ProbeData {
  const rand = mulberry32(seed);
  const normal = () => standardNormal(rand);
  const x = new Float32Array(n * d);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 2;
    for (let j = 0; j < d; j++) x[i * d + j] = normal() + (j === 0 ? (labels[i] ? mu : -mu) : 0);
    x[i * d] = 1000 * x[i * d] + 100_000;
    x[i * d + 1] *= 0.001;
  }
  return { x, labels, n, d };
}

describe('fitSoftmaxRegression', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });
  const d = 16;
  const train = gaussians(400, d, 2, 1);
  const held = gaussians(2000, d, 2, 2);

  it('separates two Gaussian classes on held-out rows near the Bayes rate, with raw (unstandardized) features', () => {
    const before = tf.memory().numTensors;
    const fit = fitSoftmaxRegression(train, { classes: 2, weightDecay: 1e-3, steps: 200, learningRate: 0.05 });
    expect(tf.memory().numTensors).toBe(before);
    // Bayes accuracy Phi(2) = 97.7 %; a probe that failed to fold the scaling of feature 0 would be near 50 %.
    expect(probeAccuracy(probeLogits(fit, held.x, held.n, d), held.labels, held.n)).toBeGreaterThan(0.95);
    expect(fit.endLoss).toBeLessThan(0.25 * fit.startLoss);
    // The informative feature dominates the decision: its weight times its scale is the largest.
    const sep = (j: number) => Math.abs(fit.kernel[j * 2 + 1] - fit.kernel[j * 2]) * (j === 0 ? 1000 : j === 1 ? 0.001 : 1);
    for (let j = 1; j < d; j++) expect(sep(0)).toBeGreaterThan(5 * sep(j));
  });

  it('learns nothing from shuffled labels, and weight decay shrinks the kernel', () => {
    const noise = { ...train, labels: Uint8Array.from({ length: train.n }, (_, i) => (i * 7919) % 3 === 0 ? 1 : 0) };
    const fit = fitSoftmaxRegression(noise, { classes: 2, weightDecay: 1e-3, steps: 200, learningRate: 0.05 });
    const heldNoise = Uint8Array.from({ length: held.n }, (_, i) => (i * 7919) % 3 === 0 ? 1 : 0);
    // Chance on these labels is to always answer 0 (two thirds); no real signal lets the probe beat it by much.
    expect(probeAccuracy(probeLogits(fit, held.x, held.n, d), heldNoise, held.n)).toBeLessThan(0.72);
    const norm = (w: Float32Array) => Math.hypot(...w.subarray(2 * 2)); // features 2.., on their raw (unit) scale
    const strong = fitSoftmaxRegression(train, { classes: 2, weightDecay: 1, steps: 200, learningRate: 0.05 });
    const weak = fitSoftmaxRegression(train, { classes: 2, weightDecay: 1e-4, steps: 200, learningRate: 0.05 });
    expect(norm(strong.kernel)).toBeLessThan(0.5 * norm(weak.kernel));
  });
});
