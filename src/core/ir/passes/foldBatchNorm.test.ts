import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { writeOnnx } from '../../exporters/onnx/onnxWriter.js';
import { importOnnx } from '../../importers/onnx/importOnnx.js';
import { buildOnnxModel, type BuilderModel } from '../../testing/onnxBuilder.js';
import { cifarFixture } from '../../testing/fixtures.js';
import { foldBatchNorm } from './foldBatchNorm.js';

function rand(n: number, seed: number, scale = 1, offset = 0): Float32Array {
  let s = seed >>> 0 || 1;
  return new Float32Array(n).map(() => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return offset + scale * (s / 2 ** 32 - 0.5);
  });
}

async function run(bytes: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run(feeds);
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
}

function bnInits(prefix: string, c: number, seed: number): BuilderModel['initializers'] {
  return [
    { name: `${prefix}.gamma`, dims: [c], data: rand(c, seed, 1, 1) },
    { name: `${prefix}.beta`, dims: [c], data: rand(c, seed + 1) },
    { name: `${prefix}.mean`, dims: [c], data: rand(c, seed + 2) },
    { name: `${prefix}.var`, dims: [c], data: rand(c, seed + 3, 1, 0.8) },
  ];
}

function expectClose(a: Float32Array, b: Float32Array, tol = 1e-4): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(tol * (1 + Math.abs(b[i])));
}

