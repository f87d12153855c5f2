/**
 * CIFAR-10 batches for training (random crop from the image zero-padded by 4, horizontal flip) and for
 * evaluation, normalized with the fixtures' ImageNet mean/std, in tfjs's NHWC layout.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CIFAR10_RECORD_BYTES, parseCifar10, type Cifar10Set } from '../../src/core/data/cifar10.js';
import { CIFAR_MEAN, CIFAR_STD, fixturesDir } from '../../src/core/testing/fixtures.js';

export const SIZE = 32;
const PLANE = SIZE * SIZE;
const PAD = 4;

export function loadCifar(file: 'data_batch.bin' | 'test_batch.bin'): Cifar10Set {
  return parseCifar10(new Uint8Array(readFileSync(join(fixturesDir(), 'cifar10', file))), file);
}

/** byte -> normalized value, per channel. */
const LUT = [0, 1, 2].map((c) => Float32Array.from({ length: 256 }, (_, b) => (b / 255 - CIFAR_MEAN[c]) / CIFAR_STD[c]));

export interface Batch { x: Float32Array; labels: Int32Array; n: number }

/**
 * Records `idx` as NHWC floats. With `random`, each image is shifted by (dy, dx) in [-4, 4] (pixels that
 * come from outside the image are black, i.e. the crop of a zero-padded image) and flipped with p = 1/2.
 */
export function cifarBatch(set: Cifar10Set, idx: ArrayLike<number>, random?: () => number): Batch {
  const n = idx.length;
  const x = new Float32Array(n * PLANE * 3);
  const labels = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    const off = idx[k] * CIFAR10_RECORD_BYTES;
    labels[k] = set.bytes[off];
    const dy = random ? Math.floor(random() * (2 * PAD + 1)) - PAD : 0;
    const dx = random ? Math.floor(random() * (2 * PAD + 1)) - PAD : 0;
    const flip = random ? random() < 0.5 : false;
    for (let r = 0; r < SIZE; r++) {
      const sr = r + dy;
      for (let c = 0; c < SIZE; c++) {
        const sc = (flip ? SIZE - 1 - c : c) + dx;
        const inside = sr >= 0 && sr < SIZE && sc >= 0 && sc < SIZE;
        const o = ((k * SIZE + r) * SIZE + c) * 3;
        for (let ch = 0; ch < 3; ch++) x[o + ch] = LUT[ch][inside ? set.bytes[off + 1 + ch * PLANE + sr * SIZE + sc] : 0];
      }
    }
  }
  return { x, labels, n };
}
