import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { argmaxRows, cifar10Batch, parseCifar10 } from '../../src/core/data/cifar10.js';
import { CIFAR_MEAN, CIFAR_STD, cifarFixture } from '../../src/core/testing/fixtures.js';
import { writeCifarPngFolder } from '../lib/cifarPngFolder.js';
import { createOrtSession, runOrt } from '../lib/ort.js';
import { UsageError } from '../lib/usage.js';
import { run } from './eval.js';

async function jsonOf(argv: string[]): Promise<Record<string, unknown>> {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  expect(await run(argv)).toBe(0);
  const out = log.mock.calls.map((c) => c.join(' ')).join('\n');
  log.mockRestore();
  return JSON.parse(out);
}

afterEach(() => vi.restoreAllMocks());

describe('localquant eval', () => {
  const model = cifarFixture('resnet20_bn.onnx');
  const data = cifarFixture('test_batch.bin');

  it('gives the same top-1 with onnxruntime-node and the tfjs executor on the first 300 records', async () => {
    const ortRes = await jsonOf([model, '--cifar10', data, '--limit', '300', '--json', '--batch', '128']);
    const tfjsRes = await jsonOf([model, '--cifar10', data, '--limit', '300', '--json', '--runtime', 'tfjs', '--batch', '128']);
    expect(ortRes).toMatchObject({ count: 300, runtime: 'ort' });
    expect(tfjsRes).toMatchObject({ count: 300, runtime: 'tfjs' });
    expect(String(tfjsRes.backend)).toMatch(/^wasm/);
    expect(Math.abs((ortRes.correct as number) - (tfjsRes.correct as number))).toBeLessThanOrEqual(1);
    expect(ortRes.top1).toBe(Math.round(((ortRes.correct as number) / 300) * 1e4) / 100);
    expect(ortRes.top1 as number).toBeGreaterThan(85);
  });

  it('rejects bad usage', async () => {
    await expect(run([model])).rejects.toBeInstanceOf(UsageError);
    await expect(run([model, '--cifar10', data, '--runtime', 'pytorch'])).rejects.toBeInstanceOf(UsageError);
    await expect(run([model, '--cifar10', data, '--mean', '1,2'])).rejects.toBeInstanceOf(UsageError);
    await expect(run([model, '--cifar10', data, '--limit', '0'])).rejects.toBeInstanceOf(UsageError);
  });

  it('names a missing CIFAR-10 file', async () => {
    await expect(run([model, '--cifar10', '/nonexistent/test_batch.bin'])).rejects.toMatchObject({ code: 'MISSING_FILE' });
  });
});

describe('localquant eval --images', () => {
  const model = cifarFixture('resnet20_bn.onnx');
  const data = cifarFixture('test_batch.bin');

  it('scores a folder of PNGs in class folders exactly as the same CIFAR-10 records', async () => {
    const bytes = new Uint8Array(readFileSync(data));
    const set = parseCifar10(bytes);
    const records = Array.from({ length: 60 }, (_, i) => i * 166);
    const dir = mkdtempSync(join(tmpdir(), 'lq-eval-'));
    try {
      writeCifarPngFolder(bytes, records, dir);
      const res = await jsonOf([model, '--images', dir, '--json']);
      const ref = cifar10Batch(set, records, CIFAR_MEAN, CIFAR_STD);
      const session = await createOrtSession(model);
      const out = (await runOrt(session, { [session.inputNames[0]]: { data: ref.images, dims: ref.dims } }))[session.outputNames[0]];
      await session.release();
      const pred = argmaxRows(out.data, records.length, 10);
      const correct = records.filter((_, i) => pred[i] === ref.labels[i]).length;
      expect(res).toMatchObject({ count: 60, correct, runtime: 'ort' });
      expect(new Set(ref.labels).size).toBeGreaterThan(5);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses unlabelled images and mixed sources', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lq-eval-'));
    try {
      writeCifarPngFolder(new Uint8Array(readFileSync(data)), [0, 5000], dir);
      await expect(run([model, '--images', dir, '--cifar10', data])).rejects.toBeInstanceOf(UsageError);
      await expect(run([model, '--images', join(dir, 'airplane')])).rejects.toMatchObject({ code: 'BAD_INPUT' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