describe('foldBatchNorm', () => {
  it('Conv(+bias)->BN->Relu and bias-less grouped Conv->BN fold; ORT outputs match', async () => {
    const spec: BuilderModel = {
      opset: 13,
      inputs: [{ name: 'x', shape: [2, 4, 6, 6] }],
      outputs: [{ name: 'y', shape: [2, 6, 3, 3] }],
      initializers: [
        { name: 'w1', dims: [6, 4, 3, 3], data: rand(216, 1) },
        { name: 'b1', dims: [6], data: rand(6, 2) },
        ...bnInits('bn1', 6, 10)!,
        { name: 'w2', dims: [6, 3, 3, 3], data: rand(162, 3) },
        ...bnInits('bn2', 6, 20)!,
      ],
      nodes: [
        { opType: 'Conv', inputs: ['x', 'w1', 'b1'], outputs: ['c1'], attrs: { pads: [1, 1, 1, 1] }, name: 'conv1' },
        { opType: 'BatchNormalization', inputs: ['c1', 'bn1.gamma', 'bn1.beta', 'bn1.mean', 'bn1.var'], outputs: ['n1'], attrs: { epsilon: { f: 1e-3 } }, name: 'bn1' },
        { opType: 'Relu', inputs: ['n1'], outputs: ['r1'] },
        { opType: 'Conv', inputs: ['r1', 'w2'], outputs: ['c2'], attrs: { pads: [1, 1, 1, 1], strides: [2, 2], group: 2 }, name: 'conv2' },
        { opType: 'BatchNormalization', inputs: ['c2', 'bn2.gamma', 'bn2.beta', 'bn2.mean', 'bn2.var'], outputs: ['y'], name: 'bn2' },
      ],
    };
    const bytes = buildOnnxModel(spec);
    const graph = importOnnx(bytes);
    const snapshot = JSON.stringify(graph.nodes);
    const { graph: f, folded, kept } = foldBatchNorm(graph);
    expect(JSON.stringify(graph.nodes)).toBe(snapshot); // input untouched
    expect(folded).toEqual([
      { batchNorm: 'bn1', into: 'conv1' },
      { batchNorm: 'bn2', into: 'conv2' },
    ]);
    expect(kept).toEqual([]);
    expect(f.nodes.map((n) => n.opType)).toEqual(['Conv', 'Relu', 'Conv']);
    expect([...f.initializers.keys()].some((k) => k.startsWith('bn'))).toBe(false);
    const x = new ort.Tensor('float32', rand(2 * 4 * 36, 7, 4), [2, 4, 6, 6]);
    const ref = await run(bytes, { x });
    const got = await run(writeOnnx(f), { x });
    expectClose(got.y, ref.y);
  });

  it('Gemm (transB 0/1, beta) folds; a Conv whose output is also used elsewhere is kept', async () => {
    const spec: BuilderModel = {
      opset: 13,
      inputs: [{ name: 'x', shape: [3, 5] }],
      outputs: [{ name: 'y', shape: [3, 4] }, { name: 'z', shape: [3, 4] }, { name: 'raw', shape: [3, 4] }],
      initializers: [
        { name: 'B1', dims: [5, 4], data: rand(20, 1) },
        { name: 'C1', dims: [4], data: rand(4, 2) },
        { name: 'B2', dims: [4, 5], data: rand(20, 3) },
        ...bnInits('bnA', 4, 30)!,
        ...bnInits('bnB', 4, 40)!,
        ...bnInits('bnC', 4, 50)!,
      ],
      nodes: [
        { opType: 'Gemm', inputs: ['x', 'B1', 'C1'], outputs: ['g1'], attrs: { beta: { f: 0.5 }, alpha: { f: 2 } }, name: 'gemm1' },
        { opType: 'BatchNormalization', inputs: ['g1', 'bnA.gamma', 'bnA.beta', 'bnA.mean', 'bnA.var'], outputs: ['y'], name: 'bnA' },
        { opType: 'Gemm', inputs: ['x', 'B2'], outputs: ['g2'], attrs: { transB: 1 }, name: 'gemm2' },
        { opType: 'BatchNormalization', inputs: ['g2', 'bnB.gamma', 'bnB.beta', 'bnB.mean', 'bnB.var'], outputs: ['z'], name: 'bnB' },
        { opType: 'Gemm', inputs: ['x', 'B2'], outputs: ['raw'], attrs: { transB: 1 }, name: 'gemm3' },
        { opType: 'BatchNormalization', inputs: ['raw', 'bnC.gamma', 'bnC.beta', 'bnC.mean', 'bnC.var'], outputs: ['unused'], name: 'bnC' },
      ],
    };
    const bytes = buildOnnxModel(spec);
    const { graph: f, folded, kept } = foldBatchNorm(importOnnx(bytes));
    expect(folded.map((x) => x.batchNorm)).toEqual(['bnA', 'bnB']);
    expect(kept.map((x) => x.batchNorm)).toEqual(['bnC']);
    expect(kept[0].reason).toMatch(/other consumers/);
    // B2 is shared by gemm2 and gemm3: gemm3 must keep the original weights
    expect(f.nodes.find((n) => n.name === 'gemm3')!.inputs[1]).toBe('B2');
    expect(f.nodes.find((n) => n.name === 'gemm2')!.inputs[1]).not.toBe('B2');
    const x = new ort.Tensor('float32', rand(15, 9, 3), [3, 5]);
    const ref = await run(bytes, { x });
    const got = await run(writeOnnx(f), { x });
    for (const k of ['y', 'z', 'raw']) expectClose(got[k], ref[k]);
  });

  it('ResNet-20: folding all 19 BN gives the outputs of the BN model (and of the exporter-folded fixture)', async () => {
    const bytes = new Uint8Array(readFileSync(cifarFixture('resnet20_bn.onnx')));
    const { graph: f, folded, kept } = foldBatchNorm(importOnnx(bytes));
    expect(folded.length).toBe(19);
    expect(kept).toEqual([]);
    expect(f.nodes.some((n) => n.opType === 'BatchNormalization')).toBe(false);
    const x = new ort.Tensor('float32', rand(2 * 3 * 32 * 32, 5, 4), [2, 3, 32, 32]);
    const ref = await run(bytes, { input: x });
    const got = await run(writeOnnx(f), { input: x });
    const fixture = await run(new Uint8Array(readFileSync(cifarFixture('resnet20_folded.onnx'))), { input: x });
    expectClose(got.logits, ref.logits, 1e-3);
    expectClose(got.logits, fixture.logits, 1e-3);
  });
});
