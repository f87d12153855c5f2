import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeOnnx } from '../exporters/onnx/onnxWriter.js';
import { importOnnx } from '../importers/onnx/importOnnx.js';
import { initBackend } from '../runtime/backends.js';
import { centerNetStyleDetector } from '../testing/detectorModels.js';
import { buildOnnxModel } from '../testing/onnxBuilder.js';
import { seeded } from '../testing/opCheck.js';
import { defaultPipelineConfig } from './defaults.js';
import { splitFloatTail, withFloatTail } from './floatTail.js';
import { quantizeGraph } from './quantizeGraph.js';
import { toQuantConfig } from './run.js';

beforeAll(async () => {
  await initBackend('wasm');
});

/**
 * Broad blobs on a textured ground (no flat region, like a photograph: a flat input makes equal cells in
 * float too): smooth heatmaps whose neighbouring cells differ by little.
 */
function images(n: number, seed: number): { images: Float32Array; shape: number[] } {
  const out = seeded(n * 3 * 32 * 32, seed + 1, -0.3, 0.3);
  const r = seeded(n * 9, seed, 0, 1);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) {
    const [cy, cx, a] = [r[i * 9 + c * 3] * 32, r[i * 9 + c * 3 + 1] * 32, r[i * 9 + c * 3 + 2] * 4 - 2];
    out[((i * 3 + c) * 32 + y) * 32 + x] += a * Math.exp(-((y - cy) ** 2 + (x - cx) ** 2) / 80);
  }
  return { images: out, shape: [n, 3, 32, 32] };
}

/** Peaks above 0.1 per image, as CenterNet's users count them (the graph zeroes every cell that is no peak). */
async function peakCounts(bytes: Uint8Array, set: { images: Float32Array; shape: number[] }): Promise<number[]> {
  const session = await ort.InferenceSession.create(bytes);
  const per = 3 * 32 * 32;
  const counts: number[] = [];
  for (let i = 0; i < set.shape[0]; i++) {
    const r = await session.run({ images: new ort.Tensor('float32', set.images.slice(i * per, (i + 1) * per), [1, 3, 32, 32]) });
    counts.push((r.peaks.data as Float32Array).filter((v) => v >= 0.1).length);
  }
  await session.release();
  return counts;
}

describe('detector outputs keep float (quant/outputChains.ts)', () => {
  it('CenterNet-style peak test: with a grid on the heatmap, ties become extra peaks; with the output chain float, the export finds the float peaks', async () => {
    const graph = importOnnx(buildOnnxModel(centerNetStyleDetector()));
    const { head, cut } = splitFloatTail(graph);
    const base = defaultPipelineConfig();
    const cfg = toQuantConfig({ ...base, quant: { ...base.quant, weightBits: 8, activationBits: 8, rounding: 'nearest' } }, head.nodes.map((n) => n.name));
    const cal = images(16, 7);
    const evalSet = images(24, 17);
    const float = await peakCounts(writeOnnx(graph), evalSet);
    const before = tf.memory().numTensors;
    const gridded = await quantizeGraph(head, cal, cfg, undefined, undefined, { floatOutputs: false });
    const kept = await quantizeGraph(head, cal, cfg, undefined, undefined, { floatOutputs: true });
    expect(tf.memory().numTensors).toBe(before);
    const withGrid = await peakCounts(writeOnnx(withFloatTail(gridded.qdq, cut)), evalSet);
    const withFloat = await peakCounts(writeOnnx(withFloatTail(kept.qdq, cut)), evalSet);
    const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
    // the defect this guards against: a grid on the heatmap (or on the logits before the sigmoid) makes
    // plateaus of equal cells, each a peak (measured: 997 float peaks, 2615 with the grids, 1003 without)
    expect(sum(withGrid)).toBeGreaterThan(2 * sum(float));
    expect(Math.abs(sum(withFloat) - sum(float))).toBeLessThanOrEqual(0.03 * sum(float));
    // what was kept float, and why, is reported; the backbone keeps its grids
    expect(kept.activationFallback.float.map((f) => f.value).sort()).toEqual(['heat', 'heat_logits', 'wh_logits']); // wh (a constant scale) never had a grid
    expect(kept.activationFallback.float.every((f) => /detector output/.test(f.reason))).toBe(true);
    expect(Object.keys(kept.plan.activations)).toContain('n');
    expect(kept.notes.some((n) => /detector's outputs kept float/.test(n))).toBe(true);
    expect(gridded.plan.activations.heat).toBeDefined();
  });
});
