import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { cifarFixture } from '../../src/core/testing/fixtures.js';
import { decodeNpyFloat32 } from '../lib/npy.js';
import { decodePng, encodePng } from '../lib/png.js';
import { UsageError } from '../lib/usage.js';
import { run } from './synth.js';

const tmp = mkdtempSync(join(tmpdir(), 'lq-synth-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('localquant synth', () => {
  it('writes images.npy, PNGs and synth.json for resnet20_bn.onnx', async () => {
    const out = join(tmp, 'bn');
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const code = await run([cifarFixture('resnet20_bn.onnx'), '-o', out, '--images', '3', '--batch', '2', '--steps', '2', '--seed', '4',
        '--mean', '0.485,0.456,0.406', '--std', '0.229,0.224,0.225', '--quiet']);
      expect(code).toBe(0);
    } finally {
      log.mockRestore();
      err.mockRestore();
    }
    const npy = decodeNpyFloat32(new Uint8Array(readFileSync(join(out, 'images.npy'))));
    expect(npy.shape).toEqual([3, 3, 32, 32]);
    const png = decodePng(new Uint8Array(readFileSync(join(out, 'png', '0002.png'))));
    expect([png.width, png.height]).toEqual([32, 32]);
    // The PNG is the de-normalized image: check one pixel of the red channel.
    const expected = Math.round((npy.data[2 * 3 * 1024] * 0.229 + 0.485) * 255);
    expect(Math.abs(png.rgba[0] - Math.min(255, Math.max(0, expected)))).toBeLessThanOrEqual(1);
    const log2 = JSON.parse(readFileSync(join(out, 'synth.json'), 'utf8'));
    expect(log2).toMatchObject({ method: 'bn-statistics', model: 'resnet20_bn.onnx', shape: [3, 3, 32, 32] });
    expect(log2.options).toMatchObject({ numImages: 3, batchSize: 2, steps: 2, seed: 4 });
    expect(log2.lossHistory.map((h: number[]) => h.length)).toEqual([2, 2]);
    expect(existsSync(join(out, 'png', '0003.png'))).toBe(false);
  });

  it('turns a folder of own PNGs into normalized calibration images (user-images)', async () => {
    const dir = join(tmp, 'own');
    mkdirSync(dir);
    for (const [name, rgb] of [['a.png', [255, 0, 0]], ['b.png', [0, 0, 255]]] as const) {
      const rgba = new Uint8Array(64 * 48 * 4);
      for (let p = 0; p < 64 * 48; p++) rgba.set([...rgb, 255], p * 4);
      writeFileSync(join(dir, name), encodePng({ width: 64, height: 48, rgba }));
    }
    const out = join(tmp, 'own-out');
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      expect(await run([cifarFixture('resnet20_folded.onnx'), '-o', out, '--method', 'user-images', '--from', dir,
        '--mean', '0.5,0.5,0.5', '--std', '0.5,0.5,0.5', '--quiet'])).toBe(0);
    } finally {
      log.mockRestore();
    }
    const npy = decodeNpyFloat32(new Uint8Array(readFileSync(join(out, 'images.npy'))));
    expect(npy.shape).toEqual([2, 3, 32, 32]);
    // a.png is red: R plane 1, G and B planes -1; b.png is blue.
    expect([npy.data[0], npy.data[1024], npy.data[2048]]).toEqual([1, -1, -1]);
    expect([npy.data[3072], npy.data[3072 + 2048]]).toEqual([-1, 1]);
    expect(JSON.parse(readFileSync(join(out, 'synth.json'), 'utf8')).method).toBe('user-images');
  });

  it('rejects bad usage', async () => {
    await expect(run([cifarFixture('resnet20_bn.onnx')])).rejects.toBeInstanceOf(UsageError);
    await expect(run([cifarFixture('resnet20_bn.onnx'), '-o', tmp, '--mean', '0.5,0.5,0.5'])).rejects.toThrow(/--mean and --std together/);
    await expect(run([cifarFixture('resnet20_bn.onnx'), '-o', tmp, '--method', 'magic'])).rejects.toThrow(/--method/);
    await expect(run([cifarFixture('resnet20_bn.onnx'), '-o', tmp, '--method', 'user-images'])).rejects.toThrow(/--from DIR/);
    await expect(run([cifarFixture('resnet20_bn.onnx'), '-o', tmp, '--method', 'noise', '--steps', '5', '--lr', '0.1'])).rejects.toThrow(/--steps, --lr do nothing with --method noise/);
    await expect(run([cifarFixture('resnet20_bn.onnx'), '-o', tmp, '--method', 'user-images', '--from', tmp, '--seed', '3'])).rejects.toThrow(/--seed does nothing/);
  });
});
