import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { UsageError } from '../lib/usage.js';
import { run } from './quantize.js';

const tmp = mkdtempSync(join(tmpdir(), 'lq-size-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const sample = join(__dirname, '../../public/sample/digits-cnn.onnx');
const quick = ['--images', '8', '--calibration', 'noise', '--rounding', 'nearest', '--mean', '0.5,0.5,0.5', '--std', '0.5,0.5,0.5', '--quiet'];

describe('localquant quantize --size-kb / --size-budget', () => {
  it('--size-kb writes a file within the budget, target smallest, bits per layer in the report', async () => {
    const path = join(tmp, 'kb.onnx');
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      expect(await run([sample, '-o', path, '--size-kb', '16', ...quick])).toBe(0);
    } finally {
      log.mockRestore();
    }
    const bytes = readFileSync(path).byteLength;
    const report = JSON.parse(readFileSync(path.replace(/\.onnx$/, '.report.json'), 'utf8'));
    expect(bytes).toBeLessThanOrEqual(16_000);
    expect(report.mixedPrecision.budget).toEqual({ bytes: 16_000, bytesAllowed: 16_000 });
    expect(report.mixedPrecision.predictedBytes).toBe(bytes);
    expect(report.config.sizeBudget).toEqual({ bytes: 16_000 });
    expect(report.config.quant.target).toBe('smallest');
    // 16 KB of a 119 KB float file (13 %) needs some layer below 8 bit; first/last are free without the flag
    expect(report.layers.some((l: { weightBits: number }) => l.weightBits < 8)).toBe(true);
    for (const l of report.mixedPrecision.layers) expect(report.layers.find((x: { name: string }) => x.name === l.name).weightBits).toBe(l.bits);
  }, 120_000);

  it('refuses both budgets at once, a budget with --wbits or a TF.js-only export, and bad numbers', async () => {
    const o = ['-o', join(tmp, 'x.onnx')];
    await expect(run([sample, ...o, '--size-budget', '0.1', '--size-kb', '10'])).rejects.toThrow(/not both/);
    await expect(run([sample, ...o, '--size-budget', '0.1', '--wbits', '4'])).rejects.toThrow(/one or the other/);
    await expect(run([sample, '-o', join(tmp, 'tf'), '--format', 'tfjs', '--size-kb', '10'])).rejects.toThrow(/does nothing with --format tfjs/);
    await expect(run([sample, ...o, '--size-budget', '10'])).rejects.toThrow(UsageError);
    await expect(run([sample, ...o, '--size-kb', '-3'])).rejects.toThrow(UsageError);
  });
});
