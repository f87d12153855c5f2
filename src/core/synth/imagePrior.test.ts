import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../runtime/backends.js';
import { augment, clampToPixelRange, imagePriorLoss, roll2d, totalVariation } from './imagePrior.js';
import { batchToRgba } from './preview.js';

describe('image prior and augmentation', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  it('rolls circularly along H and W and flips left-right', () => {
    // one 1x1x2x3 image: [[0,1,2],[3,4,5]]
    const x = tf.tensor4d([0, 1, 2, 3, 4, 5], [1, 1, 2, 3]);
    expect(Array.from(roll2d(x, 0, 1).dataSync())).toEqual([2, 0, 1, 5, 3, 4]);
    expect(Array.from(roll2d(x, 1, -1).dataSync())).toEqual([4, 5, 3, 1, 2, 0]);
    expect(Array.from(augment(x, { dy: 0, dx: 0, flip: true }).dataSync())).toEqual([2, 1, 0, 5, 4, 3]);
    const before = tf.memory().numTensors;
    augment(x, { dy: 0, dx: 0, flip: false }).dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('computes total variation and the weighted prior by hand', () => {
    const x = tf.tensor4d([0, 1, 2, 3, 4, 5], [1, 1, 2, 3]);
    // vertical diffs: 3,3,3 -> mean 9; horizontal: 1,1,1,1 -> mean 1
    expect(totalVariation(x).dataSync()[0]).toBeCloseTo(10, 5);
    // input stats: mean 2.5, std sqrt(35/12 + 1e-5); l2: mean of squares 55/6
    const std = Math.sqrt(35 / 12 + 1e-5);
    const expected = 0.5 * (2.5 ** 2 + (std - 1) ** 2) + 0.1 * 10 + 0.01 * (55 / 6);
    expect(imagePriorLoss(x, { inputStatsWeight: 0.5, tvWeight: 0.1, l2Weight: 0.01 }).dataSync()[0]).toBeCloseTo(expected, 4);
    x.dispose();
  });

  it('clamps to the pixel range and de-normalizes previews to bytes', () => {
    const norm = { mean: [0.5], std: [0.25] };
    const x = tf.tensor4d([-5, -2, 0, 1, 2, 5], [1, 1, 2, 3]);
    const c = clampToPixelRange(x, norm);
    expect(Array.from(c.dataSync())).toEqual([-2, -2, 0, 1, 2, 2]);
    const [img] = batchToRgba(c.dataSync() as Float32Array, [1, 1, 2, 3], 1, norm);
    expect([img.width, img.height]).toEqual([3, 2]);
    // gray: pixel = (x * 0.25 + 0.5) * 255
    expect(Array.from(img.rgba.filter((_, i) => i % 4 === 0))).toEqual([0, 0, 128, 191, 255, 255]);
    expect(img.rgba[3]).toBe(255);
    tf.dispose([x, c]);
  });
});
