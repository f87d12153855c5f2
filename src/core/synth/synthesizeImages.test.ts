import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { importModel } from '../importers/index.js';
import { initBackend } from '../runtime/backends.js';
import { CIFAR_MEAN, CIFAR_STD, cifarFixture } from '../testing/fixtures.js';
import { NO_BATCHNORM_MESSAGE } from './fallback.js';
import type { SynthProgressEvent } from './progress.js';
import { synthesizeImages } from './synthesizeImages.js';

const load = (f: 'resnet20_bn.onnx' | 'resnet20_folded.onnx') => importModel([{ name: f, bytes: new Uint8Array(readFileSync(cifarFixture(f))) }]);
const normalization = { mean: [...CIFAR_MEAN], std: [...CIFAR_STD] };

describe('synthesizeImages on the ResNet-20 fixtures (wasm)', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('lowers the BN-statistics loss of a batch of 4 in a few steps, without leaking tensors', async () => {
    const graph = load('resnet20_bn.onnx');
    const before = tf.memory().numTensors;
    const events: SynthProgressEvent[] = [];
    const r = await synthesizeImages(graph, { numImages: 4, batchSize: 4, steps: 6, learningRate: 0.1, normalization, previewEvery: 3, previewCount: 2 }, (e) => events.push(e));
    expect(tf.memory().numTensors).toBe(before);
    expect(r.method).toBe('bn-statistics');
    expect(r.message).toBeUndefined();
    expect(r.shape).toEqual([4, 3, 32, 32]);
    expect(r.endBnLoss).toBeLessThan(r.startBnLoss * 0.8);
    const steps = events.filter((e) => e.type === 'synth-step');
    expect(steps.length).toBe(6);
    for (const s of steps) if (s.type === 'synth-step') expect(s.perLayer?.worst).toMatch(/BatchNormalization/);
    const previews = events.filter((e) => e.type === 'synth-preview');
    expect(previews.length).toBe(2);
    // Images stay in the valid pixel range of the CIFAR normalization.
    const lo = Math.min(...CIFAR_MEAN.map((m, c) => -m / CIFAR_STD[c]));
    const hi = Math.max(...CIFAR_MEAN.map((m, c) => (1 - m) / CIFAR_STD[c]));
    for (const v of r.images) {
      expect(v).toBeGreaterThanOrEqual(lo - 1e-5);
      expect(v).toBeLessThanOrEqual(hi + 1e-5);
    }
  });

  it('takes the prior-only fallback on the folded model and says why; noise on request', async () => {
    const graph = load('resnet20_folded.onnx');
    const before = tf.memory().numTensors;
    const r = await synthesizeImages(graph, { numImages: 2, batchSize: 2, steps: 3, normalization });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.method).toBe('prior-only');
    expect(r.message).toBe(NO_BATCHNORM_MESSAGE);
    expect(r.bnLossHistory).toEqual([[0, 0, 0]]);
    const n = await synthesizeImages(graph, { method: 'noise', numImages: 3, seed: 5 });
    expect(n.method).toBe('noise');
    expect(n.message).toBeUndefined();
    expect(n.images.length).toBe(3 * 3 * 32 * 32);
    const again = await synthesizeImages(graph, { method: 'noise', numImages: 3, seed: 5 });
    expect(Array.from(again.images)).toEqual(Array.from(n.images));
  });
});
