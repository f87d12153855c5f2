import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { LocalQuantError } from '../../errors.js';
import { importOnnx } from '../../importers/onnx/importOnnx.js';
import { foldBatchNorm } from '../../ir/passes/foldBatchNorm.js';
import type { Graph } from '../../ir/types.js';
import { defaultPipelineConfig } from '../../pipeline/defaults.js';
import { runPipeline } from '../../pipeline/run.js';
import { initBackend } from '../../runtime/backends.js';
import { GraphExecutor } from '../../runtime/executor.js';
import { cifarFixture } from '../../testing/fixtures.js';
import { exportTfjsGraphModel, type TfjsExport } from './tfjsGraphExporter.js';
import { encodeQuantized } from './tfjsWeights.js';

const samplePath = join(__dirname, '../../../../public/sample/digits-cnn.onnx');

function concat(parts: Uint8Array[]): ArrayBuffer {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), (o += p.byteLength));
  return out.buffer;
}

async function runTfjs(e: TfjsExport, x: Float32Array, shape: number[]): Promise<Float32Array> {
  const m = e.modelJson;
  const model = await tf.loadGraphModel(
    tf.io.fromMemory({ modelTopology: m.modelTopology, weightSpecs: m.weightsManifest.flatMap((g) => g.weights), weightData: concat(e.files.map((f) => f.bytes)), format: 'graph-model' } as tf.io.ModelArtifacts),
  );
  const input = tf.tensor(x, shape);
  const y = model.execute(input) as tf.Tensor;
  const data = (await y.data()) as Float32Array;
  tf.dispose([input, y]);
  model.dispose();
  return data;
}

async function runOurs(g: Graph, x: Float32Array, shape: number[]): Promise<Float32Array> {
  const exec = new GraphExecutor(g);
  const input = tf.tensor(x, shape);
  const res = exec.execute({ [g.inputs[0].name]: input });
  const y = res.outputs.get(g.outputs[0].name)!;
  const data = (await y.data()) as Float32Array;
  tf.dispose([input, ...res.outputs.values()]);
  exec.dispose();
  return data;
}

const maxAbsDiff = (a: Float32Array, b: Float32Array) => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])));
const randomInput = (n: number) => new Float32Array(n).map((_, i) => Math.sin(i * 0.37) * 1.5);

describe('TF.js graph-model export', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('exports the sample model (BN kept) and ResNet-20 (BN folded) matching our executor', async () => {
    const before = tf.memory().numTensors;
    const sample = importOnnx(new Uint8Array(readFileSync(samplePath)));
    const resnet = foldBatchNorm(importOnnx(new Uint8Array(readFileSync(cifarFixture('resnet20_bn.onnx'))))).graph;
    for (const [g, ops] of [
      [sample, ['Conv2D', 'Mul', 'Mean', 'MatMul']],
      [resnet, ['Conv2D', 'StridedSlice', 'Pad', 'AddV2']],
    ] as const) {
      const e = exportTfjsGraphModel(g);
      expect(e.modelJson.format).toBe('graph-model');
      expect(e.files[0].name).toBe('group1-shard1of1.bin');
      const opsUsed = new Set(e.modelJson.modelTopology.node.map((n) => n.op));
      for (const op of ops) expect(opsUsed).toContain(op);
      // one transpose at the input, none inside the body
      expect(e.modelJson.modelTopology.node.filter((n) => n.op === 'Transpose')).toHaveLength(1);
      const shape = [2, 3, 32, 32];
      const x = randomInput(2 * 3 * 32 * 32);
      const a = await runTfjs(e, x, shape);
      const b = await runOurs(g, x, shape);
      expect(a.length).toBe(20);
      const diff = maxAbsDiff(a, b);
      console.log(`${g.name}: tfjs vs executor max |diff| ${diff.toExponential(2)}, weights ${e.files[0].bytes.byteLength} bytes`);
      expect(diff).toBeLessThan(1e-4);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses an operator it cannot translate', () => {
    const g = importOnnx(new Uint8Array(readFileSync(samplePath)));
    g.nodes[2] = { ...g.nodes[2], opType: 'Hardmax' };
    expect(() => exportTfjsGraphModel(g)).toThrow(LocalQuantError);
  });

  it('exports quantized plans (per-channel -> uint16, per-tensor -> uint8) within a quantization step of the QDQ ONNX in onnxruntime', async () => {
    for (const perChannel of [true, false]) {
      const cfg = defaultPipelineConfig();
      cfg.normalization = { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], pixelRange: 255 };
      cfg.calibration = { source: 'synthetic', images: 8, steps: 4, batch: 8 };
      cfg.quant = { ...cfg.quant, weightBits: 4, activationBits: 32, adaroundIterations: 40, perChannel };
      cfg.export = { onnx: true, tfjs: true };
      const r = await runPipeline([{ name: 'digits-cnn.onnx', bytes: new Uint8Array(readFileSync(samplePath)) }], cfg);
      expect(r.plan && r.folded && r.tfjs).toBeTruthy();
      expect(r.tfjs!.files.map((f) => f.name)).toEqual(['model.json', 'group1-shard1of1.bin']);

      const e = exportTfjsGraphModel(r.folded!, r.plan!);
      expect(e.notes.join(' ')).toMatch(perChannel ? /uint16 per-tensor grid/ : /exactly as uint8/);
      const floatBytes = exportTfjsGraphModel(r.folded!).files[0].bytes.byteLength;
      const quantBytes = e.files[0].bytes.byteLength;
      const specs = e.modelJson.weightsManifest[0].weights;
      const q16 = specs.filter((s) => s.quantization?.dtype === 'uint16').length;
      const q8 = specs.filter((s) => s.quantization?.dtype === 'uint8').length;
      expect(q16 + q8).toBe(5);
      console.log(`perChannel ${perChannel}: quantized tfjs weights ${quantBytes} bytes vs float ${floatBytes} (${((100 * quantBytes) / floatBytes).toFixed(1)}%), uint16 ${q16}, uint8 ${q8}`);
      expect(perChannel ? q16 : q8).toBe(5);
      expect(quantBytes).toBeLessThanOrEqual((q8 === 5 ? 0.3 : 0.55) * floatBytes);

      const shape = [4, 3, 32, 32];
      const x = randomInput(4 * 3 * 32 * 32);
      const session = await ort.InferenceSession.create(r.onnx!);
      const ortOut = (await session.run({ input: new ort.Tensor('float32', x, shape) })).logits.data as Float32Array;
      const ours = await runTfjs(e, x, shape);
      const floatOut = await runOurs(r.folded!, x, shape);
      const diff = maxAbsDiff(ours, ortOut);
      const quantEffect = maxAbsDiff(floatOut, ortOut);
      // a step of the coarsest weight grid: the logits move by far more than that between float and quantized
      const scale = Math.max(...Array.from(ortOut, Math.abs));
      console.log(`perChannel ${perChannel}: tfjs vs ORT QDQ max |diff| ${diff.toExponential(2)} (logit scale ${scale.toFixed(3)}); float vs QDQ ${quantEffect.toExponential(2)}`);
      expect(diff).toBeLessThan(1e-3 * scale);
      expect(diff).toBeLessThan(0.05 * quantEffect);
    }
  });
});

