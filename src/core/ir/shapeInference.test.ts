import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { importOnnx } from '../importers/onnx/importOnnx.js';
import { cifarFixture } from '../testing/fixtures.js';
import { buildOnnxModel, type BuilderInitializer, type BuilderNode } from '../testing/onnxBuilder.js';
import { inferShapes, shapesAtBatchOne } from './shapeInference.js';

const i64 = (name: string, data: number[], dims = [data.length]): BuilderInitializer => ({ name, dtype: 'int64', dims, data });
const f32 = (name: string, dims: number[], fill = 0.1): BuilderInitializer => ({ name, dims, data: new Array(dims.reduce((p, d) => p * d, 1)).fill(fill) });

/** Every node output is also a graph output, so ORT reports all the shapes to compare against. */
const nodes: BuilderNode[] = [
  { opType: 'Conv', inputs: ['x', 'w'], outputs: ['conv'], attrs: { pads: [1, 0, 2, 1], strides: [2, 1], dilations: [1, 2] } },
  { opType: 'Conv', inputs: ['x', 'w'], outputs: ['conv_same'], attrs: { auto_pad: 'SAME_UPPER', strides: [2, 2] } },
  { opType: 'ConvTranspose', inputs: ['x', 'wt'], outputs: ['convt'], attrs: { strides: [2, 2], output_padding: [1, 0], pads: [1, 1, 0, 0] } },
  { opType: 'MaxPool', inputs: ['x'], outputs: ['maxpool'], attrs: { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 } },
  { opType: 'AveragePool', inputs: ['x'], outputs: ['avgpool'], attrs: { kernel_shape: [2, 2], strides: [2, 2], pads: [0, 0, 1, 1] } },
  { opType: 'GlobalAveragePool', inputs: ['conv'], outputs: ['gap'] },
  { opType: 'BatchNormalization', inputs: ['x', 'bn_s', 'bn_b', 'bn_m', 'bn_v'], outputs: ['bn'] },
  { opType: 'Clip', inputs: ['bn', 'lo', 'hi'], outputs: ['clip'] },
  { opType: 'Flatten', inputs: ['gap'], outputs: ['flat'], attrs: { axis: 1 } },
  { opType: 'Gemm', inputs: ['flat', 'gw', 'gb'], outputs: ['gemm'], attrs: { transB: 1 } },
  { opType: 'Softmax', inputs: ['gemm'], outputs: ['softmax'], attrs: { axis: -1 } },
  { opType: 'Reshape', inputs: ['x', 'rshape'], outputs: ['reshape'] },
  { opType: 'MatMul', inputs: ['reshape', 'mm'], outputs: ['matmul'] },
  { opType: 'Transpose', inputs: ['x'], outputs: ['transpose'], attrs: { perm: [0, 2, 3, 1] } },
  { opType: 'Unsqueeze', inputs: ['gemm', 'ax_un'], outputs: ['unsq'] },
  { opType: 'Squeeze', inputs: ['unsq', 'ax_sq'], outputs: ['sq'] },
  { opType: 'Concat', inputs: ['x', 'bn'], outputs: ['concat'], attrs: { axis: 1 } },
  { opType: 'Split', inputs: ['concat', 'split'], outputs: ['s0', 's1', 's2'], attrs: { axis: 1 } },
  { opType: 'Slice', inputs: ['x', 'sl_st', 'sl_en', 'sl_ax', 'sl_stp'], outputs: ['slice'] },
  { opType: 'Pad', inputs: ['x', 'pads'], outputs: ['pad'] },
  { opType: 'ReduceMean', inputs: ['x'], outputs: ['rmean'], attrs: { axes: [2, 3], keepdims: 0 } },
  { opType: 'ReduceSum', inputs: ['x', 'ax_rs'], outputs: ['rsum'] },
  { opType: 'Resize', inputs: ['x', '', 'scales'], outputs: ['resize'], attrs: { mode: 'nearest' } },
  { opType: 'Shape', inputs: ['x'], outputs: ['shape'] },
  { opType: 'Gather', inputs: ['shape', 'gidx'], outputs: ['gather'] },
  { opType: 'Gather', inputs: ['x', 'gidx2'], outputs: ['gather2'], attrs: { axis: 1 } },
  { opType: 'Cast', inputs: ['gather'], outputs: ['cast'], attrs: { to: 1 } },
  { opType: 'ConstantOfShape', inputs: ['cos_shape'], outputs: ['cos'], attrs: { value: { t: { dtype: 'float32', dims: [1], data: Float32Array.of(2) } } } },
  { opType: 'Expand', inputs: ['gap', 'exp_shape'], outputs: ['expand'] },
  { opType: 'Add', inputs: ['x', 'bias'], outputs: ['add'] },
  { opType: 'QuantizeLinear', inputs: ['x', 'qs', 'qz'], outputs: ['q'] },
  { opType: 'DequantizeLinear', inputs: ['q', 'qs', 'qz'], outputs: ['dq'] },
];

