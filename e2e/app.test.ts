/**
 * The built app in Chromium: opens cleanly, imports models, reports bad files without breaking, works
 * offline after one visit, and never requests anything from another origin.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { PreviewServer } from 'vite';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { encodePng } from '../cli/lib/png.js';
import { cifarFixture } from '../src/core/testing/fixtures.js';
import { buildApp, foreignRequests, launch, openTracked, screenshotPanel, screenshotsDir, serve } from './harness.js';
import { unsupportedOpModel } from './models.js';

let browser: Browser;
let server: PreviewServer;
let url: string;
let origin: string;

beforeAll(async () => {
  const out = await buildApp('production', 'dist/e2e-app');
  ({ server, url } = await serve(out));
  origin = new URL(url).origin;
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('LocalQuant app', () => {
  it('opens with no console errors, states the privacy promise, and stays on its origin', async () => {
    const t = await openTracked(browser);
    await t.page.goto(url);
    await expect.poll(() => t.page.getByTestId('privacy-note').textContent()).toContain('Runs entirely on this device');
    await t.page.getByTestId('sample-model').waitFor();
    await t.page.waitForTimeout(300);
    expect(t.errors).toEqual([]);
    expect(t.requests.length).toBeGreaterThan(0);
    expect(foreignRequests(t.requests, origin)).toEqual([]);
    const csp = await t.page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
    expect(csp).toContain("default-src 'self'");
    expect(csp).not.toMatch(/https?:/);
    await t.page.screenshot({ path: join(screenshotsDir, 'page-empty.png'), fullPage: true });
    // Empty states (the full-run test replaces these with populated panels once the pipeline exists).
    await screenshotPanel(t.page, 'preview-h', 'preview-panel-empty.png');
    await screenshotPanel(t.page, 'layers-h', 'layers-panel-empty.png');
    await screenshotPanel(t.page, 'results-h', 'results-panel-empty.png');
    await t.context.close();
  });

  it('blocks requests to other hosts by its Content-Security-Policy', async () => {
    const t = await openTracked(browser);
    const answered: string[] = [];
    t.page.on('response', (r) => answered.push(r.url()));
    await t.page.goto(url);
    const outcome = await t.page.evaluate(async () => {
      const violations: string[] = [];
      document.addEventListener('securitypolicyviolation', (e) => violations.push(e.violatedDirective));
      const fetched = await fetch('https://example.com/collect').then(() => 'fetched', () => 'blocked');
      const img = new Image();
      await new Promise((r) => { img.onerror = r; img.onload = r; img.src = 'https://example.com/pixel.png'; });
      await new Promise((r) => setTimeout(r, 100));
      return { fetched, violations };
    });
    expect(outcome.fetched).toBe('blocked');
    expect(outcome.violations).toEqual(expect.arrayContaining(['connect-src', 'img-src']));
    // The browser may announce the blocked request, but nothing answers it.
    expect(answered.filter((u) => u.includes('example.com'))).toEqual([]);
    await t.context.close();
  });

  it('is operable from the keyboard: Tab to the sample button, Enter imports it', async () => {
    const t = await openTracked(browser);
    await t.page.goto(url);
    let focused = '';
    for (let i = 0; i < 10 && focused !== 'sample-model'; i++) {
      await t.page.keyboard.press('Tab');
      focused = await t.page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? '');
    }
    expect(focused).toBe('sample-model');
    await t.page.keyboard.press('Enter');
    await expect.poll(() => t.page.getByTestId('model-summary').textContent(), { timeout: 20_000 }).toContain('4 BatchNormalization');
    await t.context.close();
  });

  it('imports ResNet-20 and shows 19 BatchNormalization in the summary', async () => {
    const t = await openTracked(browser);
    await t.page.goto(url);
    await t.page.getByTestId('model-input').setInputFiles(cifarFixture('resnet20_bn.onnx'));
    const summary = t.page.getByTestId('model-summary');
    await expect.poll(() => summary.textContent(), { timeout: 20_000 }).toContain('19 BatchNormalization');
    expect(await summary.textContent()).toMatch(/269,722/);
    await expect.poll(() => t.page.getByTestId('quantize').isEnabled()).toBe(true);
    await screenshotPanel(t.page, 'import-h', 'import-panel.png');
    await screenshotPanel(t.page, 'settings-h', 'settings-panel.png');
    expect(t.errors).toEqual([]);
    expect(foreignRequests(t.requests, origin)).toEqual([]);
    await t.context.close();
  });

  it('shows an error for a truncated and for an unsupported model, and keeps working', async () => {
    const t = await openTracked(browser);
    await t.page.goto(url);
    const full = readFileSync(cifarFixture('resnet20_bn.onnx'));
    const error = t.page.getByTestId('error-message');

    await t.page.getByTestId('model-input').setInputFiles({ name: 'truncated.onnx', mimeType: 'application/octet-stream', buffer: full.subarray(0, 50_000) });
    await expect.poll(() => error.textContent(), { timeout: 20_000 }).toMatch(/\S/);
    const truncatedText = await error.textContent();
    expect(truncatedText).toMatch(/trunc|incomplete|cut|end/i);
    await error.screenshot({ path: join(screenshotsDir, 'error-truncated.png') });

    await t.page.getByTestId('model-input').setInputFiles({ name: 'weird.onnx', mimeType: 'application/octet-stream', buffer: Buffer.from(unsupportedOpModel()) });
    await expect.poll(() => error.textContent(), { timeout: 20_000 }).toContain('LSTM');

    await t.page.getByTestId('sample-model').click();
    await expect.poll(() => t.page.getByTestId('model-summary').textContent(), { timeout: 20_000 }).toContain('4 BatchNormalization');
    expect(await error.textContent()).toBe('');
    await t.page.screenshot({ path: join(screenshotsDir, 'page-sample-imported.png'), fullPage: true });
    expect(foreignRequests(t.requests, origin)).toEqual([]);
    await t.context.close();
  });

  it('quantizes the sample on wasm with a folder of own images and raw-pixel normalization; says what agreement was measured on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lq-own-'));
    for (let i = 0; i < 3; i++) {
      const rgba = new Uint8Array(40 * 36 * 4);
      for (let p = 0; p < 40 * 36; p++) rgba.set(Math.abs((p % 40) - 20 - 4 * i) < 4 ? [250, 250, 250, 255] : [8, 8, 8, 255], p * 4);
      writeFileSync(join(dir, `digit${i}.png`), encodePng({ width: 40, height: 36, rgba }));
    }
    const t = await openTracked(browser);
    await t.page.goto(url);
    await t.page.getByTestId('sample-model').click();
    await expect.poll(() => t.page.getByTestId('quantize').isEnabled(), { timeout: 20_000 }).toBe(true);
    await t.page.getByTestId('backend').selectOption('wasm');
    await t.page.getByTestId('rounding').selectOption('nearest');
    await t.page.getByTestId('calibration-source').selectOption('user-images');
    expect(await t.page.getByTestId('steps').isDisabled()).toBe(true);
    await t.page.getByTestId('own-images').setInputFiles(dir);
    await expect.poll(() => t.page.getByTestId('own-images-status').textContent(), { timeout: 20_000 }).toContain(`3 images from folder ${basename(dir)}`);
    // Mean/std in raw-pixel units with range 1 are the sample's own normalization, rewritten.
    await t.page.getByTestId('norm-range').selectOption('1');
    await t.page.getByTestId('norm-mean').fill('127.5, 127.5, 127.5');
    await t.page.getByTestId('norm-std').fill('127.5, 127.5, 127.5');
    await t.page.getByTestId('norm-std').blur();
    await t.page.getByTestId('quantize').click();
    await expect.poll(() => t.page.getByTestId('download-onnx').isEnabled(), { timeout: 120_000 }).toBe(true);
    expect(await t.page.getByTestId('agreement-basis').textContent()).toMatch(/on 3 of your own calibration images, both models run by LocalQuant executor \(tfjs wasm\); not an accuracy/);
    expect(await t.page.getByTestId('applied-calibration').textContent()).toBe(`3 of your own images from folder ${basename(dir)}`);
    // The preview shows the own images as the model sees them (cropped and resized).
    expect(await t.page.getByTestId('synthetic-preview').locator('img').count()).toBe(3);
    const [report] = await Promise.all([t.page.waitForEvent('download'), t.page.getByTestId('download-report').click()]);
    const r = JSON.parse(readFileSync((await report.path())!, 'utf8'));
    expect(r.calibration).toMatchObject({ method: 'user-images', images: 3, from: `folder ${basename(dir)}` });
    expect(r.config.calibration.source).toBe('user-images');
    expect(r.config.normalization).toEqual({ mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5], pixelRange: 1 });
    expect(r.config.backend).toBe('wasm');
    // The wasm backend started from the files this origin serves.
    expect(t.requests.some((u) => /\/wasm\/tfjs-backend-wasm[\w-]*\.wasm$/.test(u))).toBe(true);
    expect(foreignRequests(t.requests, origin)).toEqual([]);
    expect(t.errors).toEqual([]);
    await t.context.close();
    rmSync(dir, { recursive: true, force: true });
  }, 180_000);

  it('works offline after one visit (service worker precache)', async () => {
    const t = await openTracked(browser, { serviceWorkers: 'allow' });
    await t.page.goto(url);
    // The worker claims the page once it has precached everything.
    await t.page.waitForFunction(() => !!navigator.serviceWorker.controller, undefined, { timeout: 30_000 });
    await t.context.setOffline(true);
    await t.page.reload();
    await t.page.getByTestId('privacy-note').waitFor({ timeout: 10_000 });
    await t.page.getByTestId('sample-model').click();
    await expect.poll(() => t.page.getByTestId('model-summary').textContent(), { timeout: 20_000 }).toContain('BatchNormalization');
    const wasmCached = await t.page.evaluate(async () => !!(await caches.match('./wasm/tfjs-backend-wasm-simd.wasm', { ignoreSearch: true })));
    expect(wasmCached).toBe(true);
    expect(foreignRequests(t.requests, origin)).toEqual([]);
    await t.context.close();
  });
});
