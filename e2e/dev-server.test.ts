/** The dev server (npm run dev) works under the page's CSP: no violations, the sample imports. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createServer, type ViteDevServer } from 'vite';
import type { Browser } from 'playwright-core';
import { foreignRequests, launch, openTracked, repoRoot } from './harness.js';

let server: ViteDevServer;
let browser: Browser;
let url: string;

beforeAll(async () => {
  // As `npm run dev` runs it (vitest's NODE_ENV=test would re-optimize deps and reload the page mid-test).
  process.env.NODE_ENV = 'development';
  server = await createServer({ root: repoRoot, logLevel: 'error', server: { port: 0, host: '127.0.0.1', open: false } });
  await server.listen();
  url = server.resolvedUrls!.local[0];
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

it('serves the app with HMR under the CSP and imports the sample', async () => {
  const t = await openTracked(browser);
  await t.page.goto(url);
  // On a cold dependency cache vite optimizes and reloads the page once; click again after such a reload.
  let imported = false;
  for (let attempt = 0; attempt < 3 && !imported; attempt++) {
    await t.page.getByTestId('sample-model').click();
    imported = await t.page.getByText('BatchNormalization', { exact: false }).first().waitFor({ timeout: 20_000 }).then(() => true, () => false);
  }
  expect(await t.page.getByTestId('model-summary').textContent()).toContain('4 BatchNormalization');
  const wasm = await t.page.evaluate(async () => (await fetch('./wasm/tfjs-backend-wasm-simd.wasm')).headers.get('content-type'));
  expect(wasm).toBe('application/wasm');
  expect(t.errors).toEqual([]);
  expect(foreignRequests(t.requests, new URL(url).origin)).toEqual([]);
  await t.context.close();
});
