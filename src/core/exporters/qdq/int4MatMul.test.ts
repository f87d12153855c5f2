/** 'smallest' with 4-bit weights: the FC layer's int4 weight reaches ORT's weight-only int4 kernel (MatMulNBits). */
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { optimizedOpCounts } from '../../../../cli/lib/ortKernels.js';
import { createOrtSession } from '../../../../cli/lib/ort.js';
import { importOnnx } from '../../importers/onnx/importOnnx.js';
import { GraphExecutor } from '../../runtime/executor.js';
import { initBackend } from '../../runtime/backends.js';
import { mobileNetV2Like } from '../../testing/mobileNetV2Like.js';
import { buildOnnxModel } from '../../testing/onnxBuilder.js';
import { nearestPlan } from '../../testing/nearestPlan.js';
import { writeOnnx } from '../onnx/onnxWriter.js';
import { qdqOptionsForTarget } from './deploymentTargets.js';
import { buildQdqGraph } from './qdqOnnxExporter.js';

describe('smallest target, all layers 4 bit', () => {
  it('writes the Gemm weight as blocked int4 that ORT runs as MatMulNBits', async () => {
    await initBackend('wasm');
    const n = 8;
    let s = 9;
    const images = Float32Array.from({ length: n * 3 * 32 * 32 }, () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1);
    const { folded, plan } = await nearestPlan(importOnnx(mobileNetV2Like({ seed: 5, width: 0.5 })), images, [n, 3, 32, 32], { weightBits: 4, keepFirstLast8bit: false }, { fast: true });
    const q = buildQdqGraph(folded, plan, qdqOptionsForTarget('smallest'));
    const fcDq = q.nodes.find((m) => m.opType === 'DequantizeLinear' && m.outputs[0] === q.nodes.find((g) => g.name === 'fc')!.inputs[1])!;
    expect(fcDq.attrs.block_size).toBe(128); // K = 128 head features at width 0.5: one block per output column
    const bytes = writeOnnx(q);
    const counts = await optimizedOpCounts(bytes);
    expect(counts['com.microsoft.MatMulNBits'], JSON.stringify(counts)).toBe(1);
    expect((counts.Gemm ?? 0) + (counts.MatMul ?? 0) + (counts.FusedGemm ?? 0)).toBe(0);

  }, 60_000);

  it('our executor reads the blocked int4 weight as ORT does (transB Gemm, K not a power of two)', async () => {
    await initBackend('wasm');
    const [m, k, nOut] = [3, 40, 6];
    let s = 11;
    const rnd = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
    const x = Float32Array.from({ length: m * k }, rnd);
    const graph = importOnnx(buildOnnxModel({
      opset: 13,
      inputs: [{ name: 'x', shape: [m, k] }],
      outputs: [{ name: 'y', shape: [m, nOut] }],
      initializers: [{ name: 'w', dims: [nOut, k], data: Float32Array.from({ length: nOut * k }, rnd) }, { name: 'b', dims: [nOut], data: Float32Array.from({ length: nOut }, rnd) }],
      nodes: [{ name: 'fc', opType: 'Gemm', inputs: ['x', 'w', 'b'], outputs: ['y'], attrs: { transB: 1 } }],
    }));
    const codes = Int8Array.from({ length: nOut * k }, (_, i) => ((i * 7) % 15) - 7);
    const scales = Float32Array.from({ length: nOut }, (_, o) => 0.01 * (o + 1));
    const q = buildQdqGraph(graph, { layers: [{ node: 'fc', weightCodes: codes, weightScales: scales, weightBits: 4, axis: 0 }], activations: {} }, qdqOptionsForTarget('smallest'));
    expect(q.nodes.find((n) => n.opType === 'DequantizeLinear')!.attrs).toEqual({ axis: 0, block_size: 64 });
    const bytes = writeOnnx(q);
    const run = async (optimize: boolean) => {
      const session = await createOrtSession(bytes, { optimize });
      const y = (await session.run({ x: new ort.Tensor('float32', x, [m, k]) })).y.data as Float32Array;
      await session.release();
      return y;
    };
    const ref = await run(false);
    // MatMulNBits at ORT's default QDQ accuracy level 4 quantizes its input to int8 blocks: close, not exact
    const nbits = await run(true);
    const exec = new GraphExecutor(q);
    const xt = tf.tensor(x, [m, k]);
    const r = exec.execute({ x: xt });
    const ours = (await r.outputs.get('y')!.data()) as Float32Array;
    tf.dispose([xt, ...r.outputs.values()]);
    exec.dispose();
    // and both equal x W~^T + b with W~ = codes x per-row scale
    for (let i = 0; i < m; i++)
      for (let o = 0; o < nOut; o++) {
        let v = graph.initializers.get('b')!.data[o] as number;
        for (let j = 0; j < k; j++) v += x[i * k + j] * codes[o * k + j] * scales[o];
        expect(ours[i * nOut + o], 'our executor').toBeCloseTo(v, 4);
        expect(ref[i * nOut + o], 'ort, DequantizeLinear + Gemm').toBeCloseTo(v, 4);
        expect(Math.abs(nbits[i * nOut + o] - v), 'ort, MatMulNBits').toBeLessThan(0.01);
      }
  }, 60_000);
});
