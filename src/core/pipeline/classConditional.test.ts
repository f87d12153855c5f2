/**
 * Class-conditional synthesis through the pipeline: applied and recorded for a classifier (the sample
 * digits model), refused for a detector, for sources that synthesize nothing, for supplied images and
 * for a bad weight.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../runtime/backends.js';
import { yoloStyleDetector } from '../testing/detectorModels.js';
import { buildOnnxModel } from '../testing/onnxBuilder.js';
import { defaultPipelineConfig } from './defaults.js';
import { runPipeline } from './run.js';
import type { PipelineConfig, PipelineEvent } from './types.js';

const sample = { name: 'digits-cnn.onnx', bytes: new Uint8Array(readFileSync(join(__dirname, '../../../public/sample/digits-cnn.onnx'))) };

function config(classConditional?: { weight: number }): PipelineConfig {
  const cfg = defaultPipelineConfig();
  cfg.normalization = { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], pixelRange: 255 };
  cfg.calibration = { source: 'synthetic', images: 12, steps: 8, batch: 12, ...(classConditional ? { classConditional } : {}) };
  cfg.quant = { ...cfg.quant, weightBits: 8, rounding: 'nearest' };
  return cfg;
}

describe('class-conditional synthesis in the pipeline', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('is applied and recorded: the targets, the weight, the class loss; previews name each image\'s class', async () => {
    const events: PipelineEvent[] = [];
    const plain = await runPipeline([sample], config());
    const cc = await runPipeline([sample], config({ weight: 1 }), (e) => events.push(e));
    expect(plain.report.calibration.classConditional).toBeUndefined();
    expect(cc.report.config.calibration.classConditional).toEqual({ weight: 1 });
    const rec = cc.report.calibration.classConditional!;
    expect(rec).toMatchObject({ weight: 1, classes: 10, targets: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1] });
    // 8 steps take the cross-entropy of the random start (about 50: confident, wrong logits) below 60 %
    expect(rec.endClassLoss).toBeLessThan(rec.startClassLoss * 0.6);
    expect(Number.isInteger(rec.targetHitRate * 12)).toBe(true);
    // the class term changed the images, hence the activation ranges and the export
    expect(cc.onnx!.length === plain.onnx!.length && cc.onnx!.every((v, i) => v === plain.onnx![i])).toBe(false);
    const preview = events.find((e) => e.type === 'synth-preview');
    expect(preview && preview.type === 'synth-preview' && preview.classes?.map((c) => c.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(events.some((e) => e.type === 'synth-step' && typeof e.classLoss === 'number')).toBe(true);
  });

  it('is refused for a detector, for noise and own images, for supplied images and for a bad weight', async () => {
    const refused = (p: Promise<unknown>, message: RegExp) => expect(p).rejects.toMatchObject({ code: 'BAD_CONFIG', message: expect.stringMatching(message) });
    const detector = { ...config({ weight: 0.1 }), quant: { ...config().quant, weightBits: 8 as const } };
    await refused(runPipeline([{ name: 'yolo.onnx', bytes: buildOnnxModel(yoloStyleDetector()) }], detector), /detector/);
    const noise = config({ weight: 0.1 });
    noise.calibration.source = 'noise';
    await refused(runPipeline([sample], noise), /source is "noise"/);
    const own = config({ weight: 0.1 });
    own.calibration = { ...own.calibration, source: 'user-images', userImages: [{ width: 2, height: 2, rgba: new Uint8Array(16) }] };
    await refused(runPipeline([sample], own), /source is "user-images"/);
    await refused(runPipeline([sample], config({ weight: 0 })), /classConditional.weight/);
    await refused(runPipeline([sample], config({ weight: 0.1, classes: 3 } as { weight: number })), /unknown setting "calibration.classConditional.classes"/);
    const supplied = { images: new Float32Array(2 * 3 * 32 * 32), shape: [2, 3, 32, 32], method: 'test' };
    await refused(runPipeline([sample], config({ weight: 0.1 }), () => {}, undefined, { calibration: supplied }), /supplied/);
  });
});
