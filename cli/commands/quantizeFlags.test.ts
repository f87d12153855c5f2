/**
 * Every flag of `localquant quantize` reaches the export: each one, added to a fast baseline (noise
 * calibration, nearest rounding, 4 images), changes the written ONNX bytes and is recorded in the report.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { run } from './quantize.js';

const tmp = mkdtempSync(join(tmpdir(), 'lq-flags-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const sample = join(__dirname, '../../public/sample/digits-cnn.onnx');
const baseline = ['--calibration', 'noise', '--rounding', 'nearest', '--images', '4', '--mean', '0.5,0.5,0.5', '--std', '0.5,0.5,0.5', '--quiet'];

let n = 0;
async function quantize(extra: string[]): Promise<{ onnx: Buffer; report: { config: Record<string, any>; layers: Record<string, any>[] } }> {
  const out = join(tmp, `m${n++}.onnx`);
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  try {
    // Later flags win over the baseline's.
    const args = [...baseline];
    for (let i = 0; i < extra.length; i++) {
      const at = args.indexOf(extra[i]);
      if (at >= 0 && extra[i].startsWith('--') && extra[i + 1] !== undefined && !extra[i + 1].startsWith('--')) args.splice(at, 2);
    }
    expect(await run([sample, '-o', out, ...args, ...extra])).toBe(0);
  } finally {
    log.mockRestore();
  }
  return { onnx: readFileSync(out), report: JSON.parse(readFileSync(out.replace(/\.onnx$/, '.report.json'), 'utf8')) };
}

type Result = Awaited<ReturnType<typeof quantize>>;
const cases: [string[], (r: Result) => void][] = [
  [['--wbits', '4'], (r) => expect(r.report.config.quant.weightBits).toBe(4)],
  // 8-bit weights as applied for the default target ort-cpu: a 7-bit range (quant/config.ts portableWeightBits)
  [['--wbits', '4', '--keep-first-last-8bit'], (r) => expect(r.report.layers.map((l) => l.weightBits)).toEqual([7, 4, 4, 4, 7])],
  [['--wbits', '4', '--keep-first-last-8bit', '--target', 'ort-cpu-vnni'], (r) => expect(r.report.layers.map((l) => l.weightBits)).toEqual([8, 4, 4, 4, 8])],
  [['--abits', '4'], (r) => expect(r.report.config.quant.activationBits).toBe(4)],
  [['--rounding', 'adaptive', '--iters', '400'], (r) => expect(r.report.layers.every((l) => l.rounding === 'adaptive')).toBe(true)],
  [['--rounding', 'adaptive', '--iters', '10', '--reconstruction', 'block'], (r) => {
    expect(r.report.config.quant.reconstruction).toBe('block');
    expect(r.report.layers.every((l) => typeof l.block === 'string')).toBe(true);
    expect((r.report as unknown as { blocks: unknown[] }).blocks.length).toBeGreaterThan(0);
  }],
  [['--rounding', 'adaptive', '--iters', '10', '--reconstruction', 'block', '--abits', '4', '--qdrop'], (r) => {
    expect(r.report.config.quant).toMatchObject({ reconstruction: 'block', qdrop: true });
    expect((r.report as unknown as { blocks: { qdrop: number }[] }).blocks.every((b) => b.qdrop === 0.5)).toBe(true);
  }],
  [['--abits', '4', '--activation-bits-at', 'every-activation'], (r) => {
    expect(r.report.config.quant.activationBitsAt).toBe('every-activation');
    // values no layer reads are at 4 bit too (with the default layer-inputs they keep 8)
    const activations = (r.report as unknown as { activations: Record<string, { bits: number }> }).activations;
    expect(Object.entries(activations).filter(([v]) => v !== 'input').every(([, a]) => a.bits === 4)).toBe(true);
  }],
  [['--per-tensor'], (r) => expect(r.report.layers.every((l) => l.scales.length === 1)).toBe(true)],
  [['--bias-correction'], (r) => expect(r.report.layers.some((l) => l.biasCorrected)).toBe(true)],
  [['--equalize'], (r) => {
    expect(r.report.config.quant.equalization).toBe(true);
    expect((r.report as unknown as { equalization: { rescaled: number } }).equalization.rescaled).toBeGreaterThan(0);
  }],
  [['--float-below-db', '60'], (r) => {
    expect(r.report.config.quant.floatActivationsBelowDb).toBe(60);
    expect((r.report as unknown as { floatActivations: unknown[] }).floatActivations.length).toBeGreaterThan(0);
  }],
  [['--observer', 'minmax'], (r) => expect(r.report.config.quant.activationObserver).toBe('minmax')],
  [['--pixel-range', '1'], (r) => expect(r.report.config.normalization.pixelRange).toBe(1)],
  [['--mean', '0.4,0.4,0.4'], (r) => expect(r.report.config.normalization.mean).toEqual([0.4, 0.4, 0.4])],
  [['--seed', '3'], (r) => expect(r.report.config.seed).toBe(3)],
  [['--images', '3'], (r) => expect(r.report.config.calibration.images).toBe(3)],
  [['--calibration', 'prior-only', '--steps', '2'], (r) => expect(r.report.config.calibration).toMatchObject({ source: 'prior-only', steps: 2 })],
];

let base: Result;
beforeAll(async () => {
  base = await quantize([]);
});

describe('localquant quantize: each flag changes the export and shows in the applied config', () => {
  for (const [flags, check] of cases) {
    it(flags.join(' '), async () => {
      const r = await quantize(flags);
      expect(r.onnx.equals(base.onnx)).toBe(false);
      check(r);
    });
  }
});

describe('localquant quantize --forward-engine', () => {
  it('runs the forward-only passes and the agreement in onnxruntime-node by default, in the tfjs executor with tfjs, and says so', async () => {
    const viaTfjs = (await quantize(['--forward-engine', 'tfjs'])).report as unknown as { forwardEngine: string; agreementOn: { runtime: string } };
    const viaOrt = base.report as unknown as { forwardEngine: string; agreementOn: { runtime: string } };
    expect(viaOrt.forwardEngine).toMatch(/^onnxruntime-node .*cpu/);
    expect(viaOrt.agreementOn.runtime).toMatch(/onnxruntime-node.*exported file/);
    expect(viaTfjs.forwardEngine).toMatch(/executor \(tfjs wasm\)/);
    expect(viaTfjs.agreementOn.runtime).toMatch(/executor/);
  });

  it('refuses an unknown engine', async () => {
    await expect(run([sample, '-o', join(tmp, 'x.onnx'), '--forward-engine', 'gpu'])).rejects.toThrow(/--forward-engine must be ort or tfjs/);
  });
});
