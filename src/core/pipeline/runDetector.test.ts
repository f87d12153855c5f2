import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { isLocalQuantError } from '../errors.js';
import { initBackend } from '../runtime/backends.js';
import { yoloStyleDetector } from '../testing/detectorModels.js';
import { buildOnnxModel } from '../testing/onnxBuilder.js';
import { defaultPipelineConfig } from './defaults.js';
import { runPipeline } from './run.js';
import type { PipelineConfig, PipelineEvent } from './types.js';

const files = () => [{ name: 'yolo.onnx', bytes: buildOnnxModel(yoloStyleDetector()) }];

function config(extra: Partial<PipelineConfig> = {}): PipelineConfig {
  const cfg = defaultPipelineConfig();
  cfg.calibration = { source: 'synthetic', images: 8, steps: 3, batch: 8 };
  cfg.quant = { ...cfg.quant, weightBits: 8, rounding: 'nearest' };
  return { ...cfg, ...extra };
}

describe('runPipeline on a detector', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('quantizes the network, keeps the NMS float, reports the tail and measures box agreement', async () => {
    const events: PipelineEvent[] = [];
    const r = await runPipeline(files(), config(), (e) => events.push(e));
    expect(r.report.floatTail).toEqual(expect.objectContaining({ byUser: false, nodes: [{ name: 'nms', opType: 'NonMaxSuppression' }] }));
    expect(r.report.floatTail!.startsAt[0].reason).toMatch(/not differentiable/);
    expect(events.some((e) => e.type === 'log' && /Float tail: 1 node\(s\) stay float from nms/.test(e.message))).toBe(true);
    expect(r.report.agreementOn!.metric).toBe('boxes');
    expect(r.report.boxAgreement!.decoder).toMatch(/NonMaxSuppression/);
    expect(r.report.agreement).toBe(r.report.boxAgreement!.agreement);
    // the values the NMS reads keep float back to the head conv (quant/outputChains.ts), and the report says so
    const outputs = (r.report.floatActivations ?? []).filter((f) => /detector output/.test(f.reason)).map((f) => f.value);
    expect(outputs).toEqual(expect.arrayContaining(['h', 'box_raw']));
    expect(outputs).not.toContain('obj_raw');
    // synthetic calibration: the report says a detector wants its own kind of images
    expect(r.report.notes.join(' ')).toMatch(/This detector was calibrated on synthetic images.*images:DIR/);
    // nearest rounding on a detector: the report points to adaptive rounding
    expect(r.report.notes.join(' ')).toMatch(/rounded to nearest.*--rounding adaptive/);
    // below 90 % box agreement the report names the float-activation threshold, with the value applied
    const agreementNote = r.report.notes.some((n) => /A higher quant\.floatActivationsBelowDb \(now 20 dB/.test(n));
    expect(agreementNote).toBe(r.report.boxAgreement!.agreement < 0.9 && r.report.boxAgreement!.floatDetections > 0);
    // quantized layers are the network's only; the export keeps the original outputs and runs in ORT
    expect(r.report.layers.map((l) => l.name)).not.toContain('nms');
    const session = await ort.InferenceSession.create(r.onnx!);
    expect([...session.outputNames].sort()).toEqual(['boxes', 'scores', 'selected']);
    const out = await session.run({ images: new ort.Tensor('float32', new Float32Array(3 * 32 * 32).fill(0.5), [1, 3, 32, 32]) });
    expect(out.selected.dims[1]).toBe(3);
    expect(out.boxes.dims).toEqual([1, 256, 4]);
  });

  it('says so when the float model detects nothing on the calibration images (box agreement then says nothing)', async () => {
    const spec = yoloStyleDetector();
    spec.initializers = spec.initializers!.map((t) => (t.name === 'max_out' ? { ...t, data: [0] } : t));
    const r = await runPipeline([{ name: 'yolo0.onnx', bytes: buildOnnxModel(spec) }], config());
    expect(r.report.boxAgreement!.floatDetections).toBe(0);
    expect(r.report.notes.join(' ')).toMatch(/detected nothing above score 0\.2 on the 8 calibration images/);
  });

  it('calibrated on the user\'s own images: no advice to use them', async () => {
    // smooth gradients, so that the images are no constant
    const rgba = (k: number) => Uint8Array.from({ length: 32 * 32 * 4 }, (_, i) => (i % 4 === 3 ? 255 : (i * (k + 1)) % 256));
    const cfg = config();
    cfg.calibration = { source: 'user-images', images: 4, steps: 1, batch: 4, userImages: [0, 1, 2, 3].map((k) => ({ width: 32, height: 32, rgba: rgba(k) })) };
    const r = await runPipeline(files(), cfg);
    expect(r.report.calibration.method).not.toMatch(/bn-statistics|prior-only|noise/);
    expect(r.report.notes.join(' ')).not.toMatch(/This detector was calibrated on/);
  });

  it('adaptive rounding: no advice to use it', async () => {
    const cfg = config();
    cfg.quant = { ...cfg.quant, rounding: 'adaptive', adaroundIterations: 20 };
    const r = await runPipeline(files(), cfg);
    expect(r.report.notes.join(' ')).not.toMatch(/rounded to nearest/);
  });

  it('floatTail.until moves the cut (recorded as set by the user); an unknown node is refused; TF.js export says why it is skipped', async () => {
    const r = await runPipeline(files(), { ...config(), floatTail: { until: ['score_mul'] }, export: { onnx: true, tfjs: true } });
    expect(r.report.floatTail!.byUser).toBe(true);
    expect(r.report.floatTail!.nodes.map((n) => n.name)).toEqual(['score_mul', 'classes_first', 'nms']);
    expect(r.report.notes.join(' ')).toMatch(/TF\.js export skipped: .*float tail/);
    await expect(runPipeline(files(), { ...config(), floatTail: { until: ['nope'] } })).rejects.toThrow(/nope/);
    await expect(runPipeline(files(), { ...config(), floatTail: { until: [] } })).rejects.toThrow(/floatTail.until/);
  });

  it('a TF.js-only export of a detector is refused with UNSUPPORTED_OP and why (the TF.js export cannot carry the float tail)', async () => {
    const err = await runPipeline(files(), { ...config(), export: { onnx: false, tfjs: true } }).catch((e: unknown) => e);
    expect(isLocalQuantError(err) && err.code).toBe('UNSUPPORTED_OP');
    expect(String((err as Error).message)).toMatch(/TF\.js export does not carry a float tail .*nms/);
  });
});
