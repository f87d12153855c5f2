import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { LocalQuantError } from '../errors.js';
import { importOnnx } from '../importers/onnx/importOnnx.js';
import { initBackend } from '../runtime/backends.js';
import { GraphExecutor } from '../runtime/executor.js';
import { defaultPipelineConfig } from './defaults.js';
import { runPipeline } from './run.js';
import type { PipelineEvent } from './types.js';

const samplePath = join(__dirname, '../../../public/sample/digits-cnn.onnx');

function smallConfig() {
  const cfg = defaultPipelineConfig();
  cfg.normalization = { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], pixelRange: 255 };
  cfg.calibration = { source: 'synthetic', images: 8, steps: 4, batch: 8 };
  cfg.quant = { ...cfg.quant, weightBits: 4, activationBits: 8, rounding: 'adaptive', adaroundIterations: 400 };
  return cfg;
}

describe('runPipeline on the sample digits model', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('synthesizes, quantizes layer by layer and exports a QDQ model that runs in onnxruntime-node', async () => {
    const bytes = new Uint8Array(readFileSync(samplePath));
    const events: PipelineEvent[] = [];
    const before = tf.memory().numTensors;
    const r = await runPipeline([{ name: 'digits-cnn.onnx', bytes }], smallConfig(), (e) => events.push(e));
    expect(tf.memory().numTensors).toBe(before);

    // events: layer list first, every layer reaches done, synthesis steps reported
    const layersEv = events.find((e) => e.type === 'layers');
    expect(layersEv && layersEv.type === 'layers' ? layersEv.layers.length : 0).toBe(5);
    const done = new Set(events.filter((e) => e.type === 'layer' && e.status === 'done').map((e) => (e as { name: string }).name));
    expect(done.size).toBe(5);
    expect(events.some((e) => e.type === 'synth-step')).toBe(true);

    // report: adaptive rounding flips weights and lowers the layer output error of the 4-bit layers
    // (not implied by construction: an optimizer that did nothing would report equal errors); first/last 8 bit
    expect(r.report.layers).toHaveLength(5);
    const fourBit = r.report.layers.filter((l) => l.weightBits === 4);
    expect(fourBit.length).toBe(3);
    for (const l of fourBit) {
      expect(l.rounding).toBe('adaptive');
      expect(l.flippedFraction!).toBeGreaterThan(0);
      expect(l.adaptiveError!).toBeLessThan(l.nearestError!); // the layer keeps nearest's codes unless adaptive is better
    }
    // the first/last layers' 8-bit weights, as applied for target ort-cpu: a 7-bit range (quant/config.ts portableWeightBits)
    expect(r.report.layers[0].weightBits).toBe(7);
    expect(r.report.layers[4].weightBits).toBe(7);
    expect(r.report.notes.join(' ')).toMatch(/2 layer\(s\) with 8-bit weights read 8-bit activations and use a 7-bit weight range/);
    expect(r.report.layers[1].weightBits).toBe(4);
    expect(r.sizeAfter).toBeLessThan(0.3 * r.sizeBefore);

    // the export runs in ORT with the original interface and agrees with our executor's run of the same QDQ graph
    const session = await ort.InferenceSession.create(r.onnx!);
    expect(session.inputNames).toEqual(['input']);
    expect(session.outputNames).toEqual(['logits']);
    const x = new Float32Array(4 * 3 * 32 * 32).map((_, i) => Math.sin(i * 0.37));
    const out = await session.run({ input: new ort.Tensor('float32', x, [4, 3, 32, 32]) });
    const ortLogits = out.logits.data as Float32Array;
    expect(out.logits.dims).toEqual([4, 10]);
    const exec = new GraphExecutor(importOnnx(r.onnx!));
    const res = exec.execute({ input: tf.tensor4d(x, [4, 3, 32, 32]) });
    const ours = (await res.outputs.get('logits')!.data()) as Float32Array;
    tf.dispose([...res.outputs.values()]);
    exec.dispose();
    const scale = Math.max(...Array.from(ortLogits, Math.abs));
    const maxDiff = Math.max(...Array.from(ours, (v, i) => Math.abs(v - ortLogits[i])));
    expect(maxDiff / scale).toBeLessThan(0.05);
  });

  it('refuses a bad config with a clear error', async () => {
    const bytes = new Uint8Array(readFileSync(samplePath));
    const cfg = smallConfig();
    cfg.quant = { ...cfg.quant, activationBits: 5 as 8 };
    await expect(runPipeline([{ name: 'digits-cnn.onnx', bytes }], cfg)).rejects.toThrow(/activationBits must be one of 4, 8, 32/);
    const cfg2 = smallConfig();
    cfg2.quant = { ...cfg2.quant, overrides: { 'no-such-layer': { weightBits: 8 } } };
    await expect(runPipeline([{ name: 'digits-cnn.onnx', bytes }], cfg2)).rejects.toBeInstanceOf(LocalQuantError);
  });

  it('stops when cancelled', async () => {
    const bytes = new Uint8Array(readFileSync(samplePath));
    const ac = new AbortController();
    ac.abort();
    await expect(runPipeline([{ name: 'digits-cnn.onnx', bytes }], smallConfig(), () => {}, ac.signal)).rejects.toMatchObject({ code: 'CANCELLED' });
  });

  // Each stage, including the middle of adaptive rounding (whose optimizer throws the signal's DOMException)
  // and the evaluation: the run rejects with CANCELLED, starts no further stage and finishes no further layer.
  const cancelPoints: { name: string; source?: 'noise'; iterations?: number; at: (e: PipelineEvent) => boolean }[] = [
    { name: 'import', at: (e) => e.type === 'stage' && e.stage === 'import' && e.status === 'start' },
    { name: 'synthesis', at: (e) => e.type === 'synth-step' && e.step === 1 },
    { name: 'calibration (noise)', source: 'noise', at: (e) => e.type === 'stage' && e.stage === 'calibration' && e.status === 'start' },
    // Progress comes every 50 iterations: 400 make sure the first report is mid-layer.
    { name: 'adaptive rounding, mid-layer', iterations: 400, at: (e) => e.type === 'layer' && e.status === 'running' && (e.iteration ?? 0) > 0 },
    { name: 'export', at: (e) => e.type === 'stage' && e.stage === 'export' && e.status === 'start' },
    { name: 'evaluation', at: (e) => e.type === 'stage' && e.stage === 'evaluation' && e.status === 'start' },
  ];
  for (const point of cancelPoints) {
    it(`cancels with CANCELLED during ${point.name}`, async () => {
      const bytes = new Uint8Array(readFileSync(samplePath));
      const cfg = smallConfig();
      if (point.source) cfg.calibration.source = point.source;
      if (point.iterations) cfg.quant.adaroundIterations = point.iterations;
      const ac = new AbortController();
      const after: PipelineEvent[] = [];
      let abortedAt = 0;
      const onEvent = (e: PipelineEvent) => {
        if (ac.signal.aborted) after.push(e);
        else if (point.at(e)) {
          abortedAt = performance.now();
          ac.abort();
        }
      };
      const before = tf.memory().numTensors;
      await expect(runPipeline([{ name: 'digits-cnn.onnx', bytes }], cfg, onEvent, ac.signal)).rejects.toMatchObject({ code: 'CANCELLED' });
      expect(abortedAt).toBeGreaterThan(0);
      console.log(`cancel during ${point.name}: rejected ${(performance.now() - abortedAt).toFixed(0)} ms after the abort`);
      expect(after.filter((e) => e.type === 'stage' && e.status === 'start')).toEqual([]);
      expect(after.filter((e) => e.type === 'layer' && e.status === 'done')).toEqual([]);
      // Tensors held by a cancelled stage are freed too.
      expect(tf.memory().numTensors).toBeLessThanOrEqual(before);
    });
  }
});
