import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { cifarFixture } from '../../src/core/testing/fixtures.js';
import { countOps } from '../lib/ortKernels.js';
import { UsageError } from '../lib/usage.js';
import { run } from './quantize.js';

const tmp = mkdtempSync(join(tmpdir(), 'lq-target-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const sample = join(__dirname, '../../public/sample/digits-cnn.onnx');
const quick = ['--images', '8', '--rounding', 'nearest', '--wbits', '4', '--mean', '0.5,0.5,0.5', '--std', '0.5,0.5,0.5', '--quiet'];

async function logged(argv: string[]): Promise<string[]> {
  const lines: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  try {
    expect(await run(argv)).toBe(0);
  } finally {
    log.mockRestore();
  }
  return lines;
}

describe('localquant quantize --target', () => {
  it('ort-cpu keeps 4-bit codes in int8 for integer kernels, smallest packs int4; both say so and ORT checks the export', async () => {
    const out: Record<string, { bytes: number; ops: Record<string, number>; report: { config: { quant: { target?: string } }; notes: string[] }; lines: string[] }> = {};
    for (const target of ['ort-cpu', 'smallest']) {
      const path = join(tmp, `${target}.onnx`);
      // real images for ort-cpu (agreement measured in ORT), noise for smallest (agreement not measurable)
      const calibration = target === 'ort-cpu' ? `cifar10:${cifarFixture('test_batch.bin')}` : 'noise';
      const lines = await logged([sample, '-o', path, '--target', target, '--calibration', calibration, ...quick]);
      const bytes = readFileSync(path);
      out[target] = { bytes: bytes.byteLength, ops: countOps(new Uint8Array(bytes)), report: JSON.parse(readFileSync(path.replace(/\.onnx$/, '.report.json'), 'utf8')), lines };
    }
    expect(out.smallest.bytes).toBeLessThan(out['ort-cpu'].bytes);
    expect(out['ort-cpu'].report.config.quant.target).toBe('ort-cpu');
    expect(out.smallest.report.config.quant.target).toBe('smallest');
    expect(out['ort-cpu'].report.notes.join(' ')).toMatch(/int8 codes so that they run as 8-bit integer kernels/);
    expect(out.smallest.report.notes.join(' ')).toMatch(/gain is size only/);
    // ort-cpu writes the Gemm as MatMul (QLinearMatMul in ORT); smallest keeps the Gemm
    expect(out['ort-cpu'].ops.Gemm ?? 0).toBe(0);
    expect(out.smallest.ops.Gemm).toBeGreaterThan(0);
    expect(out.smallest.lines.join('\n')).toMatch(/onnxruntime-node: agreement not measured \(calibration images were not real ones.*images\/s float at 1 thread .* integer kernels/);
    expect(out['ort-cpu'].lines.join('\n')).toMatch(/onnxruntime-node: top-1 agreement with float \d+\.\d% on 8 calibration images; \d+ vs \d+ images\/s float at 1 thread/);
    expect(out['ort-cpu'].lines.join('\n')).toMatch(/, 0 float Conv\/Gemm\/MatMul after ORT's optimizer/);
  }, 120_000);

  it('refuses an unknown target and a target with a TF.js-only export', async () => {
    await expect(run([sample, '-o', join(tmp, 'x.onnx'), '--target', 'tensorrt'])).rejects.toThrow(UsageError);
    await expect(run([sample, '-o', join(tmp, 'tf'), '--format', 'tfjs', '--target', 'smallest'])).rejects.toThrow(/does nothing with --format tfjs/);
  });
});
