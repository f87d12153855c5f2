/**
 * Every setting of PipelineConfig changes the export or the report (in the expected direction where that
 * is measurable), or is refused with BAD_CONFIG. Runs the sample digits model with few images, steps and
 * iterations so that each run takes a second or two; each test compares one setting against the baseline.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../runtime/backends.js';
import { defaultPipelineConfig } from './defaults.js';
import { runPipeline } from './run.js';
import type { PipelineConfig, PipelineResult, RgbaImage } from './types.js';

const sample = { name: 'digits-cnn.onnx', bytes: new Uint8Array(readFileSync(join(__dirname, '../../../public/sample/digits-cnn.onnx'))) };

function baseConfig(): PipelineConfig {
  const cfg = defaultPipelineConfig();
  cfg.normalization = { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], pixelRange: 255 };
  cfg.calibration = { source: 'synthetic', images: 8, steps: 3, batch: 8 };
  cfg.quant = { ...cfg.quant, weightBits: 4, activationBits: 8, rounding: 'adaptive', keepFirstLast8bit: true, adaroundIterations: 30 };
  cfg.export = { onnx: true, tfjs: false };
  return cfg;
}

/** Digit-like test images: a bright stroke on a dark background, different per image. */
function strokeImages(n: number, size = 40): RgbaImage[] {
  return Array.from({ length: n }, (_, i) => {
    const rgba = new Uint8Array(size * size * 4);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const on = Math.abs(x - size / 2 - ((i * 3) % 9) + 4) < 3 || (y > 8 + i && y < 14 + i && x > 8);
        rgba.set(on ? [240, 240, 240, 255] : [10, 12, 14, 255], (y * size + x) * 4);
      }
    }
    return { width: size, height: size, rgba };
  });
}

function withChange(change: (c: PipelineConfig) => void): PipelineConfig {
  const c = baseConfig();
  change(c);
  return c;
}

const run = (cfg: PipelineConfig) => runPipeline([sample], cfg);

function sameBytes(a?: Uint8Array, b?: Uint8Array): boolean {
  return !!a && !!b && a.length === b.length && a.every((v, i) => v === b[i]);
}

const inputScale = (r: PipelineResult) => r.report.activations.input.scale;

let base: PipelineResult;

beforeAll(async () => {
  await initBackend('wasm');
  base = await run(baseConfig());
});

