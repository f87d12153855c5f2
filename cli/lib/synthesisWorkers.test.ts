import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { importModel } from '../../src/core/importers/index.js';
import { initBackend } from '../../src/core/runtime/backends.js';
import { synthesizeImages } from '../../src/core/synth/synthesizeImages.js';
import type { SynthProgressEvent } from '../../src/core/synth/progress.js';
import { CIFAR_MEAN, CIFAR_STD, cifarFixture } from '../../src/core/testing/fixtures.js';
import { threadSynthesisWorkers } from './synthesisWorkers.js';

describe('synthesis batches on worker threads', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('gives the images and losses of one thread (ResNet-20, 3 batches on 2 workers)', async () => {
    const graph = importModel([{ name: 'resnet20_bn.onnx', bytes: new Uint8Array(readFileSync(cifarFixture('resnet20_bn.onnx'))) }]);
    const options = { numImages: 5, batchSize: 2, steps: 3, seed: 3, normalization: { mean: [...CIFAR_MEAN], std: [...CIFAR_STD] }, previewEvery: 0 };
    const one = await synthesizeImages(graph, options);
    const events: SynthProgressEvent[] = [];
    const two = await synthesizeImages(graph, options, (e) => events.push(e), undefined, threadSynthesisWorkers('wasm', 2));
    expect(one.workers).toBeUndefined();
    expect(two.workers).toBe(2);
    expect(two.images).toEqual(one.images);
    expect(two.bnLossHistory).toEqual(one.bnLossHistory);
    expect(two.endBnLoss).toBe(one.endBnLoss);
    expect(two.endBnLoss).toBeLessThan(two.startBnLoss);
    // every step of every batch reported, from both workers
    expect(events.filter((e) => e.type === 'synth-step').map((e) => (e.type === 'synth-step' ? `${e.batch}:${e.step}` : '')).sort()).toEqual(['0:0', '0:1', '0:2', '1:0', '1:1', '1:2', '2:0', '2:1', '2:2']);
  });

  it('stops the workers and rejects with CANCELLED on abort', async () => {
    const graph = importModel([{ name: 'resnet20_bn.onnx', bytes: new Uint8Array(readFileSync(cifarFixture('resnet20_bn.onnx'))) }]);
    const ctrl = new AbortController();
    const run = synthesizeImages(graph, { numImages: 4, batchSize: 2, steps: 200, normalization: { mean: [...CIFAR_MEAN], std: [...CIFAR_STD] }, previewEvery: 0 }, (e) => {
      if (e.type === 'synth-step' && e.step === 1) ctrl.abort();
    }, ctrl.signal, threadSynthesisWorkers('wasm', 2));
    await expect(run).rejects.toMatchObject({ code: 'CANCELLED' });
  });
});
