/** The single-file build (npm run build:single) opens from file://, imports the inlined sample and quantizes it. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildApp, launch, openTracked } from './harness.js';

let browser: Browser;
let out: string;

beforeAll(async () => {
  out = await buildApp('single', 'dist/e2e-single');
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
});

it('is one file that opens from file://, imports the sample model and quantizes it', async () => {
  expect(readdirSync(out)).toEqual(['index.html']);
  const t = await openTracked(browser);
  const file = pathToFileURL(join(out, 'index.html')).href;
  await t.page.goto(file);
  await t.page.getByTestId('privacy-note').waitFor({ timeout: 10_000 });
  await t.page.getByTestId('sample-model').click();
  await expect.poll(() => t.page.getByTestId('model-summary').textContent(), { timeout: 20_000 }).toContain('4 BatchNormalization');
  // The inlined wasm binaries start the wasm backend in the inlined worker (no files beside the page).
  await t.page.getByTestId('backend').selectOption('wasm');
  await t.page.getByTestId('images').fill('8');
  await t.page.getByTestId('steps').fill('10');
  await t.page.locator('details.advanced summary').click();
  await t.page.getByTestId('batch').fill('8');
  // W8A8 defaults to nearest rounding (pipeline/defaults.ts); this run exercises adaptive rounding
  await t.page.getByTestId('rounding').selectOption('adaptive');
  await t.page.getByTestId('adaround-iterations').fill('50');
  await t.page.getByTestId('quantize').click();
  await expect.poll(() => t.page.getByTestId('backend-badge').getAttribute('data-backend'), { timeout: 30_000 }).toBe('wasm');
  expect(await t.page.getByTestId('backend-badge').getAttribute('title')).toContain('SIMD');
  // ... and runs the whole pipeline from file:// (synthesis, per-layer rounding, export).
  await expect.poll(() => t.page.getByTestId('download-onnx').isEnabled(), { timeout: 120_000 }).toBe(true);
  expect(await t.page.locator('[data-testid="layer-row"]:not([data-status="done"])').count()).toBe(0);
  expect(await t.page.getByTestId('layer-row').count()).toBe(5);
  expect(t.errors).toEqual([]);
  // Nothing but the page itself, inlined data and blobs.
  expect(t.requests.filter((u) => u !== file && !u.startsWith('data:') && !u.startsWith('blob:'))).toEqual([]);
  await t.context.close();
});
