/** 2/3-bit weights packed as bit planes: same function as the int4 container in ORT and our executor, fewer bytes. */
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { createOrtSession } from '../../../../cli/lib/ort.js';
import { importOnnx } from '../../importers/onnx/importOnnx.js';
import { compactNames } from '../../ir/passes/compactNames.js';
import { initBackend } from '../../runtime/backends.js';
import { GraphExecutor } from '../../runtime/executor.js';
import { cifarResNet } from '../../testing/resnetLike.js';
import { nearestPlan } from '../../testing/nearestPlan.js';
import { writeOnnx } from '../onnx/onnxWriter.js';
import { qdqOptionsForTarget } from './deploymentTargets.js';
import { packedCodeBytes, packPlane } from './packedLowBitWeight.js';
import { buildQdqGraph, type QuantizationPlan } from './qdqOnnxExporter.js';

describe('packPlane', () => {
  it('puts value i of a plane at bits width*(i mod per) of byte floor(i/per)', () => {
    expect(Array.from(packPlane([1, 2, 3, 0, 3], 2, 0))).toEqual([1 | (2 << 2) | (3 << 4), 3]);
    expect(Array.from(packPlane([4, 5, 0, 7, 1, 6, 4, 4, 5], 1, 2))).toEqual([1 | 2 | 8 | 32 | 64 | 128, 1]);
    expect(packedCodeBytes(9, 3)).toBe(3 + 2);
    expect(packedCodeBytes(9, 2)).toBe(3);
  });
});

describe('2- and 3-bit weights in the smallest export', () => {
  it('run in ORT and our executor exactly as their int4 containers, in fewer bytes', async () => {
    await initBackend('wasm');
    const n = 4;
    let s = 3;
    const images = Float32Array.from({ length: n * 3 * 32 * 32 }, () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1);
    const graph = importOnnx(cifarResNet(1, 4));
    const { folded, plan: plan4 } = await nearestPlan(graph, images, [n, 3, 32, 32], { weightBits: 4, keepFirstLast8bit: true }, { fast: true });
    // alternate 2 and 3 bits over the inner layers; codes clipped into the narrower range (the function
    // compared is the plan's, not the rounding's)
    let i = 0;
    const plan: QuantizationPlan = {
      ...plan4,
      layers: plan4.layers.map((l) => {
        if (l.weightBits !== 4) return l;
        const bits = i++ % 2 ? 3 : 2;
        const lim = 2 ** (bits - 1);
        return { ...l, weightBits: bits, weightCodes: l.weightCodes.map((c) => Math.max(-lim, Math.min(lim - 1, c))) };
      }),
    };
    expect(i).toBeGreaterThan(3);
    const packed = buildQdqGraph(folded, plan, qdqOptionsForTarget('smallest'));
    const container = buildQdqGraph(folded, plan, { ...qdqOptionsForTarget('smallest'), packBelowFourBits: false });
    // int4 holds 2 codes per byte; the planes 4 (2 bit) or 8/3 (3 bit). Names compacted as the pipeline
    // does: the unpacking nodes then cost ~300 bytes per layer.
    const saved = plan.layers.filter((l) => l.weightBits < 4).reduce((a, l) => a + Math.ceil(l.weightCodes.length / 2) - packedCodeBytes(l.weightCodes.length, l.weightBits), 0);
    const packedBytes = writeOnnx(compactNames(packed));
    const containerBytes = writeOnnx(compactNames(container));
    expect(containerBytes.byteLength - packedBytes.byteLength).toBeGreaterThan(0.8 * saved);

    const x = images.subarray(0, 2 * 3 * 32 * 32);
    const run = async (bytes: Uint8Array) => {
      const session = await createOrtSession(bytes);
      const out = await session.run({ [folded.inputs[0].name]: new ort.Tensor('float32', x, [2, 3, 32, 32]) });
      await session.release();
      return out[folded.outputs[0].name].data as Float32Array;
    };
    const ref = await run(containerBytes);
    const got = await run(packedBytes);
    expect(got.length).toBe(ref.length);
    for (let j = 0; j < ref.length; j++) expect(got[j]).toBeCloseTo(ref[j], 4);

    const before = tf.memory().numTensors;
    const exec = new GraphExecutor(importOnnx(packedBytes));
    const xt = tf.tensor(x, [2, 3, 32, 32]);
    const r = exec.execute({ [folded.inputs[0].name]: xt });
    const ours = (await r.outputs.get(folded.outputs[0].name)!.data()) as Float32Array;
    tf.dispose([xt, ...r.outputs.values()]);
    exec.dispose();
    expect(tf.memory().numTensors).toBe(before);
    for (let j = 0; j < ref.length; j++) expect(ours[j]).toBeCloseTo(ref[j], 3);
  }, 60_000);
});
