import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isLocalQuantError } from '../errors.js';
import { CIFAR_MEAN, CIFAR_STD, cifarFixture } from '../testing/fixtures.js';
import { CIFAR10_RECORD_BYTES, argmaxRows, cifar10Batch, parseCifar10 } from './cifar10.js';

describe('CIFAR-10 binary parsing', () => {
  const bytes = new Uint8Array(readFileSync(cifarFixture('test_batch.bin')));

  it('reads the 10,000 labels of the shared test set (sorted by class, 1,000 each)', () => {
    const set = parseCifar10(bytes);
    expect(set.count).toBe(10000);
    const perClass = new Array(10).fill(0);
    set.labels.forEach((l) => perClass[l]++);
    expect(perClass).toEqual(new Array(10).fill(1000));
    expect(set.labels[0]).toBe(0);
    expect(set.labels[9999]).toBe(9);
  });

  it('normalizes pixels per channel into NCHW: (byte / 255 - mean) / std', () => {
    const set = parseCifar10(bytes);
    const b = cifar10Batch(set, [5, 7000], CIFAR_MEAN, CIFAR_STD);
    expect(b.dims).toEqual([2, 3, 32, 32]);
    expect(Array.from(b.labels)).toEqual([bytes[5 * CIFAR10_RECORD_BYTES], bytes[7000 * CIFAR10_RECORD_BYTES]]);
    for (const [n, rec] of [[0, 5], [1, 7000]]) {
      for (const [c, p] of [[0, 0], [1, 33], [2, 1023]]) {
        const byte = bytes[rec * CIFAR10_RECORD_BYTES + 1 + c * 1024 + p];
        expect(b.images[(n * 3 + c) * 1024 + p]).toBeCloseTo((byte / 255 - CIFAR_MEAN[c]) / CIFAR_STD[c], 5);
      }
    }
    const range = cifar10Batch(set, { start: 9998, count: 10 }, [0, 0, 0], [1, 1, 1]);
    expect(range.dims[0]).toBe(2); // clipped at the end of the file
    expect(Math.max(...range.images)).toBeLessThanOrEqual(1);
  });

  it('refuses files of the wrong size or with labels past 9, with a hint', () => {
    const code = (b: Uint8Array) => {
      try {
        parseCifar10(b);
      } catch (e) {
        return isLocalQuantError(e) ? e.code : 'other';
      }
      return 'ok';
    };
    expect(code(bytes.subarray(0, 3000))).toBe('BAD_INPUT');
    const bad = bytes.slice(0, CIFAR10_RECORD_BYTES);
    bad[0] = 42;
    expect(code(bad)).toBe('BAD_INPUT');
  });

  it('argmaxRows picks the first maximum per row', () => {
    expect(Array.from(argmaxRows([0, 3, 3, 1, -1, -2, -0.5, -3], 2, 4))).toEqual([1, 2]);
  });
});
