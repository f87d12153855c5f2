import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../runtime/backends.js';
import { synthesizeWithModel } from './synthesizer.js';
import type { SynthProgressEvent } from './progress.js';
import { tinySynthesisModel } from './tinyModel.testutil.js';

describe('synthesizeWithModel on a hand-written model', () => {
  let model: ReturnType<typeof tinySynthesisModel>;
  beforeAll(async () => {
    await initBackend('cpu');
    model = tinySynthesisModel();
  });
  afterAll(() => tf.dispose(model.weights));

  const base = { numImages: 6, batchSize: 4, steps: 25, learningRate: 0.1, previewEvery: 10, previewCount: 2 };

  it('lowers the BN-statistics loss, reports every step and previews, frees every tensor', async () => {
    const before = tf.memory().numTensors;
    const events: SynthProgressEvent[] = [];
    const r = await synthesizeWithModel(model, base, (e) => events.push(e));
    expect(tf.memory().numTensors).toBe(before);
    expect(r.method).toBe('bn-statistics');
    expect(r.shape).toEqual([6, 3, 8, 8]);
    expect(r.images.length).toBe(6 * 3 * 64);
    expect(r.lossHistory.map((h) => h.length)).toEqual([25, 25]);
    expect(r.endBnLoss).toBeLessThan(r.startBnLoss * 0.5);
    const steps = events.filter((e) => e.type === 'synth-step');
    expect(steps.length).toBe(50);
    expect(steps[0]).toMatchObject({ batch: 0, batches: 2, step: 0, steps: 25, version: 1 });
    const s = steps[0];
    if (s.type !== 'synth-step') throw new Error();
    expect(s.perLayer?.worst).toMatch(/^bn_/);
    expect(s.perLayer!.max).toBeGreaterThanOrEqual(s.perLayer!.min);
    const previews = events.filter((e) => e.type === 'synth-preview');
    // steps 9, 19 and the last (24) of each batch
    expect(previews.length).toBe(6);
    const p = previews[0];
    if (p.type !== 'synth-preview') throw new Error();
    expect(p.images.length).toBe(2);
    expect(p.images[0].rgba.length).toBe(8 * 8 * 4);
  });

  it('sends per-BN channel statistics with the previews, closer to the stored ones at the end', async () => {
    const before = tf.memory().numTensors;
    const events: SynthProgressEvent[] = [];
    await synthesizeWithModel(model, { ...base, numImages: 4 }, (e) => events.push(e));
    expect(tf.memory().numTensors).toBe(before);
    const stats = events.flatMap((e) => (e.type === 'synth-bn-stats' ? [e] : []));
    expect(stats.map((e) => e.step)).toEqual([9, 19, 24]);
    const gap = (e: (typeof stats)[number]) =>
      e.layers.reduce((a, l) => a + l.mean.reduce((s, m, c) => s + (m - l.targetMean[c]) ** 2 + (l.std[c] - l.targetStd[c]) ** 2, 0), 0);
    expect(stats[0].layers.map((l) => l.name)).toEqual(model.batchNorms.map((b) => b.nodeName));
    expect(stats[0].layers[0].mean.length).toBe(model.batchNorms[0].channels);
    expect(Array.from(stats[0].layers[0].targetMean)).toEqual(Array.from(model.batchNorms[0].mean));
    expect(gap(stats[2])).toBeLessThan(gap(stats[0]));
  });

  it('is deterministic for a seed and differs across seeds', async () => {
    const a = await synthesizeWithModel(model, { ...base, steps: 5, seed: 7 });
    const b = await synthesizeWithModel(model, { ...base, steps: 5, seed: 7 });
    const c = await synthesizeWithModel(model, { ...base, steps: 5, seed: 8 });
    expect(Array.from(a.images)).toEqual(Array.from(b.images));
    expect(a.lossHistory).toEqual(b.lossHistory);
    expect(Array.from(a.images.subarray(0, 50))).not.toEqual(Array.from(c.images.subarray(0, 50)));
  });

  it('stops with CANCELLED when aborted, without leaking', async () => {
    const before = tf.memory().numTensors;
    const ctl = new AbortController();
    const run = synthesizeWithModel(model, base, (e) => {
      if (e.type === 'synth-step' && e.step === 3) ctl.abort();
    }, ctl.signal);
    await expect(run).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('keeps pixels in the valid range when the normalization is given', async () => {
    const norm = { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] };
    const r = await synthesizeWithModel(model, { ...base, steps: 3, normalization: norm });
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of r.images) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    expect(lo).toBeGreaterThanOrEqual(-2 - 1e-6);
    expect(hi).toBeLessThanOrEqual(2 + 1e-6);
    expect(hi - lo).toBeGreaterThan(2);
  });
});
