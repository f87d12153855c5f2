import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { UsageError } from '../lib/usage.js';
import { run } from './quantize.js';

const tmp = mkdtempSync(join(tmpdir(), 'lq-quant-tfjs-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const sample = join(__dirname, '../../public/sample/digits-cnn.onnx');

describe('localquant quantize --format tfjs', () => {
  it('writes a TF.js graph model (model.json + shard) and report.json that tfjs loads and runs', async () => {
    const out = join(tmp, 'tfjs');
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      const code = await run([sample, '-o', out, '--format', 'tfjs', '--images', '8', '--steps', '2', '--iters', '20', '--mean', '0.5,0.5,0.5', '--std', '0.5,0.5,0.5', '--quiet']);
      expect(code).toBe(0);
    } finally {
      log.mockRestore();
    }
    const modelJson = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
    expect(modelJson.format).toBe('graph-model');
    expect(modelJson.weightsManifest[0].paths).toEqual(['group1-shard1of1.bin']);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(report.notes.join(' ')).toMatch(/activations are left float/);
    const shard = new Uint8Array(readFileSync(join(out, 'group1-shard1of1.bin')));
    const model = await tf.loadGraphModel({
      load: () => tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => [manifest.flatMap((g) => g.weights), shard.slice().buffer]),
    });
    const x = tf.ones([2, 3, 32, 32]);
    const y = model.execute(x) as tf.Tensor;
    expect(y.shape).toEqual([2, 10]);
    expect(Array.from(await y.data()).every(Number.isFinite)).toBe(true);
    tf.dispose([x, y]);
    model.dispose();
  });

  it('refuses a .onnx output path for tfjs and an unknown format', async () => {
    await expect(run([sample, '-o', join(tmp, 'm.onnx'), '--format', 'tfjs'])).rejects.toBeInstanceOf(UsageError);
    await expect(run([sample, '-o', tmp, '--format', 'tflite'])).rejects.toThrow(/onnx, tfjs or both/);
  });
});
