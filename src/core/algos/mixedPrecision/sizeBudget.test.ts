/** Size budget on the sample digits model: sensitivities, predicted vs written size, infeasible budgets. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { isLocalQuantError } from '../../errors.js';
import { importOnnx } from '../../importers/onnx/importOnnx.js';
import { foldBatchNorm } from '../../ir/passes/foldBatchNorm.js';
import { defaultPipelineConfig } from '../../pipeline/defaults.js';
import { runPipeline } from '../../pipeline/run.js';
import { quantizableLayers } from '../../quant/quantPoints.js';
import { initBackend } from '../../runtime/backends.js';
import { layerSensitivity } from './layerSensitivity.js';

const sample = new Uint8Array(readFileSync(join(__dirname, '../../../../public/sample/digits-cnn.onnx')));

/** Two digits of each class from the `mnist` package the sample was trained on (held-out end), NCHW, normalized as it was. */
function digits(): { images: Float32Array; shape: number[] } {
  const mnist = createRequire(import.meta.url)('mnist') as Record<number, { length: number; get(i: number): number[] }>;
  const images = new Float32Array(20 * 3 * 32 * 32).fill(-1);
  for (let d = 0; d < 10; d++)
    for (let k = 0; k < 2; k++) {
      const px = mnist[d].get(mnist[d].length - 1 - k);
      for (let c = 0; c < 3; c++) for (let r = 0; r < 28; r++) for (let col = 0; col < 28; col++) images[(((2 * d + k) * 3 + c) * 32 + r + 2) * 32 + col + 2] = 2 * px[r * 28 + col] - 1;
    }
  return { images, shape: [20, 3, 32, 32] };
}

function budgetConfig(fraction: number, target: 'smallest' | 'ort-cpu' = 'smallest') {
  const cfg = defaultPipelineConfig();
  cfg.normalization = { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], pixelRange: 255 };
  cfg.calibration = { source: 'noise', images: 16, steps: 1, batch: 16 };
  cfg.quant = { ...cfg.quant, rounding: 'nearest', target, keepFirstLast8bit: false };
  cfg.sizeBudget = { fraction };
  return cfg;
}

describe('size budget (mixed precision)', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('layer sensitivity on the sample model falls with more bits and leaks no tensor', async () => {
    const { graph: folded } = foldBatchNorm(importOnnx(sample));
    const layers = quantizableLayers(folded).map((layer) => ({ layer, bits: [2, 3, 4, 8] }));
    const before = tf.memory().numTensors;
    const s = await layerSensitivity(folded, layers, digits(), { perChannel: true });
    expect(tf.memory().numTensors).toBe(before);
    expect(s.metric).toBe('kl');
    expect(s.images).toBe(20);
    expect(s.values.size).toBe(5);
    for (const [name, v] of s.values) {
      const [b2, b3, b4, b8] = [2, 3, 4, 8].map((b) => v.get(b)!);
      expect(b2, name).toBeGreaterThan(b4);
      expect(b3, name).toBeGreaterThan(b8);
      expect(b4, name).toBeGreaterThan(b8);
      expect(b8, name).toBeLessThan(0.05 * b2);
    }
  }, 60_000);

  it('meets the budget: the written file matches the predicted size; bits, frontier and overrides are reported', async () => {
    const before = tf.memory().numTensors;
    const r = await runPipeline([{ name: 'digits-cnn.onnx', bytes: sample }], budgetConfig(0.12));
    expect(tf.memory().numTensors).toBe(before);
    const m = r.report.mixedPrecision!;
    expect(m.budget).toEqual({ fraction: 0.12, bytesAllowed: Math.floor(0.12 * sample.byteLength) });
    expect(r.sizeAfter).toBeLessThanOrEqual(m.budget.bytesAllowed);
    // the chosen bits' size was measured on a placeholder export with the same structure
    expect(r.sizeAfter).toBe(m.predictedBytes);
    // 12 % is below uniform int4 (about 1/8 of float plus overheads): some layers must go below 4 bit
    expect(m.layers.some((l) => l.bits < 4)).toBe(true);
    for (const l of m.layers) {
      expect(r.report.layers.find((x) => x.name === l.name)!.weightBits).toBe(l.bits);
      expect(r.report.config.quant.overrides[l.name].weightBits).toBe(l.bits);
    }
    expect(m.predictedSensitivity).toBeCloseTo(m.layers.reduce((a, l) => a + l.sensitivity, 0), 10);
    // the frontier is a frontier: size up, predicted error down, and the choice is on it
    for (let i = 1; i < m.frontier.length; i++) {
      expect(m.frontier[i].bytes).toBeGreaterThan(m.frontier[i - 1].bytes);
      expect(m.frontier[i].sensitivity).toBeLessThan(m.frontier[i - 1].sensitivity);
    }
    expect(m.frontier[0].bytes).toBeLessThanOrEqual(m.predictedBytes);
    // the frontier's sizes are sums of per-layer and shared costs: within a few varint bytes of the measured size
    const point = m.frontier.find((p) => p.bits.every((b, i) => b === m.layers[i].bits));
    if (point) expect(Math.abs(point.bytes - m.predictedBytes)).toBeLessThan(8 * m.layers.length + 16);
  }, 120_000);

  it('an unreachable budget is BAD_CONFIG naming the smallest size, before any sensitivity is measured', async () => {
    for (const [fraction, target, want] of [[0.02, 'smallest', /smallest this model can be written is \d+ bytes/], [0.15, 'ort-cpu', /target "smallest" packs them/]] as const) {
      try {
        await runPipeline([{ name: 'digits-cnn.onnx', bytes: sample }], budgetConfig(fraction, target));
        expect.unreachable();
      } catch (e) {
        expect(isLocalQuantError(e) && e.code).toBe('BAD_CONFIG');
        expect(`${(e as Error).message} ${(e as { hint?: string }).hint}`).toMatch(want);
      }
    }
  }, 60_000);
});
