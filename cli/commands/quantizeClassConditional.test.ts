/** `--class-conditional` / `--class-weight` of quantize and synth: applied and recorded, or refused. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { run as quantize } from './quantize.js';
import { run as synth } from './synth.js';

const tmp = mkdtempSync(join(tmpdir(), 'lq-cc-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const sample = join(__dirname, '../../public/sample/digits-cnn.onnx');
const quick = ['--images', '4', '--steps', '3', '--batch', '4', '--rounding', 'nearest', '--mean', '0.5,0.5,0.5', '--std', '0.5,0.5,0.5', '--quiet'];

describe('class-conditional synthesis from the CLI', () => {
  it('quantize records the weight given and each image\'s target class', async () => {
    const out = join(tmp, 'm.onnx');
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      expect(await quantize([sample, '-o', out, ...quick, '--class-conditional', '--class-weight', '0.5'])).toBe(0);
      expect(log.mock.calls.some(([line]) => /class-conditional synthesis: 10 classes round robin, weight 0.5/.test(String(line)))).toBe(true);
    } finally {
      log.mockRestore();
    }
    const report = JSON.parse(readFileSync(join(tmp, 'm.report.json'), 'utf8'));
    expect(report.config.calibration.classConditional).toEqual({ weight: 0.5 });
    expect(report.calibration.classConditional).toMatchObject({ weight: 0.5, classes: 10, targets: [0, 1, 2, 3] });
  });

  it('synth writes the targets to synth.json with the default weight', async () => {
    const out = join(tmp, 's');
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      expect(await synth([sample, '-o', out, '--images', '3', '--steps', '2', '--mean', '0.5,0.5,0.5', '--std', '0.5,0.5,0.5', '--quiet', '--class-conditional'])).toBe(0);
    } finally {
      log.mockRestore();
    }
    const summary = JSON.parse(readFileSync(join(out, 'synth.json'), 'utf8'));
    expect(summary.classConditional).toMatchObject({ weight: 0.1, classes: 10, targets: [0, 1, 2] });
    expect(summary.options.classWeight).toBe(0.1);
  });

  it('refuses a weight without the flag, a bad weight, and sources that synthesize nothing', async () => {
    const out = join(tmp, 'x.onnx');
    await expect(quantize([sample, '-o', out, ...quick, '--class-weight', '0.5'])).rejects.toThrow(/give both/);
    await expect(quantize([sample, '-o', out, ...quick, '--class-conditional', '--class-weight', '0'])).rejects.toThrow(/--class-weight must be/);
    await expect(quantize([sample, '-o', out, '--calibration', 'noise', '--class-conditional'])).rejects.toThrow(/nothing with --calibration noise/);
    await expect(synth([sample, '-o', join(tmp, 'n'), '--method', 'noise', '--class-conditional'])).rejects.toThrow(/nothing with --method noise/);
  });
});
