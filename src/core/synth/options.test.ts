import { describe, expect, it } from 'vitest';
import { DEFAULT_SYNTHESIS_OPTIONS, IMAGENET_NORMALIZATION, learningRateAt, learningRateScale, resolveSynthesisOptions } from './options.js';

describe('synthesis options', () => {
  it('fills defaults and keeps given values', () => {
    const o = resolveSynthesisOptions({ steps: 7, seed: undefined });
    expect(o.steps).toBe(7);
    expect(o.seed).toBe(DEFAULT_SYNTHESIS_OPTIONS.seed);
    expect(o.batchSize).toBe(DEFAULT_SYNTHESIS_OPTIONS.batchSize);
  });

  it('names the bad setting in a BAD_CONFIG error', () => {
    expect(() => resolveSynthesisOptions({ batchSize: 0 })).toThrow(/batchSize/);
    expect(() => resolveSynthesisOptions({ learningRate: -1 })).toThrow(/learningRate/);
    expect(() => resolveSynthesisOptions({ tvWeight: Number.NaN })).toThrow(/tvWeight/);
    expect(() => resolveSynthesisOptions({ normalization: { mean: [0.5], std: [0] } })).toThrow(/std/);
    try {
      resolveSynthesisOptions({ jitter: 1.5 });
      expect.unreachable();
    } catch (e) {
      expect((e as { code: string }).code).toBe('BAD_CONFIG');
    }
  });

  it('schedules the learning rate: cosine from peak to the floor, step x0.1 at 50% and 75%', () => {
    const o = { learningRate: 0.2, lrMinFactor: 0.05 };
    expect(learningRateAt({ ...o, lrSchedule: 'cosine' }, 0, 11)).toBeCloseTo(0.2, 12);
    expect(learningRateAt({ ...o, lrSchedule: 'cosine' }, 5, 11)).toBeCloseTo(0.2 * (0.05 + 0.95 / 2), 12);
    expect(learningRateAt({ ...o, lrSchedule: 'cosine' }, 10, 11)).toBeCloseTo(0.01, 12);
    expect(learningRateAt({ ...o, lrSchedule: 'step' }, 4, 11)).toBeCloseTo(0.2, 12);
    expect(learningRateAt({ ...o, lrSchedule: 'step' }, 6, 11)).toBeCloseTo(0.02, 12);
    expect(learningRateAt({ ...o, lrSchedule: 'step' }, 9, 11)).toBeCloseTo(0.002, 12);
    expect(learningRateAt({ ...o, lrSchedule: 'constant' }, 9, 11)).toBe(0.2);
  });
});

describe('learningRateScale', () => {
  it('is 1 for ImageNet normalization or none, and follows the width of the pixel range otherwise', () => {
    expect(learningRateScale(IMAGENET_NORMALIZATION)).toBeCloseTo(1, 12);
    expect(learningRateScale(undefined)).toBe(1);
    // pixels / 255: the range [0, 1] is 1 / 4.44 of ImageNet's normalized width
    expect(learningRateScale({ mean: [0, 0, 0], std: [1, 1, 1] })).toBeCloseTo(0.226, 3);
    // a one-value std applies to every channel; twice the std, half the width
    expect(learningRateScale({ mean: [0.5], std: [0.5] })).toBeCloseTo(2 * 0.226, 3);
  });
});