describe('TF.js export layouts and weight encoding', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('keeps an NHWC interface without boundary transposes', async () => {
    const g = importOnnx(new Uint8Array(readFileSync(samplePath)));
    // what the TF.js importer produces: an NHWC input and a Transpose into the NCHW body
    g.interfaceLayout = 'NHWC';
    g.inputs = [{ name: 'input_nhwc', dtype: 'float32', shape: ['N', 32, 32, 3] }];
    g.nodes.unshift({ name: 'to_nchw', opType: 'Transpose', inputs: ['input_nhwc'], outputs: ['input'], attrs: { perm: [0, 3, 1, 2] } });
    const e = exportTfjsGraphModel(g);
    expect(e.modelJson.modelTopology.node.filter((n) => n.op === 'Transpose')).toHaveLength(0);
    const x = randomInput(2 * 32 * 32 * 3);
    const diff = maxAbsDiff(await runTfjs(e, x, [2, 32, 32, 3]), await runOurs(g, x, [2, 32, 32, 3]));
    expect(diff).toBeLessThan(1e-4);
  });

  it('stores equal-scale codes exactly as uint8 and mixed scales on a uint16 grid', () => {
    const codes = Int32Array.from([-8, -3, 0, 7, 5, -1]);
    const u8 = encodeQuantized('w', [6], codes, () => 0.25, 0.25);
    expect(u8.exact).toBe(true);
    expect(u8.weight.spec.quantization).toEqual({ dtype: 'uint8', scale: 0.25, min: -2 });
    const q = u8.weight.spec.quantization!;
    expect(Array.from(u8.weight.bytes, (b) => b * q.scale + q.min)).toEqual(Array.from(codes, (c) => c * 0.25));
    const scales = [0.1, 0.1, 0.1, 0.037, 0.037, 0.037];
    const u16 = encodeQuantized('w', [6], codes, (i) => scales[i], null);
    expect(u16.exact).toBe(false);
    const q16 = u16.weight.spec.quantization!;
    expect(q16.dtype).toBe('uint16');
    const back = Array.from(new Uint16Array(u16.weight.bytes.buffer), (b) => b * q16.scale + q16.min);
    const range = 0.7 + 0.8;
    back.forEach((v, i) => expect(Math.abs(v - codes[i] * scales[i])).toBeLessThanOrEqual(range / 131070 + 1e-7));
  });
});