describe('every pipeline setting changes the result or is refused', () => {
  it('the same config gives the same bytes (so that a difference below is the setting\'s)', async () => {
    const again = await run(baseConfig());
    expect(sameBytes(again.onnx, base.onnx)).toBe(true);
  });

  it('seed', async () => {
    const r = await run(withChange((c) => { c.seed = 7; }));
    expect(sameBytes(r.onnx, base.onnx)).toBe(false);
    expect(r.report.config.seed).toBe(7);
  });

  it('normalization mean and std: the input grid follows the normalized pixel range', async () => {
    // std 0.25 doubles the normalized pixel range [-1, 1] -> [-2, 2]: the input grid step grows.
    const r = await run(withChange((c) => { c.normalization = { ...c.normalization, std: [0.25, 0.25, 0.25] }; }));
    expect(sameBytes(r.onnx, base.onnx)).toBe(false);
    expect(inputScale(r)).toBeGreaterThan(1.3 * inputScale(base));
  });

  it('pixel range: 1 (raw 0..255 pixels) widens the input range about 255-fold for the same images', async () => {
    const own = (range: number) => withChange((c) => {
      c.normalization = { ...c.normalization, pixelRange: range };
      c.calibration = { ...c.calibration, source: 'user-images', userImages: strokeImages(8) };
    });
    const r255 = await run(own(255));
    const r1 = await run(own(1));
    expect(sameBytes(r1.onnx, r255.onnx)).toBe(false);
    expect(inputScale(r1) / inputScale(r255)).toBeGreaterThan(100);
    expect(r1.report.config.normalization.pixelRange).toBe(1);
    // Synthetic images are clamped to the valid pixel box, which the range moves too.
    const synth = await run(withChange((c) => { c.normalization = { ...c.normalization, pixelRange: 1 }; }));
    expect(sameBytes(synth.onnx, base.onnx)).toBe(false);
  });

  it('calibration source: each source gives its own export and is recorded as applied', async () => {
    const bySource = new Map<string, PipelineResult>([['synthetic', base]]);
    for (const source of ['noise', 'prior-only', 'user-images'] as const) {
      bySource.set(source, await run(withChange((c) => {
        c.calibration = { ...c.calibration, source, ...(source === 'user-images' ? { userImages: strokeImages(8), userImagesFrom: 'test strokes' } : {}) };
      })));
    }
    const results = [...bySource.values()];
    for (let i = 0; i < results.length; i++) for (let j = i + 1; j < results.length; j++) expect(sameBytes(results[i].onnx, results[j].onnx)).toBe(false);
    expect(base.report.calibration.method).toBe('bn-statistics');
    expect(base.report.config.calibration.source).toBe('synthetic');
    expect(bySource.get('noise')!.report.calibration.method).toBe('noise');
    expect(bySource.get('prior-only')!.report.calibration.method).toBe('prior-only');
    const own = bySource.get('user-images')!.report;
    expect(own.calibration).toMatchObject({ method: 'user-images', images: 8, from: 'test strokes' });
    // Own images are counted, not copied into the report; steps did not apply; the batch is quantization's.
    expect(own.config.calibration).toEqual({ source: 'user-images', images: 8, steps: 0, batch: 8 });
    expect(bySource.get('user-images')!.agreementOn).toMatchObject({ images: 8, method: 'user-images' });
  });

  it('calibration images, steps and batch: recorded as used and change the export', async () => {
    const fewer = await run(withChange((c) => { c.calibration.images = 4; }));
    expect(fewer.report.calibration.images).toBe(4);
    expect(fewer.agreementOn.images).toBe(4);
    expect(sameBytes(fewer.onnx, base.onnx)).toBe(false);
    const steps = await run(withChange((c) => { c.calibration.steps = 6; }));
    expect(steps.report.calibration.steps).toBe(6);
    expect(sameBytes(steps.onnx, base.onnx)).toBe(false);
    const batch = await run(withChange((c) => { c.calibration.batch = 4; }));
    expect(batch.report.calibration.batch).toBe(4);
    expect(sameBytes(batch.onnx, base.onnx)).toBe(false);
    // A batch larger than the image count is recorded as the batch actually used.
    const big = await run(withChange((c) => { c.calibration.batch = 64; }));
    expect(big.report.config.calibration.batch).toBe(8);
    const own = await run(withChange((c) => { c.calibration = { ...c.calibration, source: 'user-images', images: 3, userImages: strokeImages(8) }; }));
    expect(own.report.calibration.images).toBe(3);
    // Without synthesis the batch still sets how many images calibration and rounding hold at a time.
    const noiseBatch = await run(withChange((c) => { c.calibration = { ...c.calibration, source: 'noise', batch: 4 }; }));
    expect(noiseBatch.report.config.calibration.batch).toBe(4);
    expect(noiseBatch.report.calibration.batch).toBeUndefined();
  });

  it('weight bits: 8 instead of 4 changes the codes; with packed int4 (target smallest) the file is larger', async () => {
    const r = await run(withChange((c) => { c.quant.weightBits = 8; }));
    // target ort-cpu (the default) gives 8-bit weights a 7-bit range (quant/config.ts portableWeightBits); ort-cpu-vnni keeps 8
    expect(r.report.layers.map((l) => l.weightBits)).toEqual([7, 7, 7, 7, 7]);
    expect(base.report.layers.map((l) => l.weightBits)).toEqual([7, 4, 4, 4, 7]);
    const vnni = await run(withChange((c) => { c.quant.weightBits = 8; c.quant.target = 'ort-cpu-vnni'; }));
    expect(vnni.report.layers.map((l) => l.weightBits)).toEqual([8, 8, 8, 8, 8]);
    expect(sameBytes(vnni.onnx, r.onnx)).toBe(false);
    expect(vnni.report.notes.join(' ')).toMatch(/only on x86-64 CPUs with VNNI or AMX/);
    expect(sameBytes(r.onnx, base.onnx)).toBe(false);
    // The default target (ort-cpu) stores 4-bit codes as int8 for ORT's integer kernels: same size.
    const packed4 = await run(withChange((c) => { c.quant.target = 'smallest'; }));
    const packed8 = await run(withChange((c) => { c.quant.target = 'smallest'; c.quant.weightBits = 8; }));
    expect(packed8.report.sizes.quantizedBytes).toBeGreaterThan(1.3 * packed4.report.sizes.quantizedBytes);
    // The deployment target (engineer D) changes the export too.
    expect(sameBytes(packed4.onnx, base.onnx)).toBe(false);
  });

  it('activation bits: 4 gives coarser grids, 32 leaves activations float', async () => {
    const a4 = await run(withChange((c) => { c.quant.activationBits = 4; }));
    expect(sameBytes(a4.onnx, base.onnx)).toBe(false);
    const inner = (r: PipelineResult) => Object.entries(r.report.activations).filter(([k]) => k !== 'input');
    expect(a4.report.layers.slice(1).every((l) => l.activationBits === 4)).toBe(true);
    expect(inner(a4).filter(([, v]) => v.bits === 4).length).toBeGreaterThan(0);
    // values no layer reads keep 8 bits (activationBitsAt "layer-inputs", tested below)
    for (const [, v] of inner(a4)) expect([4, 8]).toContain(v.bits);
    const a32 = await run(withChange((c) => { c.quant.activationBits = 32; }));
    expect(Object.keys(a32.report.activations)).toEqual([]);
    expect(a32.report.layers.every((l) => l.activationBits === 32)).toBe(true);
  });

  it('rounding: nearest flips nothing and has the larger layer error; iterations do not apply to it', async () => {
    const r = await run(withChange((c) => { c.quant.rounding = 'nearest'; }));
    expect(r.report.layers.every((l) => l.rounding === 'nearest' && !l.flippedFraction)).toBe(true);
    expect(r.report.config.quant.adaroundIterations).toBe(0);
    // Against output-error weight scales, nearest is a strong start: a few dozen iterations do not beat it
    // (the layer then keeps nearest's codes); a few hundred do.
    const ada = await run(withChange((c) => { c.quant.adaroundIterations = 400; }));
    expect(sameBytes(r.onnx, ada.onnx)).toBe(false);
    const l = ada.report.layers[1];
    expect(l.rounding).toBe('adaptive');
    expect(l.flippedFraction!).toBeGreaterThan(0);
    expect(l.adaptiveError!).toBeLessThan(l.nearestError!);
  });

  it('adaptive rounding iterations', async () => {
    const r = await run(withChange((c) => { c.quant.adaroundIterations = 80; }));
    expect(sameBytes(r.onnx, base.onnx)).toBe(false);
    expect(r.report.config.quant.adaroundIterations).toBe(80);
  });

  it('keep first and last at 8 bit: off puts them at 4 bit and, packed, shrinks the file', async () => {
    const r = await run(withChange((c) => { c.quant.keepFirstLast8bit = false; }));
    expect(r.report.layers.map((l) => l.weightBits)).toEqual([4, 4, 4, 4, 4]);
    expect(sameBytes(r.onnx, base.onnx)).toBe(false);
    const keep = await run(withChange((c) => { c.quant.target = 'smallest'; }));
    const all4 = await run(withChange((c) => { c.quant.target = 'smallest'; c.quant.keepFirstLast8bit = false; }));
    expect(all4.report.sizes.quantizedBytes).toBeLessThan(keep.report.sizes.quantizedBytes);
  });

  it('per-channel off: one weight scale per layer', async () => {
    const r = await run(withChange((c) => { c.quant.perChannel = false; }));
    expect(sameBytes(r.onnx, base.onnx)).toBe(false);
    expect(r.report.layers.every((l) => l.scales.length === 1)).toBe(true);
    expect(base.report.layers.some((l) => l.scales.length > 1)).toBe(true);
  });

  it('activation observer: min/max ranges cover more than MSE-chosen ones', async () => {
    const minmax = await run(withChange((c) => { c.quant.activationObserver = 'minmax'; }));
    const pct = await run(withChange((c) => { c.quant.activationObserver = 'percentile'; }));
    expect(sameBytes(minmax.onnx, base.onnx)).toBe(false);
    expect(sameBytes(pct.onnx, base.onnx)).toBe(false);
    expect(sameBytes(pct.onnx, minmax.onnx)).toBe(false);
    const total = (r: PipelineResult) => Object.values(r.report.activations).reduce((a, v) => a + v.scale, 0);
    expect(total(minmax)).toBeGreaterThan(total(base));
  });

  it('bias correction (engineer A): changes the export and marks the corrected layers', async () => {
    const r = await run(withChange((c) => { c.quant.biasCorrection = true; c.quant.rounding = 'nearest'; }));
    const off = await run(withChange((c) => { c.quant.rounding = 'nearest'; }));
    expect(sameBytes(r.onnx, off.onnx)).toBe(false);
    expect(r.report.config.quant.biasCorrection).toBe(true);
    expect(r.report.layers.some((l) => l.biasCorrected)).toBe(true);
    expect(off.report.layers.some((l) => l.biasCorrected)).toBe(false);
  });

  it('reconstruction block and QDrop: change the export and are recorded with the blocks', async () => {
    const blk = await run(withChange((c) => { c.quant.reconstruction = 'block'; }));
    expect(sameBytes(blk.onnx, base.onnx)).toBe(false);
    expect(blk.report.config.quant.reconstruction).toBe('block');
    expect(blk.report.blocks!.flatMap((b) => b.layers)).toEqual(blk.report.layers.map((l) => l.name));
    expect(base.report.blocks).toBeUndefined();
    // QDrop changes the joint optimisation; at a few dozen iterations no block beats its layer-wise start
    // (the block then keeps that start, with or without QDrop), so compare where the joint result is kept.
    const blk300 = await run(withChange((c) => { c.quant.reconstruction = 'block'; c.quant.adaroundIterations = 300; }));
    const qd = await run(withChange((c) => { c.quant.reconstruction = 'block'; c.quant.qdrop = true; c.quant.adaroundIterations = 300; }));
    expect(blk300.report.blocks!.some((b) => b.kept === 'block')).toBe(true);
    expect(sameBytes(qd.onnx, blk300.onnx)).toBe(false);
    expect(qd.report.config.quant.qdrop).toBe(true);
    expect(qd.report.blocks!.every((b) => b.qdrop === 0.5)).toBe(true);
  }, 360_000); // four pipeline runs, two with 300 block iterations: past 120 s at load 6 on the 2-core machine

  it('activationBitsAt: at A4, every-activation puts the values no layer reads at 4 bit too; recorded', async () => {
    const a4 = (at: 'layer-inputs' | 'every-activation') => withChange((c) => { c.quant.activationBits = 4; c.quant.rounding = 'nearest'; c.quant.activationBitsAt = at; });
    const inputs = await run(a4('layer-inputs'));
    const every = await run(a4('every-activation'));
    expect(sameBytes(inputs.onnx, every.onnx)).toBe(false);
    expect(every.report.config.quant.activationBitsAt).toBe('every-activation');
    expect(inputs.report.config.quant.activationBitsAt).toBe('layer-inputs');
    const bits = (r: PipelineResult) => Object.entries(r.report.activations).filter(([v]) => v !== 'input').map(([, a]) => a.bits);
    expect(bits(every).every((b) => b === 4)).toBe(true);
    expect(bits(inputs)).toContain(8);
    expect(bits(inputs)).toContain(4);
  }, 120_000);

  it('equalization: rescales channel groups, changes the export and is recorded with what it did', async () => {
    const r = await run(withChange((c) => { c.quant.equalization = true; }));
    expect(sameBytes(r.onnx, base.onnx)).toBe(false);
    expect(r.report.config.quant.equalization).toBe(true);
    expect(r.report.equalization!.rescaled).toBeGreaterThan(0);
    expect(r.report.equalization!.layers).toBeGreaterThan(1);
    expect(r.report.seconds.equalization).toBeGreaterThan(0);
    expect(base.report.equalization).toBeUndefined();
  });

  it('floatActivationsBelowDb: a higher threshold keeps more activations float; null quantizes all; the value applied is recorded', async () => {
    const strict = await run(withChange((c) => { c.quant.floatActivationsBelowDb = 60; }));
    const none = await run(withChange((c) => { c.quant.floatActivationsBelowDb = null; }));
    expect(base.report.config.quant.floatActivationsBelowDb).toBe(20);
    expect(strict.report.config.quant.floatActivationsBelowDb).toBe(60);
    expect(none.report.config.quant.floatActivationsBelowDb).toBeNull();
    expect(strict.report.floatActivations!.length).toBeGreaterThan(base.report.floatActivations?.length ?? 0);
    expect(Object.keys(strict.report.activations).length).toBeLessThan(Object.keys(base.report.activations).length);
    expect(sameBytes(strict.onnx, base.onnx)).toBe(false);
    expect(none.report.floatActivations).toBeUndefined();
  });

  it('per-layer overrides: weight bits, float layers, activation bits (engineer D)', async () => {
    const names = base.report.layers.map((l) => l.name);
    const r = await run(withChange((c) => { c.quant.overrides = { [names[1]]: { weightBits: 8 }, [names[2]]: { float: true } }; }));
    expect(r.report.layers[1].weightBits).toBe(7); // 8 asked, in ort-cpu's 7-bit range
    expect(r.report.layers[2]).toMatchObject({ weightBits: null, rounding: 'float' });
    expect(sameBytes(r.onnx, base.onnx)).toBe(false);
    const a4 = await run(withChange((c) => { c.quant.overrides = { [names[1]]: { activationBits: 4 } }; }));
    expect(a4.report.layers[1].activationBits).toBe(4);
    expect(sameBytes(a4.onnx, base.onnx)).toBe(false);
  });

  it('export: ONNX off leaves only TF.js; TF.js on adds its files', async () => {
    const tfjsOnly = await run(withChange((c) => { c.export = { onnx: false, tfjs: true }; }));
    expect(tfjsOnly.onnx).toBeUndefined();
    expect(tfjsOnly.tfjs!.files.map((f) => f.name)).toContain('model.json');
    expect(tfjsOnly.report.sizes.quantizedBytes).toBe(tfjsOnly.tfjs!.files.reduce((a, f) => a + f.bytes.byteLength, 0));
    // no ONNX export, no ONNX Runtime target: its 7-bit weight range and its notes do not apply, and the report names none
    expect(tfjsOnly.report.layers.map((l) => l.weightBits)).toEqual([8, 4, 4, 4, 8]);
    expect(tfjsOnly.report.config.quant.target).toBeUndefined();
    expect(tfjsOnly.report.notes.join(' ')).not.toMatch(/Deployment target/);
    expect(base.tfjs).toBeUndefined();
  });

  it('backend: the report records the backend that ran', () => {
    expect(base.report.backend.name).toBe('wasm');
    expect(base.report.config.backend).toBe('wasm');
  });

  it('refuses settings that could not apply, naming them', async () => {
    const refused = async (change: (c: PipelineConfig) => void, message: RegExp) =>
      expect(run(withChange(change))).rejects.toMatchObject({ code: 'BAD_CONFIG', message: expect.stringMatching(message) });
    await refused((c) => { c.export = { onnx: false, tfjs: false }; }, /Nothing to export/);
    await refused((c) => { c.normalization.pixelRange = 0; }, /pixelRange/);
    await refused((c) => { c.normalization.std = [0.5, 0.5]; }, /std/);
    await refused((c) => { c.calibration.source = 'user-images'; }, /no images were given/);
    await refused((c) => { c.calibration.userImages = strokeImages(2); }, /userImages were given but calibration.source is "synthetic"/);
    await refused((c) => { c.calibration.images = 0; }, /calibration.images/);
    await refused((c) => { c.backend = 'gpu' as 'auto'; }, /backend must be one of/);
    await refused((c) => { (c.quant as Record<string, unknown>).percentile = 99; }, /unknown setting "quant.percentile"/);
    await refused((c) => { (c as unknown as Record<string, unknown>).extra = 1; }, /unknown setting "extra"/);
    await refused((c) => { c.quant.overrides = { nope: { weightBits: 8 } }; }, /nope/);
    await refused((c) => { c.quant.reconstruction = 'block'; c.quant.rounding = 'nearest'; }, /nothing with rounding "nearest"/);
    await refused((c) => { c.quant.qdrop = true; }, /nothing with reconstruction "layer"/);
    await refused((c) => { c.quant.activationBitsAt = 'every-activation'; }, /activationBitsAt "every-activation" .* no activation below 8 bits/);
    await refused((c) => { c.quant.equalization = true; c.quant.activationBits = 32; }, /equalization .* nothing with float activations/);
    await refused((c) => { c.quant.floatActivationsBelowDb = 30; c.quant.activationBits = 4; }, /floatActivationsBelowDb judges 8-bit .* activationBits 4/);
    await refused((c) => { c.quant.floatActivationsBelowDb = -1; }, /floatActivationsBelowDb must be null .* 0\.\.60/);
    await refused((c) => { c.quant.blockLogitWeight = 1; }, /blockLogitWeight .* nothing with reconstruction "layer"/);
    await refused((c) => { c.quant.blockBiasLr = 0.001; }, /blockBiasLr .* nothing with reconstruction "layer"/);
    await refused((c) => { c.quant.blockWeightScaleLr = 0.001; }, /blockWeightScaleLr .* nothing with reconstruction "layer"/);
  });
});
