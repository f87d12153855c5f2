import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../runtime/backends.js';
import { classCrossEntropy, countTargetHits, oneHotBatch, roundRobinTargets } from './classTargets.js';

describe('class targets of class-conditional synthesis', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  it('spreads the classes evenly: every class count differs by at most one, in the set and in every batch', () => {
    for (const [images, classes, batch] of [[256, 10, 64], [100, 7, 32], [5, 10, 2], [1000, 1000, 64]]) {
      const t = roundRobinTargets(images, classes);
      expect(t.length).toBe(images);
      const spread = (from: number, to: number) => {
        const counts = new Array<number>(classes).fill(0);
        for (let i = from; i < to; i++) counts[t[i]]++;
        const used = Math.min(classes, to - from);
        const present = counts.filter((c) => c > 0);
        expect(present.length).toBe(used);
        expect(Math.max(...counts) - Math.min(...present)).toBeLessThanOrEqual(1);
      };
      spread(0, images);
      for (let b = 0; b < images; b += batch) spread(b, Math.min(images, b + batch));
    }
  });

  it('cross-entropy matches log-softmax by hand, is finite for huge logits, and counts target hits', () => {
    const before = tf.memory().numTensors;
    const logits = tf.tensor2d([[2, 1, 0], [0, 0, 5], [1e4, 0, -1e4]]);
    const labels = oneHotBatch(Int32Array.from([0, 1, 2, 0]), 0, 3, 3);
    const read = (f: () => tf.Tensor) => tf.tidy(() => f().dataSync()[0]);
    const ce = read(() => classCrossEntropy(logits, labels));
    const row = (z: number[], k: number) => Math.log(z.reduce((a, v) => a + Math.exp(v - Math.max(...z)), 0)) + Math.max(...z) - z[k];
    // the third row's target logit is 2e4 below the largest: its loss is 2e4, exactly
    expect(ce).toBeCloseTo((row([2, 1, 0], 0) + row([0, 0, 5], 1) + 2e4) / 3, 2);
    expect(read(() => countTargetHits(logits, labels))).toBe(1);
    // a [n, classes, 1, 1] output (a conv head) is read as [n, classes]
    expect(read(() => classCrossEntropy(logits.reshape([3, 3, 1, 1]), labels))).toBeCloseTo(ce, 4);
    tf.dispose([logits, labels]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('one-hot rows of a batch come from its own slice of the targets', () => {
    const t = roundRobinTargets(10, 4);
    const b = oneHotBatch(t, 4, 3, 4);
    expect(b.arraySync()).toEqual([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]);
    b.dispose();
  });
});
