import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../runtime/backends.js';
import type { SynthProgressEvent } from './progress.js';
import { synthesizeWithModel } from './synthesizer.js';
import { tinySynthesisModel } from './tinyModel.testutil.js';

/** Class-conditional synthesis (DeepInversion's cross-entropy term) on a hand-written classifier. */
describe('class-conditional synthesis', () => {
  let model: ReturnType<typeof tinySynthesisModel>;
  beforeAll(async () => {
    await initBackend('cpu');
    // 3 classes: the head sees a 3-channel image's smooth content, so every class is reachable
    model = tinySynthesisModel(3, 8, 1, 3);
  });
  afterAll(() => tf.dispose(model.weights));

  const base = { numImages: 10, batchSize: 5, steps: 20, learningRate: 0.5, previewEvery: 10, previewCount: 3 };

  it('drives the float model to each image\'s target class in a few steps, without leaking', async () => {
    const before = tf.memory().numTensors;
    const events: SynthProgressEvent[] = [];
    const off = await synthesizeWithModel(model, base);
    const on = await synthesizeWithModel(model, { ...base, classWeight: 1 }, (e) => events.push(e));
    expect(tf.memory().numTensors).toBe(before);
    expect(off.classConditional).toBeUndefined();
    const cc = on.classConditional!;
    expect(cc).toMatchObject({ weight: 1, classes: 3, targets: [0, 1, 2, 0, 1, 2, 0, 1, 2, 0] });
    expect(cc.endClassLoss).toBeLessThan(cc.startClassLoss * 0.2);
    expect(cc.targetHitRate).toBe(1);
    // the BN term still works beside it
    expect(on.endBnLoss).toBeLessThan(on.startBnLoss);
    const steps = events.flatMap((e) => (e.type === 'synth-step' ? [e] : []));
    expect(steps.every((e) => typeof e.classLoss === 'number')).toBe(true);
    expect(steps[steps.length - 1].classLoss!).toBeLessThan(steps[0].classLoss!);
    const previews = events.flatMap((e) => (e.type === 'synth-preview' ? [e] : []));
    expect(previews[0].version).toBe(2);
    // batch 1 starts at image 5: classes 2, 0, 1
    expect(previews[previews.length - 1].classes).toEqual([{ index: 2 }, { index: 0 }, { index: 1 }]);
  });

  it('a heavier class weight reaches the targets at least as well (the weight is applied)', async () => {
    const light = await synthesizeWithModel(model, { ...base, steps: 6, classWeight: 0.01 });
    const heavy = await synthesizeWithModel(model, { ...base, steps: 6, classWeight: 3 });
    expect(heavy.classConditional!.endClassLoss).toBeLessThan(light.classConditional!.endClassLoss);
  });

  it('refuses a class weight for a model that gives no logits, before any step', async () => {
    const plain = tinySynthesisModel(3, 8, 1);
    const events: SynthProgressEvent[] = [];
    try {
      await expect(synthesizeWithModel(plain, { ...base, classWeight: 1 }, (e) => events.push(e))).rejects.toMatchObject({ code: 'BAD_CONFIG' });
      expect(events).toEqual([]);
    } finally {
      tf.dispose(plain.weights);
    }
  });
});
