/**
 * A detector end to end in the browser: the YOLO-style test detector (Conv + BatchNorm backbone, Resize +
 * Concat neck, Reshape/Transpose/Split head with Sigmoid scores, NonMaxSuppression at the end) is quantized
 * W8A8 in the app. The results say where the float tail begins and give box agreement (not top-1); the
 * downloaded ONNX runs in onnxruntime-node with the float model's output names and keeps its NMS float.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { yoloStyleDetector } from '../src/core/testing/detectorModels.js';
import { buildOnnxModel } from '../src/core/testing/onnxBuilder.js';
import { appUnderTest, foreignRequests, openTracked } from './harness.js';

const app = appUnderTest('dist/e2e-detector');

describe('a detector in the browser', () => {
  it('quantizes the YOLO-style detector; the results show the float tail and box agreement; the export keeps the NMS float', async () => {
    const model = buildOnnxModel(yoloStyleDetector());
    const t = await openTracked(app.browser());
    await t.page.goto(app.url());
    await t.page.getByTestId('model-input').setInputFiles({ name: 'yolo.onnx', mimeType: 'application/octet-stream', buffer: Buffer.from(model) });
    await expect.poll(() => t.page.getByTestId('quantize').isEnabled(), { timeout: 30_000 }).toBe(true);
    await t.page.getByTestId('backend').selectOption('wasm');
    await t.page.getByTestId('wbits').selectOption('8');
    await t.page.getByTestId('abits').selectOption('8');
    await t.page.getByTestId('images').fill('8');
    await t.page.getByTestId('steps').fill('20');
    await t.page.getByTestId('quantize').click();
    await expect.poll(() => t.page.getByTestId('download-onnx').isEnabled(), { timeout: 400_000 }).toBe(true);

    // where the tail begins (the NMS node) and that agreement is box agreement
    expect(await t.page.getByTestId('float-tail').textContent()).toMatch(/nms \(NonMaxSuppression\)/);
    expect(await t.page.locator('#results-h ~ dl dt').allTextContents()).toEqual(expect.arrayContaining([expect.stringMatching(/^Box agreement/)]));
    expect(await t.page.getByTestId('agreement').textContent()).toMatch(/^\d+(\.\d)?%$/);
    // the model view greys the tail's node
    expect(await t.page.locator('[data-testid="graph-node"][data-tail="true"]').count()).toBeGreaterThanOrEqual(1);

    const [download] = await Promise.all([t.page.waitForEvent('download'), t.page.getByTestId('download-onnx').click()]);
    const quant = await ort.InferenceSession.create(readFileSync((await download.path())!));
    const float = await ort.InferenceSession.create(model);
    expect([...quant.outputNames].sort()).toEqual([...float.outputNames].sort());
    const x = new ort.Tensor('float32', Float32Array.from({ length: 3 * 32 * 32 }, (_, i) => Math.sin(i * 0.37)), [1, 3, 32, 32]);
    const [q, f] = [await quant.run({ [quant.inputNames[0]]: x }), await float.run({ [float.inputNames[0]]: x })];
    // the selection is an NMS output ([M, 3] indices): int64 in both, so the NMS ran float on float boxes
    expect(q.selected.type).toBe('int64');
    expect(q.selected.dims[1]).toBe(f.selected.dims[1]);
    expect(foreignRequests(t.requests, new URL(app.url()).origin)).toEqual([]);
    expect(t.errors).toEqual([]);
    await t.context.close();
  }, 600_000);
});
