import { describe, expect, it } from 'vitest';
import { ortNodeRuntime } from '../../../cli/lib/ortNodeRuntime.js';
import { buildOnnxModel } from '../testing/onnxBuilder.js';
import { compareModels } from './compareModels.js';

/** y = x W for a 4-class linear classifier; `swap` exchanges the scores of classes 0 and 1. */
function classifier(swap: boolean): Uint8Array {
  const w = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
  if (swap) [w[0], w[1], w[4], w[5]] = [0, 1, 1, 0];
  return buildOnnxModel({
    inputs: [{ name: 'x', shape: ['N', 4] }],
    outputs: [{ name: 'y', shape: ['N', 4] }],
    initializers: [{ name: 'W', dims: [4, 4], data: w }],
    nodes: [{ opType: 'MatMul', inputs: ['x', 'W'], outputs: ['y'] }],
  });
}

// 10 images, image i has its largest value at class i % 4.
const n = 10;
const images = new Float32Array(n * 4);
const labels: number[] = [];
for (let i = 0; i < n; i++) {
  images[i * 4 + (i % 4)] = 1;
  labels.push(i % 4);
}

describe('compareModels (in onnxruntime-node)', () => {
  const ort = ortNodeRuntime();

  it('finds every image where the quantized model picks another class, with per-class accuracy', async () => {
    const r = await compareModels(ort, classifier(false), classifier(true), { images, shape: [n, 4], labels, batch: 3 });
    const flipped = labels.map((l, i) => (l < 2 ? i : -1)).filter((i) => i >= 0);
    expect(r.disagreements.map((d) => d.index)).toEqual(flipped);
    expect(r.disagreements[0]).toEqual({ index: 0, floatClass: 0, quantClass: 1, label: 0 });
    expect(r.agreement).toBeCloseTo(1 - flipped.length / n);
    expect(r.floatTop1).toBe(1);
    expect(r.quantTop1).toBeCloseTo(1 - flipped.length / n);
    expect(r.perClass).toEqual([
      { label: 0, count: 3, floatTop1: 1, quantTop1: 0 },
      { label: 1, count: 3, floatTop1: 1, quantTop1: 0 },
      { label: 2, count: 2, floatTop1: 1, quantTop1: 1 },
      { label: 3, count: 2, floatTop1: 1, quantTop1: 1 },
    ]);
    expect(r.floatImagesPerSecond).toBeGreaterThan(0);
    expect(r.speedup).toBeCloseTo(r.quantImagesPerSecond / r.floatImagesPerSecond);
    expect(r.runtime).toMatch(/onnxruntime-node/);
  });

  it('agrees fully with itself and gives no accuracy without labels', async () => {
    const r = await compareModels(ort, classifier(false), classifier(false), { images, shape: [n, 4] });
    expect(r.agreement).toBe(1);
    expect(r.floatTop1).toBeUndefined();
    expect(r.disagreements).toEqual([]);
  });

  it('refuses labels that do not match the images, and a cancelled run', async () => {
    await expect(compareModels(ort, classifier(false), classifier(true), { images, shape: [n, 4], labels: [1] })).rejects.toMatchObject({ code: 'BAD_INPUT' });
    const ac = new AbortController();
    ac.abort();
    await expect(compareModels(ort, classifier(false), classifier(true), { images, shape: [n, 4], signal: ac.signal })).rejects.toMatchObject({ code: 'CANCELLED' });
  });
});

describe('compareModels speedOnly', () => {
  it('measures images/s without reading the outputs as classes', async () => {
    const r = await compareModels(ortNodeRuntime(), classifier(false), classifier(true), { images, shape: [n, 4], speedOnly: true });
    expect(r.agreement).toBeUndefined();
    expect(r.disagreements).toEqual([]);
    expect(r.floatImagesPerSecond).toBeGreaterThan(0);
    expect(r.quantImagesPerSecond).toBeGreaterThan(0);
  });
});
