import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backends.js';
import type { BuilderModel } from '../../testing/onnxBuilder.js';
import { checkOp, f32, gradientFlows, opCheckPasses, i64, oneOp, type OneOpSpec } from '../../testing/opCheck.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const X = { name: 'x', shape: [2, 3, 4, 5] };
const reduce = (op: string, axes: number[] | undefined, keepdims: number, afterConv = true, opset = 13): [string, OneOpSpec] => [
  `${op} axes ${axes ? `[${axes}]` : 'all'} keepdims ${keepdims}${afterConv ? ' (NHWC input)' : ''}${opset !== 13 ? ` opset ${opset}` : ''}`,
  opset >= 13 && op === 'ReduceSum' || opset >= 18
    ? { op, inputs: [X], extra: axes ? ['a'] : [], initializers: axes ? [i64('a', axes)] : [], attrs: { keepdims }, afterConv, opset }
    : { op, inputs: [X], attrs: { keepdims, ...(axes ? { axes } : {}) }, afterConv, opset },
];

const CASES: [string, OneOpSpec][] = [
  reduce('ReduceMean', [2, 3], 1),
  reduce('ReduceMean', [2, 3], 0),
  reduce('ReduceMean', [1], 0),
  reduce('ReduceMean', [1, 2], 0),
  reduce('ReduceMean', [0, 2, 3], 1, false),
  reduce('ReduceMean', undefined, 0),
  reduce('ReduceMean', [-1], 1, true, 18),
  reduce('ReduceSum', [1], 1),
  reduce('ReduceSum', [2, 3], 0, false),
  reduce('ReduceSum', [1, 3], 0, true, 11),
  ['MatMul [2,3,4] x [4,5]', { op: 'MatMul', inputs: [{ name: 'x', shape: [2, 3, 4] }], extra: ['w'], initializers: [f32('w', [4, 5])] }],
  ['MatMul batch broadcast [2,1,3,4] x [3,4,2]', { op: 'MatMul', inputs: [{ name: 'x', shape: [2, 1, 3, 4] }, { name: 'z', shape: [3, 4, 2] }] }],
  ['MatMul vector [4] x [4,3]', { op: 'MatMul', inputs: [{ name: 'x', shape: [4] }], extra: ['w'], initializers: [f32('w', [4, 3])] }],
  ['MatMul [2,3,4] x vector [4]', { op: 'MatMul', inputs: [{ name: 'x', shape: [2, 3, 4] }], extra: ['w'], initializers: [f32('w', [4])] }],
  ['Gemm transB with bias [N]', { op: 'Gemm', inputs: [{ name: 'x', shape: [3, 4] }], extra: ['w', 'c'], initializers: [f32('w', [5, 4]), f32('c', [5])], attrs: { transB: 1 } }],
  ['Gemm transA, alpha, beta, bias [M,N]', {
    op: 'Gemm', inputs: [{ name: 'x', shape: [4, 3] }], extra: ['w', 'c'], initializers: [f32('w', [4, 5]), f32('c', [3, 5])],
    attrs: { transA: 1, alpha: { f: 0.5 }, beta: { f: 2 } },
  }],
  ['Gemm without bias', { op: 'Gemm', inputs: [{ name: 'x', shape: [3, 4] }], extra: ['w'], initializers: [f32('w', [4, 2])] }],
];

describe('reductions and matrix products match onnxruntime-node, with gradients', () => {
  it.each(CASES)('%s', async (_, spec) => {
    const r = await checkOp({ model: oneOp(spec) });
    expect(opCheckPasses(r)).toEqual([]);
  });
});

describe('QuantizeLinear / DequantizeLinear match onnxruntime-node', () => {
  // values on exact .5 ties of the scale check round-half-to-even; large ones check saturation
  const ties = Array.from({ length: 120 }, (_, i) => ((i % 2 ? 1 : -1) * (i - 60 + 0.5) * 0.1) + (i % 7 === 0 ? 40 : 0));

  it('per-tensor uint8 (zero point 128) round trip', async () => {
    const model: BuilderModel = {
      opset: 13,
      inputs: [X],
      outputs: [{ name: 'q', dtype: 'uint8' as const }, { name: 'y' }],
      initializers: [f32('s', [], [0.1]), { name: 'zp', dtype: 'uint8' as const, dims: [], data: [128] }],
      nodes: [
        { opType: 'QuantizeLinear', inputs: ['x', 's', 'zp'], outputs: ['q'] },
        { opType: 'DequantizeLinear', inputs: ['q', 's', 'zp'], outputs: ['y'] },
      ],
    };
    const r = await checkOp({ model, inputs: { x: ties }, gradWrt: false });
    expect(r.relDiff).toBe(0);
    expect(r.leaked).toBe(0);
  });

  it('per-axis int8 on channels of an NHWC-held value, no zero point given -> uint8', async () => {
    const model: BuilderModel = {
      opset: 13,
      inputs: [X],
      outputs: [{ name: 'y' }, { name: 'q0', dtype: 'uint8' as const }],
      initializers: [
        f32('w', [3, 3, 1, 1], [1, 0, 0, 0, 1, 0, 0, 0, 1]),
        f32('s', [3], [0.1, 0.05, 0.2]),
        { name: 'zp', dtype: 'int8' as const, dims: [3], data: [0, -3, 5] },
        f32('s0', [], [0.25]),
      ],
      nodes: [
        { opType: 'Conv', inputs: ['x', 'w'], outputs: ['c'], attrs: { kernel_shape: [1, 1] } },
        { opType: 'QuantizeLinear', inputs: ['c', 's', 'zp'], outputs: ['q'], attrs: { axis: 1 } },
        { opType: 'DequantizeLinear', inputs: ['q', 's', 'zp'], outputs: ['y'], attrs: { axis: 1 } },
        { opType: 'QuantizeLinear', inputs: ['c', 's0'], outputs: ['q0'] },
      ],
    };
    const r = await checkOp({ model, inputs: { x: ties }, gradWrt: false });
    expect(r.relDiff).toBe(0);
  });

  it('QDQ Conv: int8 per-output-channel weight dequantized on the fly, gradient w.r.t. the input', async () => {
    const model: BuilderModel = {
      opset: 13,
      inputs: [X],
      outputs: [{ name: 'y' }],
      initializers: [
        { name: 'wq', dtype: 'int8' as const, dims: [4, 3, 3, 3], data: Array.from({ length: 108 }, (_, i) => ((i * 37) % 255) - 127) },
        f32('ws', [4], [0.01, 0.02, 0.005, 0.03]),
        { name: 'wz', dtype: 'int8' as const, dims: [4], data: [0, 0, 0, 0] },
      ],
      nodes: [
        { opType: 'DequantizeLinear', inputs: ['wq', 'ws', 'wz'], outputs: ['w'], attrs: { axis: 0 } },
        { opType: 'Conv', inputs: ['x', 'w'], outputs: ['y'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
      ],
    };
    const r = await checkOp({ model, raw: true });
    expect(r.relDiff).toBeLessThan(1e-4);
    expect(gradientFlows(r.grad)).toBe(true);
    expect(r.gradVsCpu).toBeLessThan(1e-3);
  });
});
