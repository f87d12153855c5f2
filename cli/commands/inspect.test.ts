import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { cifarFixture } from '../../src/core/testing/fixtures.js';
import { buildOnnxModelWithExternal } from '../../src/core/testing/onnxBuilder.js';
import { readModelFiles } from '../lib/readModelFiles.js';
import { run } from './inspect.js';
import { captureLog } from '../lib/captureLog.js';

const tmp = mkdtempSync(join(tmpdir(), 'lq-inspect-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const capture = (argv: string[]) => captureLog(run, argv);

describe('localquant inspect', () => {
  it('prints format, shapes, op counts, parameters, BatchNorms and size for resnet20_bn.onnx', async () => {
    const { code, out } = await capture([cifarFixture('resnet20_bn.onnx')]);
    expect(code).toBe(0);
    expect(out).toContain('resnet20_bn.onnx: ONNX model (opset 13, pytorch 1.13.0), 1,104,162 bytes');
    expect(out).toMatch(/input\s+float32 \[N, 3, 32, 32\]/);
    expect(out).toMatch(/logits\s+float32 \[N, 10\]/);
    expect(out).toMatch(/BatchNormalization\s+19/);
    expect(out).toContain('Parameters: 269,722');
    expect(out).toContain('BatchNorm layers: 19');
  });

  it('--json prints the ModelSummary', async () => {
    const { out } = await capture([cifarFixture('resnet20_folded.onnx'), '--json']);
    const s = JSON.parse(out);
    expect(s.batchNormCount).toBe(0);
    expect(s.opCounts.Conv).toBe(19);
    expect(s.sizeBytes).toBe(1_088_465);
  });

  it('reads external data files named by the model, and only those', async () => {
    const { model, externalFiles } = buildOnnxModelWithExternal({
      inputs: [{ name: 'x', shape: [1, 4] }],
      outputs: [{ name: 'y', shape: [1, 4] }],
      initializers: [{ name: 'w', dims: [4], data: [1, 2, 3, 4], external: { location: 'w.bin' } }],
      nodes: [{ opType: 'Mul', inputs: ['x', 'w'], outputs: ['y'] }],
    });
    writeFileSync(join(tmp, 'm.onnx'), model);
    writeFileSync(join(tmp, 'w.bin'), externalFiles.get('w.bin')!);
    writeFileSync(join(tmp, 'unrelated.bin'), new Uint8Array(10));
    expect(readModelFiles(join(tmp, 'm.onnx')).map((f) => f.name)).toEqual(['m.onnx', 'w.bin']);
    const { out } = await capture([join(tmp, 'm.onnx'), '--json']);
    expect(JSON.parse(out).parameterCount).toBe(4);
    expect(JSON.parse(out).sizeBytes).toBe(model.length + 16);
  });

  it('reads a TF.js model.json with the weight shard its manifest names', async () => {
    await tf.setBackend('cpu');
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 4, kernelSize: 3, padding: 'same' }),
        tf.layers.batchNormalization(),
        tf.layers.reLU(),
        tf.layers.globalAveragePooling2d({}),
        tf.layers.dense({ units: 5 }),
      ],
    });
    const dir = join(tmp, 'tfjs');
    await model.save(
      tf.io.withSaveHandler(async (a) => {
        mkdirSync(dir);
        const manifest = [{ paths: ['group1-shard1of1.bin'], weights: a.weightSpecs }];
        writeFileSync(join(dir, 'model.json'), JSON.stringify({ format: 'layers-model', modelTopology: a.modelTopology, weightsManifest: manifest }));
        writeFileSync(join(dir, 'group1-shard1of1.bin'), new Uint8Array(a.weightData as ArrayBuffer));
        writeFileSync(join(dir, 'unrelated.bin'), new Uint8Array(7));
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    model.dispose();
    expect(readModelFiles(dir).map((f) => f.name)).toEqual(['model.json', 'group1-shard1of1.bin']);
    const { out } = await capture([join(dir, 'model.json'), '--json']);
    const s = JSON.parse(out);
    expect(s.format).toBe('tfjs-layers');
    expect(s.interfaceLayout).toBe('NHWC');
    expect(s.batchNormCount).toBe(1);
    // Keras counts 153 including the BN moving mean/variance (2 x 4); LocalQuant does not count statistics.
    expect(s.parameterCount).toBe(153 - 8);
  });

  it('runs as `npx localquant inspect` and fails with exit 1 and a message on a non-model', () => {
    const cli = resolve(__dirname, '../localquant.mjs');
    const ok = spawnSync(process.execPath, [cli, 'inspect', cifarFixture('resnet20_bn.onnx')], { encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('Parameters: 269,722');
    writeFileSync(join(tmp, 'notes.onnx'), '{"not": "a model"}');
    const bad = spawnSync(process.execPath, [cli, 'inspect', join(tmp, 'notes.onnx')], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('is not an ONNX model: it is JSON text');
  });
});
