/**
 * The QDQ export as ONNX Runtime runs it: after ORT's graph optimizer (CPU EP), every Conv and Gemm of
 * ResNet-20 and of a MobileNetV2-style net is an integer kernel, and the integer model still computes
 * what the plan says (numerics against the unoptimized QDQ graph and the float model).
 */
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { kernelSummary, optimizedOpCounts, type OpCounts } from '../../../../cli/lib/ortKernels.js';
import { createOrtSession } from '../../../../cli/lib/ort.js';
import { cifar10Batch, parseCifar10 } from '../../data/cifar10.js';
import { importOnnx } from '../../importers/onnx/importOnnx.js';
import { initBackend } from '../../runtime/backends.js';
import type { Graph } from '../../ir/types.js';
import { CIFAR_MEAN, CIFAR_STD, cifarFixture } from '../../testing/fixtures.js';
import { mobileNetV2Like } from '../../testing/mobileNetV2Like.js';
import { nearestPlan } from '../../testing/nearestPlan.js';
import { writeOnnx } from '../onnx/onnxWriter.js';
import { deploymentTargetNotes, hostCpuArch, qdqOptionsForTarget } from './deploymentTargets.js';
import { buildQdqGraph, type QuantizationPlan } from './qdqOnnxExporter.js';

const N = 32;
const images = cifar10Batch(parseCifar10(new Uint8Array(readFileSync(cifarFixture('test_batch.bin')))), Array.from({ length: N }, (_, i) => i * 311), [...CIFAR_MEAN], [...CIFAR_STD]).images;

async function logits(model: Uint8Array, optimize = true): Promise<Float32Array> {
  const s = await createOrtSession(model, { optimize, threads: 1 });
  const out = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', images, [N, 3, 32, 32]) });
  await s.release();
  return out[s.outputNames[0]].data as Float32Array;
}

function top1(l: Float32Array): number[] {
  const k = l.length / N;
  return Array.from({ length: N }, (_, i) => {
    let best = 0;
    for (let j = 1; j < k; j++) if (l[i * k + j] > l[i * k + best]) best = j;
    return best;
  });
}
const agreement = (a: Float32Array, b: Float32Array) => top1(a).filter((p, i) => p === top1(b)[i]).length / N;
const count = (c: OpCounts, op: string) => (c[op] ?? 0) + (c[`com.microsoft.${op}`] ?? 0);

describe.each([
  ['ResNet-20', () => importOnnx(new Uint8Array(readFileSync(cifarFixture('resnet20_bn.onnx'))))],
  ['MobileNetV2-style (squeeze-excite, Ghost concat)', () => importOnnx(mobileNetV2Like({ seed: 3, squeezeExcite: true, concat: true }))],
  ['MobileNetV3-style (HardSwish, x*sigmoid(x))', () => importOnnx(mobileNetV2Like({ seed: 4, activations: 'mixed', width: 0.5 }))],
] as const)('ort-cpu export of %s', (_name, load) => {
  let folded: Graph;
  let plan: QuantizationPlan;
  let exported: Uint8Array;
  let counts: OpCounts;
  beforeAll(async () => {
    await initBackend('wasm');
    ({ folded, plan } = await nearestPlan(load(), images, [N, 3, 32, 32], { weightBits: 8, activationBits: 8 }, { fast: true }));
    exported = writeOnnx(buildQdqGraph(folded, plan, qdqOptionsForTarget('ort-cpu')));
    counts = await optimizedOpCounts(exported);
  }, 60_000);

  it('runs every Conv and the Gemm as integer kernels after ORT optimization', () => {
    const convs = folded.nodes.filter((n) => n.opType === 'Conv').length;
    const adds = folded.nodes.filter((n) => n.opType === 'Add').length;
    const s = kernelSummary(counts);
    expect(s.floatCompute, JSON.stringify(counts)).toBe(0);
    expect(count(counts, 'QLinearConv')).toBe(convs);
    expect(count(counts, 'QLinearMatMul')).toBe(1);
    expect(count(counts, 'QLinearAdd')).toBe(adds);
    expect(count(counts, 'QLinearGlobalAveragePool')).toBe(folded.nodes.filter((n) => n.opType === 'GlobalAveragePool').length);
    expect(count(counts, 'QLinearMul')).toBe(folded.nodes.filter((n) => n.opType === 'Mul').length);
    expect(count(counts, 'QLinearConcat')).toBe(folded.nodes.filter((n) => n.opType === 'Concat').length);
    // NHWC integer kernels back to back: layout changes only at the network's ends
    expect(s.transposes).toBeLessThanOrEqual(2 + count(counts, 'QLinearMul'));
  });

  it('computes the planned grids: the uint8 form equals the as-planned one, integer kernels stay close, top-1 follows float', async () => {
    const planned = await logits(writeOnnx(buildQdqGraph(folded, plan, { ...qdqOptionsForTarget('ort-cpu'), activationType: 'as-planned' })), false);
    const reference = await logits(exported, false);
    let maxDiff = 0;
    for (let i = 0; i < planned.length; i++) maxDiff = Math.max(maxDiff, Math.abs(planned[i] - reference[i]));
    expect(maxDiff).toBeLessThan(1e-4);
    const integer = await logits(exported, true);
    expect(agreement(integer, reference)).toBeGreaterThanOrEqual(0.9);
    // the MobileNet-style nets have random weights, hence small logit margins: a looser bound than ResNet-20's
    expect(agreement(integer, await logits(writeOnnx(folded)))).toBeGreaterThanOrEqual(_name === 'ResNet-20' ? 0.85 : 0.75);
  });
});

