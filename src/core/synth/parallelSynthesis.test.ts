import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../runtime/backends.js';
import { batchGroups } from './parallelSynthesis.js';
import { combineSynthesisBatches, synthesizeModelBatches, synthesizeWithModel } from './synthesizer.js';
import { tinySynthesisModel } from './tinyModel.testutil.js';

describe('synthesis batch by batch (what workers run)', () => {
  let model: ReturnType<typeof tinySynthesisModel>;
  beforeAll(async () => {
    await initBackend('cpu');
    model = tinySynthesisModel(3, 8, 2, 3);
  });
  afterAll(() => tf.dispose(model.weights));

  it('batches run apart, in any order, combine to the one-thread result (class-conditional too)', async () => {
    const o = { numImages: 7, batchSize: 3, steps: 4, seed: 9, classWeight: 0.1, previewEvery: 0 };
    const whole = await synthesizeWithModel(model, o);
    const before = tf.memory().numTensors;
    const parts = [...(await synthesizeModelBatches(model, o, [2, 0])), ...(await synthesizeModelBatches(model, o, [1]))];
    expect(tf.memory().numTensors).toBe(before);
    const combined = combineSynthesisBatches(model, o, parts, whole.seconds);
    expect(combined.images).toEqual(whole.images);
    expect(combined.lossHistory).toEqual(whole.lossHistory);
    expect(combined.bnLossHistory).toEqual(whole.bnLossHistory);
    expect([combined.startLoss, combined.endLoss, combined.startBnLoss, combined.endBnLoss]).toEqual([whole.startLoss, whole.endLoss, whole.startBnLoss, whole.endBnLoss]);
    expect(combined.classConditional).toEqual(whole.classConditional);
    // a batch missing or given twice is an internal error, not a silently wrong image set
    expect(() => combineSynthesisBatches(model, o, parts.slice(1), 0)).toThrow(/batches \[0, 1\] of 3/);
    expect(() => combineSynthesisBatches(model, o, [...parts, parts[0]], 0)).toThrow(/of 3/);
  });

  it('deals batches round robin, never an empty group', () => {
    expect(batchGroups(11, 2)).toEqual([[0, 2, 4, 6, 8, 10], [1, 3, 5, 7, 9]]);
    expect(batchGroups(2, 4)).toEqual([[0], [1]]);
    expect(batchGroups(1, 1)).toEqual([[0]]);
  });
});
