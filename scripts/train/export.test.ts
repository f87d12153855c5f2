import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/core/runtime/backends';
import { loadCifar } from './cifarData';
import { predictLogits } from './evaluate';
import { exportModel } from './exportModel';
import { initParams, disposeParams } from './params';
import { tinyNet } from './tinyNet';
import { verifyExport } from './verifyExport';

describe('export of a trained net (tiny net with every op kind, random weights and BN statistics)', () => {
  beforeAll(async () => { await initBackend('wasm'); });

  it('ONNX (BN kept, BN folded) in onnxruntime-node and the TF.js layers model match the tfjs forward; the importer finds the BatchNorms', async () => {
    const spec = tinyNet();
    const params = initParams(spec, 5);
    // non-trivial running statistics and affine BN parameters, so folding has something to fold
    let seed = 11;
    for (const p of spec.params) {
      if (p.role === 'runningVar') params.get(p.name)!.assign(tf.randomUniform(p.shape, 0.3, 2, 'float32', seed++));
      if (p.role === 'runningMean' || p.role === 'beta' || p.role === 'bias') params.get(p.name)!.assign(tf.randomNormal(p.shape, 0, 0.5, 'float32', seed++));
      if (p.role === 'gamma') params.get(p.name)!.assign(tf.randomUniform(p.shape, 0.5, 1.5, 'float32', seed++));
    }
    const weights = new Map([...params].map(([k, v]) => [k, v.dataSync() as Float32Array]));
    const test = loadCifar('test_batch.bin');
    const reference = predictLogits(spec, params, test, 64);
    disposeParams(params);

    const exported = await exportModel(spec, weights);
    const bnCount = spec.ops.filter((o) => o.kind === 'bn').length;
    expect(exported.foldedCount).toBe(bnCount);
    const check = await verifyExport(spec, exported, reference, test, 32);
    expect(check.images).toBe(64);
    expect(new Set(reference.labels).size).toBe(10); // spread over the class-sorted file
    expect(check.expectedBatchNorms).toBe(bnCount);
    for (const form of [check.onnxBn, check.onnxFolded, check.tfjsLayers]) {
      expect(form.maxAbsDiff).toBeLessThan(1e-4);
      expect(form.agreement).toBe(1);
    }
    // the logits are not all alike (the comparison would pass trivially on a constant model)
    expect(new Set(Array.from(reference.logits, (v) => v.toFixed(3))).size).toBeGreaterThan(100);
    expect(check.onnxBn.batchNorms).toBe(bnCount);
    expect(check.onnxFolded.batchNorms).toBe(0);
    expect(check.tfjsLayers.batchNorms).toBe(bnCount);
  });
});
