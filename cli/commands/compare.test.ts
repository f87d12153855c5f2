import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { cifar10Batch, parseCifar10 } from '../../src/core/data/cifar10.js';
import { writeOnnx } from '../../src/core/exporters/onnx/onnxWriter.js';
import { qdqOptionsForTarget } from '../../src/core/exporters/qdq/deploymentTargets.js';
import { buildQdqGraph } from '../../src/core/exporters/qdq/qdqOnnxExporter.js';
import { importOnnx } from '../../src/core/importers/onnx/importOnnx.js';
import { initBackend } from '../../src/core/runtime/backends.js';
import { CIFAR_MEAN, CIFAR_STD, cifarFixture } from '../../src/core/testing/fixtures.js';
import { nearestPlan } from '../../src/core/testing/nearestPlan.js';
import { UsageError } from '../lib/usage.js';
import { run, type CompareResult } from './compare.js';

const tmp = mkdtempSync(join(tmpdir(), 'lq-compare-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('localquant compare --speed', () => {
  it('times A and B at each thread count and counts the kernels ORT chose', async () => {
    await initBackend('wasm');
    const float = cifarFixture('resnet20_folded.onnx');
    const set = parseCifar10(new Uint8Array(readFileSync(cifarFixture('test_batch.bin'))));
    const cal = cifar10Batch(set, Array.from({ length: 16 }, (_, i) => i * 613), [...CIFAR_MEAN], [...CIFAR_STD]);
    const { folded, plan } = await nearestPlan(importOnnx(new Uint8Array(readFileSync(float))), cal.images, [16, 3, 32, 32], { weightBits: 8 }, { fast: true });
    const quant = join(tmp, 'w8a8.onnx');
    writeFileSync(quant, writeOnnx(buildQdqGraph(folded, plan, qdqOptionsForTarget('ort-cpu'))));
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
    try {
      expect(await run([float, quant, '--cifar10', cifarFixture('test_batch.bin'), '--limit', '64', '--speed', '--threads', '1', '--rounds', '1', '--json'])).toBe(0);
    } finally {
      log.mockRestore();
    }
    const r = JSON.parse(lines[0]) as CompareResult;
    expect(r.count).toBe(64);
    expect(r.agreement).toBeGreaterThan(0.8);
    expect(r.speed!.map((s) => s.threads)).toEqual([1]);
    for (const s of r.speed!) expect(s.imagesPerSecondA > 0 && s.imagesPerSecondB > 0 && Math.abs(s.ratio - s.imagesPerSecondB / s.imagesPerSecondA) < 1e-9).toBe(true);
    // the float model keeps its 19 Convs and the Gemm in float; the export runs them all as integer kernels
    expect(r.kernels![0]).toMatchObject({ integer: 0, floatCompute: 20 });
    expect(r.kernels![1].floatCompute).toBe(0);
    expect(r.kernels![1].integer).toBeGreaterThanOrEqual(20);
  }, 120_000);

  it('refuses --threads without --speed', async () => {
    await expect(run(['a.onnx', 'b.onnx', '--cifar10', 'x.bin', '--threads', '2'])).rejects.toThrow(UsageError);
  });
});
