import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import jpeg from 'jpeg-js';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { cifarFixture } from '../../src/core/testing/fixtures.js';
import { encodePng } from '../lib/png.js';
import { UsageError } from '../lib/usage.js';
import { bitWidthDefaults } from '../../src/core/pipeline/defaults.js';
import { run, saturationWarning, slowerThanFloatHint } from './quantize.js';
import { captureLog } from '../lib/captureLog.js';
import { readModelFiles } from '../lib/readModelFiles.js';
import { importModel } from '../../src/core/importers/index.js';
import { writeOnnx } from '../../src/core/exporters/onnx/onnxWriter.js';

const tmp = mkdtempSync(join(tmpdir(), 'lq-quant-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const sample = join(__dirname, '../../public/sample/digits-cnn.onnx');
const quick = ['--images', '4', '--iters', '20', '--mean', '0.5,0.5,0.5', '--std', '0.5,0.5,0.5', '--quiet'];

function stroke(width: number, height: number, shift: number): Uint8Array {
  const rgba = new Uint8Array(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    const on = Math.abs((p % width) - width / 2 - shift) < 4;
    rgba.set(on ? [250, 250, 250, 255] : [5, 5, 5, 255], p * 4);
  }
  return rgba;
}

async function quiet<T>(f: () => Promise<T>): Promise<T> {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  try {
    return await f();
  } finally {
    log.mockRestore();
  }
}

describe('localquant quantize', () => {
  it('defaults follow the bit widths (nearest at W8A8, adaptive below); --iters asks for adaptive; the report says what was applied', async () => {
    const norm = ['--mean', '0.5,0.5,0.5', '--std', '0.5,0.5,0.5', '--quiet', '--calibration', 'noise', '--images', '4'];
    const applied = async (name: string, extra: string[]) => {
      const out = join(tmp, `${name}.onnx`);
      expect(await quiet(() => run([sample, '-o', out, ...norm, ...extra]))).toBe(0);
      const report = JSON.parse(readFileSync(join(tmp, `${name}.report.json`), 'utf8'));
      notes.set(name, report.notes.find((n: string) => n.startsWith('Defaults for')));
      return report.config.quant;
    };
    const notes = new Map<string, string | undefined>();
    expect(await applied('d8', [])).toMatchObject({ rounding: 'nearest', adaroundIterations: 0 });
    expect(notes.get('d8')).toMatch(/^Defaults for W8A8 applied .*: nearest rounding\./);
    expect(await applied('d4', ['--wbits', '4'])).toMatchObject({ rounding: 'adaptive', adaroundIterations: bitWidthDefaults(4, 8).adaroundIterations });
    expect(notes.get('d4')).toMatch(/adaptive rounding, \d+ adaptive-rounding iterations\./);
    expect(await applied('d8i', ['--iters', '7'])).toMatchObject({ rounding: 'adaptive', adaroundIterations: 7 });
    expect(notes.get('d8i')).toBeUndefined();
  });

  it('--batch sets the synthesis and calibration batch (recorded as applied); a bad value is a usage error', async () => {
    const out = join(tmp, 'batch.onnx');
    expect(await quiet(() => run([sample, '-o', out, ...quick, '--steps', '2', '--batch', '2']))).toBe(0);
    const report = JSON.parse(readFileSync(join(tmp, 'batch.report.json'), 'utf8'));
    expect(report.config.calibration.batch).toBe(2);
    expect(report.calibration.batch).toBe(2);
    await expect(run([sample, '-o', out, ...quick, '--batch', '0'])).rejects.toThrow(UsageError);
  });

  it('calibrates on a folder of PNG and JPEG images of another size (--calibration images:DIR)', async () => {
    const dir = join(tmp, 'imgs');
    mkdirSync(dir);
    writeFileSync(join(dir, 'a.png'), encodePng({ width: 48, height: 40, rgba: stroke(48, 40, -5) }));
    writeFileSync(join(dir, 'b.jpg'), jpeg.encode({ width: 64, height: 64, data: Buffer.from(stroke(64, 64, 6)) }, 90).data);
    writeFileSync(join(dir, 'c.jpeg'), jpeg.encode({ width: 30, height: 50, data: Buffer.from(stroke(30, 50, 0)) }, 90).data);
    writeFileSync(join(dir, 'notes.txt'), 'not an image');
    const out = join(tmp, 'own');
    expect(await quiet(() => run([sample, '-o', out, '--calibration', `images:${dir}`, ...quick]))).toBe(0);
    const report = JSON.parse(readFileSync(join(out, 'digits-cnn.quant.report.json'), 'utf8'));
    expect(report.calibration).toMatchObject({ method: 'user-images', images: 3, from: 'folder imgs (3 of 3 images)' });
    expect(report.config.calibration).toEqual({ source: 'user-images', images: 3, steps: 0, batch: 3 });
    expect(report.agreementOn).toMatchObject({ images: 3, method: 'user-images' });
    expect(readFileSync(join(out, 'digits-cnn.quant.onnx')).length).toBeGreaterThan(1000);
  });

  it('reads CIFAR-10 records as images for the model\'s own input (--calibration cifar10:FILE)', async () => {
    const out = join(tmp, 'cifar.onnx');
    expect(await quiet(() => run([sample, '-o', out, '--calibration', `cifar10:${cifarFixture('test_batch.bin')}`, '--rounding', 'nearest', '--images', '4', '--quiet']))).toBe(0);
    const report = JSON.parse(readFileSync(join(tmp, 'cifar.report.json'), 'utf8'));
    expect(report.calibration).toMatchObject({ method: 'user-images', images: 4, from: 'CIFAR-10 file test_batch.bin (4 of 10000 records)' });
    // The self-contained HTML report sits beside the JSON and embeds the 4 calibration images.
    const html = readFileSync(join(tmp, 'cifar.report.html'), 'utf8');
    expect(html.match(/<img [^>]*src="data:image\/png;base64,/g)?.length).toBe(4);
    expect(JSON.parse(/id="report-json">(.*?)<\/script>/s.exec(html)![1])).toEqual(report);
  });

  it('checks a model that declares a fixed batch of 1 in onnxruntime-node at that batch (agreement and speed)', async () => {
    const graph = importModel(readModelFiles(sample));
    graph.inputs[0] = { ...graph.inputs[0], shape: [1, ...graph.inputs[0].shape!.slice(1)] };
    const fixed = join(tmp, 'batch1.onnx');
    writeFileSync(fixed, writeOnnx(graph));
    const r = await captureLog(run, [fixed, '-o', join(tmp, 'batch1.quant.onnx'), '--calibration', `cifar10:${cifarFixture('test_batch.bin')}`, '--rounding', 'nearest', '--images', '4', '--quiet']);
    expect(r.code).toBe(0);
    expect(r.out).not.toMatch(/could not run/);
    expect(r.out).toMatch(/onnxruntime-node: top-1 agreement with float \d+\.\d% on 4 calibration images; \d+ vs \d+ images\/s/);
  });

  it('a slower-than-float export gets a hint: float layers behind kept activations, or small integer layers', () => {
    const check = { agreement: null, images: 0, threads: 1, floatImagesPerSecond: 100, exportImagesPerSecond: 60, integerKernels: 30, floatConvGemm: 12 };
    expect(slowerThanFloatHint(check, 5).join()).toMatch(/12 conv\/matmul layer\(s\) still run in float.*5 activation\(s\) kept float.*--float-below-db off/);
    expect(slowerThanFloatHint({ ...check, floatConvGemm: 0 }, 0).join()).toMatch(/int8 kernels lose to its float ones/);
    expect(slowerThanFloatHint({ ...check, exportImagesPerSecond: 140 }, 5)).toEqual([]);
  });

  it('target ort-cpu-vnni checked on a CPU without VNNI gets a warning; with VNNI, unknown, or another target none', () => {
    const avx2 = { model: 'AMD EPYC', arch: 'x64', int8DotProduct: false, flags: ['avx2'] };
    expect(saturationWarning('ort-cpu-vnni', avx2).join()).toMatch(/AMD EPYC: avx2\) has no VNNI or AMX.*saturate.*target ort-cpu runs exactly everywhere/);
    expect(saturationWarning('ort-cpu-vnni', { ...avx2, int8DotProduct: true })).toEqual([]);
    expect(saturationWarning('ort-cpu-vnni', { ...avx2, int8DotProduct: null })).toEqual([]);
    expect(saturationWarning('ort-cpu', avx2)).toEqual([]);
  });

  it('refuses flags that would change nothing', async () => {
    await expect(run([sample, '-o', tmp, '--rounding', 'nearest', '--iters', '10'])).rejects.toThrow(/--iters .* nothing with --rounding nearest/);
    await expect(run([sample, '-o', tmp, '--calibration', 'noise', '--steps', '10'])).rejects.toThrow(/--steps .* nothing with --calibration noise/);
    await expect(run([sample, '-o', tmp, '--keep-first-last-8bit'])).rejects.toThrow(/nothing with --wbits 8/);
    await expect(run([sample, '-o', tmp, '--abits', '32', '--observer', 'minmax'])).rejects.toThrow(/nothing with --abits 32/);
    await expect(run([sample, '-o', tmp, '--qdrop'])).rejects.toThrow(/--qdrop .* needs --reconstruction block/);
    await expect(run([sample, '-o', tmp, '--activation-bits-at', 'every-activation'])).rejects.toThrow(/--activation-bits-at .* nothing with --abits 8/);
    await expect(run([sample, '-o', tmp, '--abits', '4', '--activation-bits-at', 'skip'])).rejects.toThrow(/layer-inputs or every-activation/);
    await expect(run([sample, '-o', tmp, '--reconstruction', 'blocks'])).rejects.toThrow(/layer or block/);
    await expect(run([sample, '-o', tmp, '--calibration', 'noise', '--images', '2', '--reconstruction', 'block', '--rounding', 'nearest'])).rejects.toThrow(/nothing with rounding "nearest"/);
    await expect(run([sample, '-o', tmp, '--pixel-range', '2'])).rejects.toBeInstanceOf(UsageError);
    await expect(run([sample, '-o', tmp, '--backend', 'webgpu'])).rejects.toThrow(/wasm or cpu/);
  });

  it('names an unreadable image and an empty folder', async () => {
    const dir = join(tmp, 'bad');
    mkdirSync(dir);
    await expect(run([sample, '-o', tmp, '--calibration', `images:${dir}`])).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/No PNG or JPEG files/) });
    writeFileSync(join(dir, 'broken.jpg'), 'not a jpeg at all');
    await expect(run([sample, '-o', tmp, '--calibration', `images:${dir}`])).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/'broken.jpg' is not a readable JPEG/) });
  });

  it('prints failures as CODE: message and hint, never raw JS text (exit 1)', () => {
    const cli = resolve(__dirname, '../localquant.mjs');
    const missing = spawnSync(process.execPath, [cli, 'quantize', join(tmp, 'nope.onnx'), '-o', tmp], { encoding: 'utf8' });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^localquant quantize: MISSING_FILE: Cannot read '.*nope.onnx': no such file or folder\.\n {2}hint: Check the path\./);
    // Output below a file: Node's ENOTDIR becomes a typed message naming the path.
    writeFileSync(join(tmp, 'file'), 'x');
    const unwritable = spawnSync(process.execPath, [cli, 'quantize', sample, '-o', join(tmp, 'file', 'out'), '--rounding', 'nearest', '--images', '2', '--calibration', 'noise', '--quiet'], { encoding: 'utf8' });
    expect(unwritable.status).toBe(1);
    expect(unwritable.stderr).toMatch(/MISSING_FILE: Cannot access '.*file\/out': a part of the path is not a folder\./);
    expect(unwritable.stderr).not.toMatch(/ENOTDIR|at Object|\.ts:\d+/);
  });
});