describe('a layer kept float between quantized activations (ResNet-20)', () => {
  it('ONNX Runtime quantizes its float weights itself; the report says so, and a float input keeps it float', async () => {
    await initBackend('wasm');
    const { folded, plan } = await nearestPlan(importOnnx(new Uint8Array(readFileSync(cifarFixture('resnet20_bn.onnx')))), images, [N, 3, 32, 32], { weightBits: 8, activationBits: 8 }, { fast: true });
    const convs = folded.nodes.filter((n) => n.opType === 'Conv');
    const keep = convs[5];
    const floatLayer: QuantizationPlan = { ...plan, layers: plan.layers.filter((l) => l.node !== keep.name) };
    const fused = await optimizedOpCounts(writeOnnx(buildQdqGraph(folded, floatLayer, qdqOptionsForTarget('ort-cpu'))));
    // the premise: ORT (WeightBiasQuantization, 1.21+) turns DQ -> float Conv -> Q into an integer kernel anyway
    expect(count(fused, 'QLinearConv')).toBe(convs.length);
    const notes = deploymentTargetNotes('ort-cpu', floatLayer, folded);
    expect(notes.join(' ')).toContain(keep.name);
    expect(notes.join(' ')).toMatch(/quantizes their float weights/);
    // with its input activation float too, the layer stays float in ORT, and no such note
    const floatInput: QuantizationPlan = { ...floatLayer, activations: Object.fromEntries(Object.entries(plan.activations).filter(([v]) => v !== keep.inputs[0])) };
    const kept = await optimizedOpCounts(writeOnnx(buildQdqGraph(folded, floatInput, qdqOptionsForTarget('ort-cpu'))));
    expect(count(kept, 'QLinearConv')).toBe(convs.length - 1);
    expect(deploymentTargetNotes('ort-cpu', floatInput, folded).join(' ')).not.toMatch(/quantizes their float weights/);
  }, 120_000);
});

describe('deployment targets', () => {
  it('U8S8 on x86-64 and in WebAssembly, S8S8 on ARM; smallest keeps packed int4', () => {
    expect(qdqOptionsForTarget('ort-cpu', 'x64').activationType).toBe('uint8');
    expect(qdqOptionsForTarget('ort-cpu', 'arm64').activationType).toBe('int8');
    expect(qdqOptionsForTarget('ort-web', 'arm64').activationType).toBe('uint8');
    expect(qdqOptionsForTarget('smallest').lowBitWeights).toBe('int4');
    expect(['x64', 'arm64', 'wasm']).toContain(hostCpuArch());
  });
});
