/**
 * Browser test harness: builds the app once per test file, serves it with vite preview on a free
 * localhost port, drives system Chromium through playwright-core, and records every request so tests can
 * assert the page never talks to another origin.
 */
import { build, preview, type PreviewServer } from 'vite';
import { chromium, type Browser, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const screenshotsDir = join(repoRoot, 'docs/screenshots');

export const CHROMIUM_ARGS = [
  '--headless=new', '--no-sandbox', '--enable-unsafe-webgpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export function chromiumPath(): string {
  const p = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(p)) throw new Error(`Chromium not found at ${p}: apt-get install -y chromium, or set CHROMIUM_PATH`);
  return p;
}

/** `alias`: module replacements for test builds (e.g. a scripted pipeline host). */
export async function buildApp(mode: 'production' | 'single', outDir: string, alias?: { find: RegExp; replacement: string }[]): Promise<string> {
  const out = join(repoRoot, outDir);
  // vitest sets NODE_ENV=test, which would make vite build a development bundle (no service worker).
  const env = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({ root: repoRoot, mode, logLevel: 'error', build: { outDir: out, emptyOutDir: true }, ...(alias ? { resolve: { alias } } : {}) });
  } finally {
    process.env.NODE_ENV = env;
  }
  return out;
}

export async function serve(outDir: string): Promise<{ server: PreviewServer; url: string }> {
  const server = await preview({ root: repoRoot, logLevel: 'error', build: { outDir }, preview: { port: 0, host: '127.0.0.1', strictPort: false, open: false } });
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('vite preview did not report a URL');
  return { server, url };
}

export async function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS, headless: true });
}

/** For a test file: builds the production app into `outDir`, serves it and launches Chromium before its tests, closes both after. */
export function appUnderTest(outDir: string): { url: () => string; browser: () => Browser } {
  let browser: Browser | undefined;
  let server: PreviewServer | undefined;
  let url = '';
  beforeAll(async () => {
    ({ server, url } = await serve(await buildApp('production', outDir)));
    browser = await launch();
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });
  return { url: () => url, browser: () => browser! };
}

/** A page that records every request URL and every console error / uncaught exception. */
export interface TrackedPage {
  context: BrowserContext;
  page: Page;
  requests: string[];
  errors: string[];
}

export async function openTracked(browser: Browser, opts: { serviceWorkers?: 'allow' | 'block' } = {}): Promise<TrackedPage> {
  const context = await browser.newContext({ serviceWorkers: opts.serviceWorkers ?? 'block', acceptDownloads: true, viewport: { width: 1200, height: 900 } });
  const requests: string[] = [];
  const errors: string[] = [];
  context.on('request', (r) => requests.push(r.url()));
  const page = await context.newPage();
  page.on('console', (m: ConsoleMessage) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  return { context, page, requests, errors };
}

/** Requests that left the page's origin (data:/blob: stay on the device and are allowed). */
export function foreignRequests(requests: string[], origin: string): string[] {
  return requests.filter((u) => !u.startsWith('data:') && !u.startsWith('blob:') && new URL(u).origin !== origin);
}

export async function screenshotPanel(page: Page, headingId: string, file: string): Promise<void> {
  mkdirSync(screenshotsDir, { recursive: true });
  await page.locator(`section[aria-labelledby="${headingId}"]`).screenshot({ path: join(screenshotsDir, file) });
}
