/**
 * The whole pipeline in the browser on the sample model: live previews, every layer done, an ONNX
 * download that runs in onnxruntime-node and agrees with the float model; cancel, then run again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { PreviewServer } from 'vite';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { buildApp, foreignRequests, launch, openTracked, repoRoot, screenshotPanel, serve } from './harness.js';
import { heldOutDigits } from './digits.js';

let browser: Browser;
let server: PreviewServer;
let url: string;

async function top1(model: Uint8Array, x: Float32Array, n: number): Promise<number[]> {
  const s = await ort.InferenceSession.create(model);
  const out = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', x, [n, 3, 32, 32]) });
  const logits = out[s.outputNames[0]].data as Float32Array;
  return Array.from({ length: n }, (_, i) => {
    let best = 0;
    for (let k = 1; k < 10; k++) if (logits[i * 10 + k] > logits[i * 10 + best]) best = k;
    return best;
  });
}

async function smallSettings(page: Page): Promise<void> {
  await page.getByTestId('sample-model').click();
  await expect.poll(() => page.getByTestId('quantize').isEnabled(), { timeout: 20_000 }).toBe(true);
  await page.getByTestId('backend').selectOption('webgpu');
  await page.getByTestId('images').fill('8');
  await page.getByTestId('steps').fill('40');
  await page.locator('details.advanced summary').click();
  await page.getByTestId('batch').fill('8');
  // W8A8 defaults to nearest rounding (pipeline/defaults.ts); this run exercises adaptive rounding
  await page.getByTestId('rounding').selectOption('adaptive');
  await page.getByTestId('adaround-iterations').fill('50');
}

describe('full run in the browser', () => {
  beforeAll(async () => {
    const out = await buildApp('production', 'dist/e2e-full');
    ({ server, url } = await serve(out));
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('quantizes the sample model; the downloaded ONNX agrees with the float model', async () => {
    const t = await openTracked(browser);
    await t.page.goto(url);
    await smallSettings(t.page);
    await t.page.getByTestId('quantize').click();

    // Preview images appear and change while synthesis runs.
    const firstSrc = await t.page.getByTestId('synthetic-preview').locator('img').first().getAttribute('src', { timeout: 120_000 });
    await expect.poll(() => t.page.getByTestId('synthetic-preview').locator('img').first().getAttribute('src'), { timeout: 120_000 }).not.toBe(firstSrc);
    await screenshotPanel(t.page, 'preview-h', 'preview-panel.png');

    await expect.poll(() => t.page.getByTestId('download-onnx').isEnabled(), { timeout: 400_000 }).toBe(true);
    const rows = t.page.getByTestId('layer-row');
    expect(await rows.count()).toBeGreaterThan(0);
    expect(await t.page.locator('[data-testid="layer-row"]:not([data-status="done"])').count()).toBe(0);
    expect(await t.page.getByTestId('backend-badge').textContent()).toContain('webgpu');
    await screenshotPanel(t.page, 'layers-h', 'layers-panel.png');
    await screenshotPanel(t.page, 'results-h', 'results-panel.png');

    const [download] = await Promise.all([t.page.waitForEvent('download'), t.page.getByTestId('download-onnx').click()]);
    const quantBytes = readFileSync((await download.path())!);
    const { x, n } = heldOutDigits(10);
    const floatPred = await top1(readFileSync(join(repoRoot, 'public/sample/digits-cnn.onnx')), x, n);
    const quantPred = await top1(quantBytes, x, n);
    const agree = floatPred.filter((p, i) => p === quantPred[i]).length / n;
    expect(agree).toBeGreaterThanOrEqual(0.9);
    expect(foreignRequests(t.requests, new URL(url).origin)).toEqual([]);
    // A new user's run from click to download leaves no console errors.
    expect(t.errors).toEqual([]);
    await t.context.close();
  }, 600_000);

  it('cancels mid-run and runs again', async () => {
    const t = await openTracked(browser);
    await t.page.goto(url);
    await smallSettings(t.page);
    await t.page.getByTestId('quantize').click();
    await t.page.getByTestId('synthetic-preview').locator('img').first().waitFor({ timeout: 120_000 });
    await t.page.getByTestId('cancel').click();
    await expect.poll(() => t.page.getByTestId('quantize').isEnabled()).toBe(true);
    expect(await t.page.getByTestId('error-message').textContent()).toBe('');
    await t.page.getByTestId('quantize').click();
    await expect.poll(() => t.page.getByTestId('download-onnx').isEnabled(), { timeout: 400_000 }).toBe(true);
    await t.context.close();
  }, 600_000);
});
