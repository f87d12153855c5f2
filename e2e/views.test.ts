/**
 * The views a user inspects a run with (issue 15), on the sample model and on ResNet-20: stage timeline,
 * BatchNorm statistics and the calibration gallery, the model graph with per-layer details, the export
 * verified in onnxruntime-web, the self-contained HTML report, and evaluation on a folder of own images,
 * which must score exactly as `localquant eval --images` does on the same files; and a MobileNet exported
 * for onnxruntime-web (depthwise inputs float) verified there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { PreviewServer } from 'vite';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evalImageFolder } from '../cli/commands/eval.js';
import { writeCifarPngFolder } from '../cli/lib/cifarPngFolder.js';
import { encodePng } from '../cli/lib/png.js';
import { writeDigitFolders } from './digits.js';
import { cifarFixture } from '../src/core/testing/fixtures.js';
import { buildApp, foreignRequests, launch, openTracked, repoRoot, screenshotPanel, serve, type TrackedPage } from './harness.js';

let browser: Browser;
let server: PreviewServer;
let url: string;

async function quickRun(page: Page, opts: { images: number; steps: number; rounding: 'nearest' | 'adaptive' }): Promise<void> {
  await page.getByTestId('backend').selectOption('wasm');
  await page.getByTestId('images').fill(String(opts.images));
  await page.getByTestId('steps').fill(String(opts.steps));
  await page.getByTestId('rounding').selectOption(opts.rounding);
  await page.locator('details.advanced summary').click();
  await page.getByTestId('batch').fill(String(Math.min(16, opts.images)));
  if (opts.rounding === 'adaptive') await page.getByTestId('adaround-iterations').fill('50');
  await page.getByTestId('quantize').click();
  await expect.poll(() => page.getByTestId('download-onnx').isEnabled(), { timeout: 400_000 }).toBe(true);
}

async function checkViews(t: TrackedPage, opts: { bnLayers: number; minNodes: number; shots?: string }): Promise<void> {
  const { page } = t;
  // Timeline: every stage done, verification included.
  const stages = page.getByTestId('timeline-stage');
  await expect.poll(() => page.locator('[data-testid="timeline-stage"][data-stage="verification"]').getAttribute('data-status'), { timeout: 60_000 }).toBe('done');
  expect(await page.locator('[data-testid="timeline-stage"]:not([data-status="done"])').count()).toBe(0);
  expect((await stages.allTextContents()).join(' ')).toMatch(/synthesis.*rounding.*export.*evaluation.*verification/s);

  // BN statistics: one entry per BatchNorm, a chart per layer.
  expect(await page.getByTestId('bn-layer-select').locator('option').count()).toBe(opts.bnLayers);
  await page.getByTestId('bn-layer-select').selectOption({ index: opts.bnLayers - 1 });
  expect(await page.getByTestId('bn-stats').locator('svg circle').count()).toBeGreaterThan(3);

  // Gallery: every calibration image is there (virtualized: only visible rows are drawn); zoom works.
  expect(await page.getByTestId('gallery').textContent()).toMatch(/\d+ images, \d+×\d+/);
  await page.getByTestId('gallery-item').first().click();
  await page.getByTestId('gallery-zoom').waitFor();
  await page.getByTestId('gallery-zoom').getByRole('button', { name: 'Close' }).click();

  // Model view: the graph, a node's details with its weight histogram before/after rounding.
  const nodes = page.getByTestId('graph-node');
  expect(await nodes.count()).toBeGreaterThanOrEqual(opts.minNodes);
  await page.locator('[data-testid="graph-node"][aria-label^="Conv"]').first().click();
  const details = page.getByTestId('node-details');
  // 8-bit weights as applied for the default target ort-cpu: a 7-bit range (quant/config.ts portableWeightBits)
  expect(await details.textContent()).toMatch(/Bits \(weights\/activations\)\s*7\/8/);
  expect(await details.locator('svg.histogram rect').count()).toBeGreaterThan(10);
  await page.getByTestId('color-by-sqnr').check();

  // The export verified in onnxruntime-web (the runtime users ship), against the float model.
  expect(await page.getByTestId('verification-runtime').textContent()).toMatch(/onnxruntime-web .*wasm, 1 thread.*calibration images/);
  expect(await page.getByTestId('verification-agreement').textContent()).toMatch(/^\d+\.\d%$/);
  expect(await page.getByTestId('verification-speed').textContent()).toMatch(/float [\d,.]+ images\/s, quantized [\d,.]+ images\/s \(×\d+\.\d\d\)/);

  // The HTML report is one file that references nothing outside itself.
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-html-report').click()]);
  const html = readFileSync((await dl.path())!, 'utf8');
  const refs = [...html.matchAll(/\b(?:src|href)\s*=\s*"([^"]*)"/g)].map((m) => m[1]);
  expect(refs.length).toBeGreaterThan(0);
  expect(refs.every((r) => r.startsWith('data:image/png;base64,'))).toBe(true);
  expect(html).toContain('Per-layer SQNR in dB');

  if (opts.shots) {
    for (const [id, file] of [['progress-h', 'timeline'], ['inspect-h', 'inspector'], ['model-h', 'model-view'], ['results-h', 'results-verified']]) {
      await screenshotPanel(page, id, `${opts.shots}-${file}.png`);
    }
  }
}

describe('views in the browser', () => {
  beforeAll(async () => {
    const out = await buildApp('production', 'dist/e2e-views');
    ({ server, url } = await serve(out));
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('sample model: timeline, BN statistics, gallery, model view, verification, HTML report', async () => {
    const t = await openTracked(browser);
    await t.page.goto(url);
    await t.page.getByTestId('sample-model').click();
    await expect.poll(() => t.page.getByTestId('quantize').isEnabled(), { timeout: 20_000 }).toBe(true);
    await quickRun(t.page, { images: 16, steps: 20, rounding: 'adaptive' });
    await checkViews(t, { bnLayers: 4, minNodes: 8, shots: 'sample' });
    // Own images: held-out digits in folders named by the digit (whole-number folder names are class indices).
    const dir = mkdtempSync(join(tmpdir(), 'lq-digits-'));
    try {
      writeDigitFolders(join(dir, 'digits'), 5, encodePng);
      await t.page.getByTestId('evaluate-folder').setInputFiles(join(dir, 'digits'));
      await expect.poll(() => t.page.getByTestId('eval-quant-top1').textContent(), { timeout: 120_000 }).toMatch(/%$/);
      expect(Number.parseFloat((await t.page.getByTestId('eval-float-top1').textContent())!)).toBeGreaterThanOrEqual(80);
      expect(await t.page.getByTestId('per-class').locator('tbody tr').count()).toBe(10);
      await screenshotPanel(t.page, 'evaluate-h', 'sample-evaluate.png');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(foreignRequests(t.requests, new URL(url).origin)).toEqual([]);
    expect(t.errors).toEqual([]);
    await t.context.close();
  }, 600_000);

  it('sample model under a size budget: bits per layer and the size/error frontier, file within the budget', async () => {
    const t = await openTracked(browser);
    await t.page.goto(url);
    await t.page.getByTestId('sample-model').click();
    await expect.poll(() => t.page.getByTestId('quantize').isEnabled(), { timeout: 20_000 }).toBe(true);
    await t.page.getByTestId('size-budget').fill('20');
    expect(await t.page.getByTestId('target').inputValue()).toBe('smallest');
    expect(await t.page.getByTestId('wbits').isDisabled()).toBe(true);
    await quickRun(t.page, { images: 16, steps: 10, rounding: 'adaptive' });
    await t.page.getByTestId('size-budget-result').waitFor();
    const bits = (await t.page.getByTestId('budget-bits').textContent())!.trim().split(' ').map(Number);
    expect(bits.length).toBeGreaterThan(1);
    expect(bits.every((b) => [2, 3, 4, 8].includes(b))).toBe(true);
    expect(await t.page.getByTestId('frontier-chosen').count()).toBe(1);
    const [dl] = await Promise.all([t.page.waitForEvent('download'), t.page.getByTestId('download-report').click()]);
    const report = JSON.parse(readFileSync((await dl.path())!, 'utf8'));
    expect(report.sizes.quantizedBytes).toBeLessThanOrEqual(report.mixedPrecision.budget.bytesAllowed);
    expect(report.config.sizeBudget).toEqual({ fraction: 0.2 });
    await screenshotPanel(t.page, 'results-h', 'sample-size-budget.png');
    expect(t.errors).toEqual([]);
    await t.context.close();
  }, 600_000);

  it('MobileNetV2-CIFAR for onnxruntime-web: depthwise inputs float, and that export verified in onnxruntime-web', async () => {
    const t = await openTracked(browser);
    try {
      await t.page.goto(url);
      await t.page.getByTestId('model-input').setInputFiles(join(repoRoot, 'models/mobilenetv2-cifar/mobilenetv2_cifar_w0.5_bn.onnx'));
      await expect.poll(() => t.page.getByTestId('quantize').isEnabled(), { timeout: 30_000 }).toBe(true);
      await t.page.getByTestId('target').selectOption('ort-web');
      await quickRun(t.page, { images: 16, steps: 5, rounding: 'nearest' });
      await expect.poll(() => t.page.locator('[data-testid="timeline-stage"][data-stage="verification"]').getAttribute('data-status'), { timeout: 120_000 }).toBe('done');
      // verification never fails a run: a form onnxruntime-web could not load would show as skipped, without these
      expect(await t.page.getByTestId('verification-runtime').textContent()).toMatch(/onnxruntime-web .*wasm/);
      const agreement = Number.parseFloat((await t.page.getByTestId('verification-agreement').textContent())!);
      expect(agreement).toBeGreaterThanOrEqual(75);
      const [dl] = await Promise.all([t.page.waitForEvent('download'), t.page.getByTestId('download-report').click()]);
      const report = JSON.parse(readFileSync((await dl.path())!, 'utf8'));
      const depthwise = report.layers.filter((l: { name: string }) => /\.dw$/.test(l.name));
      expect(report.config.quant.target).toBe('ort-web');
      expect(depthwise.length).toBeGreaterThan(0);
      expect(depthwise.every((l: { activationBits: number; weightBits: number }) => l.activationBits === 32 && l.weightBits === 8)).toBe(true);
      expect(report.layers.some((l: { activationBits: number }) => l.activationBits === 8)).toBe(true);
      // the per-layer table shows the bits applied, as the report does
      expect(await t.page.locator('[data-testid="layer-row"]', { hasText: 'blocks.1.dw' }).locator('td').nth(1).textContent()).toBe('8/32');
      console.log(`[views] MobileNetV2-CIFAR ort-web: ${depthwise.length} depthwise layers with float inputs, agreement in onnxruntime-web ${agreement} %`);
      expect(foreignRequests(t.requests, new URL(url).origin)).toEqual([]);
      expect(t.errors).toEqual([]);
    } finally {
      await t.context.close();
    }
  }, 600_000);

  it('ResNet-20: the same views, and 1,000 own CIFAR-10 PNGs score as localquant eval --images does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lq-views-'));
    const t = await openTracked(browser);
    try {
      const bytes = new Uint8Array(readFileSync(cifarFixture('test_batch.bin')));
      writeCifarPngFolder(bytes, Array.from({ length: 1000 }, (_, i) => i * 10), join(dir, 'cifar'));
      await t.page.goto(url);
      await t.page.getByTestId('model-input').setInputFiles(cifarFixture('resnet20_bn.onnx'));
      await expect.poll(() => t.page.getByTestId('quantize').isEnabled(), { timeout: 30_000 }).toBe(true);
      await t.page.getByTestId('wbits').selectOption('8');
      // target ort-cpu says that 8-bit weights get a 7-bit range; ort-cpu-vnni keeps the full range
      await expect.poll(() => t.page.getByTestId('weight-range-hint').isVisible()).toBe(true);
      await t.page.getByTestId('target').selectOption('ort-cpu-vnni');
      expect(await t.page.getByTestId('weight-range-hint').count()).toBe(0);
      await t.page.getByTestId('target').selectOption('ort-cpu');
      await quickRun(t.page, { images: 32, steps: 10, rounding: 'nearest' });
      await checkViews(t, { bnLayers: 19, minNodes: 40, shots: 'resnet20' });

      await t.page.getByTestId('evaluate-folder').setInputFiles(join(dir, 'cifar'));
      await expect.poll(() => t.page.getByTestId('eval-quant-top1').textContent(), { timeout: 300_000 }).toMatch(/%$/);
      const pageFloat = await t.page.getByTestId('eval-float-top1').textContent();
      const pageQuant = await t.page.getByTestId('eval-quant-top1').textContent();
      expect(await t.page.getByTestId('per-class').locator('tbody tr').count()).toBe(10);
      await screenshotPanel(t.page, 'evaluate-h', 'resnet20-evaluate.png');

      // The same folder through the CLI: float model and the downloaded export, in onnxruntime-node.
      const [dl] = await Promise.all([t.page.waitForEvent('download'), t.page.getByTestId('download-onnx').click()]);
      const quantPath = join(dir, 'model.quant.onnx');
      writeFileSync(quantPath, readFileSync((await dl.path())!));
      const norm = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], pixelRange: 255 };
      const cliFloat = await evalImageFolder(cifarFixture('resnet20_bn.onnx'), join(dir, 'cifar'), undefined, norm, 250);
      const cliQuant = await evalImageFolder(quantPath, join(dir, 'cifar'), undefined, norm, 250);
      console.log(`[views] 1000 CIFAR-10 PNGs: page float ${pageFloat}, quantized ${pageQuant}; CLI float ${cliFloat.top1}%, quantized ${cliQuant.top1}%`);
      expect(cliFloat.count).toBe(1000);
      expect(pageFloat).toBe(`${cliFloat.top1.toFixed(2)} %`);
      expect(pageQuant).toBe(`${cliQuant.top1.toFixed(2)} %`);
      expect(foreignRequests(t.requests, new URL(url).origin)).toEqual([]);
      expect(t.errors).toEqual([]);
    } finally {
      await t.context.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 900_000);
});
