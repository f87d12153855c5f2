import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Graph, Node, TensorData } from '../../ir/types.js';
import { initBackend } from '../../runtime/backends.js';
import { writeOnnx } from '../onnx/onnxWriter.js';
import { exportTfjsGraphModel } from './tfjsGraphExporter.js';

const f32 = (dims: number[], f: (i: number) => number): TensorData => ({ dtype: 'float32', dims, data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => f(i)) });
const i64 = (v: number[]): TensorData => ({ dtype: 'int64', dims: [v.length], data: Int32Array.from(v) });
const node = (name: string, opType: string, inputs: string[], attrs: Node['attrs'] = {}): Node => ({ name, opType, inputs, outputs: [name], attrs });

/** A small graph touching every translated op family that the sample model and ResNet-20 do not. */
function coverageGraph(): Graph {
  const inits = new Map<string, TensorData>([
    ['dw_w', f32([8, 1, 3, 3], (i) => Math.sin(i * 1.3) * 0.5)],
    ['dw_b', f32([8], (i) => 0.1 * i - 0.3)],
    ['lo', f32([], () => 0)],
    ['hi', f32([], () => 6)],
    ['sub_c', f32([16, 1, 1], (i) => 0.05 * i)],
    ['mul_c', f32([1], () => 1.7)],
    ['s_starts', i64([-1, 0])],
    ['s_ends', i64([-100, 16])],
    ['s_axes', i64([3, 1])],
    ['s_steps', i64([-1, 2])],
    ['pw_w', f32([6, 8, 1, 1], (i) => Math.cos(i * 0.7))],
    ['fc_w', f32([120, 10], (i) => Math.sin(i * 0.11) * 0.2)],
    ['fc_b', f32([10], (i) => i * 0.01)],
  ]);
  const nodes: Node[] = [
    node('dw', 'Conv', ['x', 'dw_w', 'dw_b'], { group: 4, kernel_shape: [3, 3], pads: [1, 0, 2, 1], strides: [2, 2] }),
    node('relu6', 'Clip', ['dw', 'lo', 'hi']),
    node('maxpool', 'MaxPool', ['relu6'], { kernel_shape: [2, 2], strides: [1, 1], pads: [0, 0, 1, 1] }),
    node('avgpool', 'AveragePool', ['relu6'], { kernel_shape: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], count_include_pad: 1 }),
    node('cat', 'Concat', ['maxpool', 'avgpool'], { axis: 1 }),
    node('sub', 'Sub', ['cat', 'sub_c']),
    node('mul', 'Mul', ['sub', 'mul_c']),
    node('feat', 'Sigmoid', ['mul']),
    node('slice', 'Slice', ['feat', 's_starts', 's_ends', 's_axes', 's_steps']),
    node('pw', 'Conv', ['slice', 'pw_w'], { kernel_shape: [1, 1] }),
    node('flat', 'Flatten', ['pw'], { axis: 1 }),
    node('fc', 'Gemm', ['flat', 'fc_w', 'fc_b'], { alpha: 0.5, beta: 2 }),
    node('prob', 'Softmax', ['fc'], { axis: 1 }),
  ];
  return {
    name: 'coverage', format: 'onnx', interfaceLayout: 'NCHW', opset: 13, metadata: {},
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 4, 9, 9] }],
    outputs: [{ name: 'prob', dtype: 'float32', shape: ['N', 10] }, { name: 'feat', dtype: 'float32', shape: ['N', 16, 5, 4] }],
    nodes, initializers: inits, valueInfo: new Map(),
  };
}

describe('TF.js export op coverage', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('depthwise conv, Relu6, padded pools, Concat, broadcast Sub/Mul, reversed strided Slice, Flatten, Gemm, Softmax match onnxruntime', async () => {
    const g = coverageGraph();
    const e = exportTfjsGraphModel(g);
    const ops = new Set(e.modelJson.modelTopology.node.map((n) => n.op));
    for (const op of ['DepthwiseConv2dNative', 'Relu6', 'MaxPool', 'AvgPool', 'ConcatV2', 'StridedSlice', 'Softmax', 'MatMul']) expect(ops).toContain(op);
    const x = Float32Array.from({ length: 2 * 4 * 9 * 9 }, (_, i) => Math.sin(i * 0.37) * 3);
    const session = await ort.InferenceSession.create(writeOnnx(g));
    const ref = await session.run({ x: new ort.Tensor('float32', x, [2, 4, 9, 9]) });

    const m = e.modelJson;
    const before = tf.memory().numTensors;
    const model = await tf.loadGraphModel(tf.io.fromMemory({ modelTopology: m.modelTopology, weightSpecs: m.weightsManifest[0].weights, weightData: e.files[0].bytes.slice().buffer, format: 'graph-model' } as tf.io.ModelArtifacts));
    const input = tf.tensor(x, [2, 4, 9, 9]);
    const [prob, feat] = model.execute(input, ['prob', 'feat']) as tf.Tensor[];
    expect(prob.shape).toEqual([2, 10]);
    expect(feat.shape).toEqual([2, 16, 5, 4]);
    for (const [t, name] of [[prob, 'prob'], [feat, 'feat']] as const) {
      const a = (await t.data()) as Float32Array;
      const b = ref[name].data as Float32Array;
      const diff = Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])));
      console.log(`${name}: max |diff| vs onnxruntime ${diff.toExponential(2)} over ${a.length} values`);
      expect(a.length).toBe(b.length);
      expect(diff, name).toBeLessThan(1e-5);
    }
    tf.dispose([input, prob, feat]);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
