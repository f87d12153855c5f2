import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { buildOnnxModel } from './onnxBuilder.js';

describe('buildOnnxModel', () => {
  it('builds an Add model that onnxruntime-node runs', async () => {
    const bytes = buildOnnxModel({
      opset: 13,
      inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 3] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 3] }],
      initializers: [{ name: 'b', dtype: 'float32', dims: [3], data: [1, 2, 3.5] }],
      nodes: [{ opType: 'Add', inputs: ['x', 'b'], outputs: ['y'] }],
    });
    const session = await ort.InferenceSession.create(bytes);
    const x = new ort.Tensor('float32', Float32Array.from([10, 20, 30, -1, -2, -3]), [2, 3]);
    const { y } = await session.run({ x });
    expect(Array.from(y.data as Float32Array)).toEqual([11, 22, 33.5, 0, 0, 0.5]);
    expect(y.dims).toEqual([2, 3]);
  });

  it('encodes int and float attributes so ORT applies them (LeakyRelu alpha, Transpose perm)', async () => {
    const bytes = buildOnnxModel({
      opset: 13,
      inputs: [{ name: 'x', shape: [2, 2] }],
      outputs: [{ name: 'y', shape: [2, 2] }],
      nodes: [
        { opType: 'LeakyRelu', inputs: ['x'], outputs: ['t'], attrs: { alpha: 0.5 } },
        { opType: 'Transpose', inputs: ['t'], outputs: ['y'], attrs: { perm: [1, 0] } },
      ],
    });
    const session = await ort.InferenceSession.create(bytes);
    const { y } = await session.run({ x: new ort.Tensor('float32', Float32Array.from([1, -2, -4, 8]), [2, 2]) });
    expect(Array.from(y.data as Float32Array)).toEqual([1, -2, -1, 8]);
  });

  it('encodes int64 initializers, typed fields and explicit float attrs (Reshape + Clip opset 11)', async () => {
    const bytes = buildOnnxModel({
      opset: 11,
      inputs: [{ name: 'x', shape: [4] }],
      outputs: [{ name: 'y', shape: [2, 2] }],
      initializers: [
        { name: 'shape', dtype: 'int64', dims: [2], data: [2, 2], encoding: 'typed' },
        { name: 'lo', dims: [], data: [0], encoding: 'typed' },
      ],
      nodes: [
        { opType: 'Reshape', inputs: ['x', 'shape'], outputs: ['r'] },
        { opType: 'Clip', inputs: ['r', 'lo'], outputs: ['y'] },
      ],
    });
    const session = await ort.InferenceSession.create(bytes);
    const { y } = await session.run({ x: new ort.Tensor('float32', Float32Array.from([1, -2, 3, -4]), [4]) });
    expect(Array.from(y.data as Float32Array)).toEqual([1, 0, 3, 0]);
    expect(y.dims).toEqual([2, 2]);
  });
});
