import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { writeOnnx } from '../exporters/onnx/onnxWriter.js';
import { importModel } from '../importers/index.js';
import { mobileNetV2ProbeFiles, readProbeHead } from './mobileNetV2CifarProbe.js';

async function run(files: ReturnType<typeof mobileNetV2ProbeFiles>, x: Float32Array): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const session = await ort.InferenceSession.create(writeOnnx(importModel(files)));
  const out = (await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, [2, 224, 224, 3]) }))[session.outputNames[0]];
  await session.release();
  return { data: out.data as Float32Array, dims: out.dims };
}

describe('mobileNetV2ProbeFiles', () => {
  it('cuts nsfwjs MobileNetV2 at the 1280 pooled features, and with a head computes features x W + b as one model', async () => {
    const d = 1280;
    const units = 10;
    let seed = 3;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) - 0.5;
    const head = { inputs: d, units, kernel: Float32Array.from({ length: d * units }, rand), bias: Float32Array.from({ length: units }, rand) };
    const x = Float32Array.from({ length: 2 * 224 * 224 * 3 }, () => rand() + 0.5); // pixels / 255

    const backbone = mobileNetV2ProbeFiles(null);
    const json = JSON.parse(new TextDecoder().decode(backbone[0].bytes)) as { weightsManifest: { weights: { name: string }[] }[] };
    expect(json.weightsManifest.flatMap((g) => g.weights.map((w) => w.name)).filter((n) => /^dense_/.test(n))).toEqual([]);
    const features = await run(backbone, x);
    expect(features.dims).toEqual([2, d]);

    const logits = await run(mobileNetV2ProbeFiles(head), x);
    expect(logits.dims).toEqual([2, units]);
    for (let i = 0; i < 2; i++) {
      for (let c = 0; c < units; c++) {
        let y = head.bias[c];
        for (let j = 0; j < d; j++) y += features.data[i * d + j] * head.kernel[j * units + c];
        expect(logits.data[i * units + c]).toBeCloseTo(y, 3);
      }
    }
  });

  it('reads the committed head: a 1280 x 10 kernel and 10 biases, all finite', () => {
    const head = readProbeHead();
    expect([head.inputs, head.units, head.kernel.length, head.bias.length]).toEqual([1280, 10, 12800, 10]);
    expect([...head.kernel, ...head.bias].every(Number.isFinite)).toBe(true);
  });
});
