/**
 * The page's handling of a run, driven by a scripted pipeline (e2e/scriptedPipelineHost.ts) in place of
 * the real one: live previews, layer rows, results and downloads, cancel and a second run.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { PreviewServer } from 'vite';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildApp, launch, openTracked, repoRoot, screenshotPanel, serve } from './harness.js';

let browser: Browser;
let server: PreviewServer;
let url: string;

beforeAll(async () => {
  const out = await buildApp('production', 'dist/e2e-scripted', [
    { find: /^\.\/pipelineHost(\.js)?$/, replacement: join(repoRoot, 'e2e/scriptedPipelineHost.ts') },
  ]);
  ({ server, url } = await serve(out));
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});


/** A tracked page with the sample model loaded and the cpu backend chosen, ready to quantize. */
async function openWithSample() {
  const t = await openTracked(browser);
  await t.page.goto(url);
  await t.page.getByTestId('sample-model').click();
  await expect.poll(() => t.page.getByTestId('quantize').isEnabled(), { timeout: 20_000 }).toBe(true);
  await t.page.getByTestId('backend').selectOption('cpu');
  return t;
}

it('shows previews, layer progress and results; downloads the ONNX; cancels and runs again', async () => {
  const t = await openWithSample();
  await t.page.getByTestId('quantize').click();

  const firstImg = t.page.getByTestId('synthetic-preview').locator('img').first();
  const firstSrc = await firstImg.getAttribute('src', { timeout: 20_000 });
  await expect.poll(() => firstImg.getAttribute('src'), { timeout: 20_000 }).not.toBe(firstSrc);
  await expect.poll(() => t.page.getByTestId('download-onnx').isEnabled(), { timeout: 20_000 }).toBe(true);
  expect(await t.page.getByTestId('layer-row').count()).toBe(5);
  expect(await t.page.locator('[data-testid="layer-row"][data-status="done"]').count()).toBe(5);
  expect(await t.page.getByTestId('agreement').textContent()).toBe('99.0%');
  expect(await t.page.getByTestId('loss-curve').count()).toBe(1);
  expect(await t.page.locator('svg.sqnr rect').count()).toBe(5);
  expect(await t.page.getByTestId('backend-badge').getAttribute('data-backend')).toBe('cpu');
  // Layout with scripted (not real) numbers and images; the full-run test saves the real ones.
  await screenshotPanel(t.page, 'preview-h', 'preview-panel-scripted.png');
  await screenshotPanel(t.page, 'layers-h', 'layers-panel-scripted.png');
  await screenshotPanel(t.page, 'results-h', 'results-panel-scripted.png');

  const [download] = await Promise.all([t.page.waitForEvent('download'), t.page.getByTestId('download-onnx').click()]);
  expect(readFileSync((await download.path())!)).toEqual(readFileSync(join(repoRoot, 'public/sample/digits-cnn.onnx')));
  const [report] = await Promise.all([t.page.waitForEvent('download'), t.page.getByTestId('download-report').click()]);
  expect(JSON.parse(readFileSync((await report.path())!, 'utf8')).layers).toHaveLength(5);

  // Cancel mid-run: the worker is replaced, the page is ready, a new run completes.
  await t.page.getByTestId('quantize').click();
  await expect.poll(() => t.page.getByTestId('cancel').isEnabled()).toBe(true);
  await t.page.getByTestId('cancel').click();
  await expect.poll(() => t.page.getByTestId('quantize').isEnabled()).toBe(true);
  expect(await t.page.getByTestId('download-onnx').isEnabled()).toBe(false);
  expect(await t.page.getByTestId('error-message').textContent()).toBe('');
  await t.page.getByTestId('quantize').click();
  await expect.poll(() => t.page.getByTestId('download-onnx').isEnabled(), { timeout: 20_000 }).toBe(true);
  expect(t.errors).toEqual([]);
  await t.context.close();
});

it('shows an uncaught worker error and works again afterwards', async () => {
  const t = await openWithSample();
  await t.page.getByTestId('seed').fill('13');
  await t.page.getByTestId('quantize').click();
  await expect.poll(() => t.page.getByTestId('error-message').textContent(), { timeout: 20_000 }).toContain('scripted crash');
  expect(await t.page.getByTestId('error-message').textContent()).toContain('WORKER_CRASHED');
  await expect.poll(() => t.page.getByTestId('quantize').isEnabled()).toBe(true);
  await t.page.getByTestId('seed').fill('1');
  await t.page.getByTestId('quantize').click();
  await expect.poll(() => t.page.getByTestId('download-onnx').isEnabled(), { timeout: 20_000 }).toBe(true);
  await t.context.close();
});

it('passes where 4-bit activations apply to the run; 8-bit activations reset and disable it', async () => {
  const t = await openWithSample();
  await t.page.locator('details.advanced > summary').click();
  expect(await t.page.getByTestId('activation-bits-at').isDisabled()).toBe(true);
  await t.page.getByTestId('abits').selectOption('4');
  expect(await t.page.getByTestId('activation-bits-at').inputValue()).toBe('layer-inputs');
  await t.page.getByTestId('activation-bits-at').selectOption('every-activation');
  await t.page.getByTestId('quantize').click();
  await expect.poll(() => t.page.getByTestId('download-onnx').isEnabled(), { timeout: 20_000 }).toBe(true);
  const [report] = await Promise.all([t.page.waitForEvent('download'), t.page.getByTestId('download-report').click()]);
  expect(JSON.parse(readFileSync((await report.path())!, 'utf8')).config.quant).toMatchObject({ activationBits: 4, activationBitsAt: 'every-activation' });
  await t.page.getByTestId('abits').selectOption('8');
  expect(await t.page.getByTestId('activation-bits-at').inputValue()).toBe('layer-inputs');
  expect(await t.page.getByTestId('activation-bits-at').isDisabled()).toBe(true);
  await t.context.close();
});

it('passes the advanced grid settings (equalization, float-activation threshold) to the run; switching to float activations clears them', async () => {
  const t = await openWithSample();
  await t.page.locator('details.advanced > summary').click();
  expect(await t.page.getByTestId('float-below-db').inputValue()).toBe('20');
  await t.page.getByTestId('equalization').check();
  await t.page.getByTestId('float-below-db').fill('30');
  await t.page.getByTestId('quantize').click();
  await expect.poll(() => t.page.getByTestId('download-onnx').isEnabled(), { timeout: 20_000 }).toBe(true);
  const [report] = await Promise.all([t.page.waitForEvent('download'), t.page.getByTestId('download-report').click()]);
  const quant = JSON.parse(readFileSync((await report.path())!, 'utf8')).config.quant;
  expect(quant).toMatchObject({ equalization: true, floatActivationsBelowDb: 30 });
  await t.page.getByTestId('abits').selectOption('32');
  expect(await t.page.getByTestId('equalization').isChecked()).toBe(false);
  expect(await t.page.getByTestId('equalization').isDisabled()).toBe(true);
  expect(await t.page.getByTestId('float-below-db').isDisabled()).toBe(true);
  await t.context.close();
});
