import { afterEach, describe, expect, it, vi } from 'vitest';
import { cifarFixture } from '../../src/core/testing/fixtures.js';
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