const initializers: BuilderInitializer[] = [
  f32('w', [4, 3, 3, 3]),
  f32('wt', [3, 2, 3, 3]),
  f32('bn_s', [3], 1), f32('bn_b', [3]), f32('bn_m', [3]), f32('bn_v', [3], 1),
  f32('lo', [], 0), f32('hi', [], 6),
  f32('gw', [5, 4]), f32('gb', [5]),
  i64('rshape', [0, -1, 10]),
  f32('mm', [10, 7]),
  i64('ax_un', [1, -1]), i64('ax_sq', [1]),
  i64('split', [1, 2, 3]),
  i64('sl_st', [-1, 1]), i64('sl_en', [-2147483648, 9]), i64('sl_ax', [3, 2]), i64('sl_stp', [-2, 3]),
  i64('pads', [0, 1, 2, 0, 0, 0, 1, 3]),
  i64('ax_rs', [1]),
  { name: 'scales', dims: [4], data: [1, 1, 2, 1.5] },
  i64('gidx', [2, 3]),
  i64('gidx2', [0, 2, 2, 1], [2, 2]),
  i64('cos_shape', [2, 3]),
  i64('exp_shape', [3, 1, 2, 2]),
  f32('bias', [10]),
  { name: 'qs', dims: [], data: [0.1] },
  { name: 'qz', dtype: 'uint8', dims: [], data: [128] },
];

const INT_OUTPUTS: Record<string, 'int64' | 'uint8'> = { shape: 'int64', gather: 'int64', q: 'uint8' };

describe('inferShapes', () => {
  it('matches onnxruntime output shapes for every supported op form', async () => {
    const outputs = nodes.flatMap((n) => n.outputs);
    const bytes = buildOnnxModel({ opset: 13, inputs: [{ name: 'x', shape: [3, 3, 9, 10] }], outputs: outputs.map((name) => ({ name, dtype: INT_OUTPUTS[name] ?? 'float32' })), initializers, nodes });
    const g = importOnnx(bytes);
    inferShapes(g, { x: [3, 3, 9, 10] });
    const session = await ort.InferenceSession.create(bytes);
    const x = new ort.Tensor('float32', new Float32Array(3 * 3 * 9 * 10).fill(0.5), [3, 3, 9, 10]);
    const result = await session.run({ x });
    for (const name of outputs) {
      expect([name, g.valueInfo.get(name)?.shape]).toEqual([name, result[name].dims]);
      expect([name, g.valueInfo.get(name)?.dtype]).toEqual([name, INT_OUTPUTS[name] ?? 'float32']);
    }
  });

  it('infers the ResNet-20 fixture down to logits [2,10]', () => {
    const g = importOnnx(new Uint8Array(readFileSync(cifarFixture('resnet20_bn.onnx'))));
    expect(inferShapes(g, { input: [2, 3, 32, 32] })).toBe(0);
    expect(g.valueInfo.get('logits')?.shape).toEqual([2, 10]);
    const pad = g.nodes.find((n) => n.opType === 'Pad')!;
    expect(g.valueInfo.get(pad.outputs[0])?.shape).toEqual([2, 32, 16, 16]);
  });
});

describe('shapesAtBatchOne', () => {
  it('infers on a copy at batch 1, with per-image shapes for inputs of unknown size', () => {
    const g = importOnnx(buildOnnxModel({
      opset: 13,
      inputs: [{ name: 'x', shape: ['N', 3, 'H', 'W'] }],
      outputs: [{ name: 'y' }],
      initializers: [f32('w', [4, 3, 3, 3])],
      nodes: [{ opType: 'Conv', inputs: ['x', 'w'], outputs: ['y'], attrs: { strides: [2, 2] } }],
    }));
    const before = [...g.valueInfo.keys()];
    expect(shapesAtBatchOne(g, { x: [3, 9, 11] }).get('y')?.shape).toEqual([1, 4, 4, 5]);
    // unknown dims without an image shape count as 1
    expect(shapesAtBatchOne(g).get('x')?.shape).toEqual([1, 3, 1, 1]);
    expect([...g.valueInfo.keys()]).toEqual(before);
  });
});
