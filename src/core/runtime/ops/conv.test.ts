import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { importOnnx } from '../../importers/onnx/importOnnx.js';
import { buildOnnxModel } from '../../testing/onnxBuilder.js';
import { checkOp, f32, gradientFlows, opCheckPasses, oneOp, seeded, type OneOpSpec } from '../../testing/opCheck.js';
import { initBackend } from '../backends.js';
import { GraphExecutor } from '../executor.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const x = (c: number, h: number, w: number, n = 2) => ({ name: 'x', shape: [n, c, h, w] });

/** Conv with weight [O, C/g, k...] and optional bias. */
function conv(name: string, xs: { name: string; shape: number[] }, o: number, k: number[], attrs: OneOpSpec['attrs'] = {}, bias = false): [string, OneOpSpec] {
  const g = (attrs?.group as number | undefined) ?? 1;
  const c = xs.shape[1];
  const init = [f32('w', [o, c / g, ...k], undefined, 5), ...(bias ? [f32('b', [o], undefined, 6)] : [])];
  return [name, { op: 'Conv', inputs: [xs], extra: bias ? ['w', 'b'] : ['w'], initializers: init, attrs: { kernel_shape: k, ...attrs } }];
}

function convT(name: string, xs: { name: string; shape: number[] }, oPerGroup: number, k: number[], attrs: OneOpSpec['attrs'] = {}, bias = false): [string, OneOpSpec] {
  const g = (attrs?.group as number | undefined) ?? 1;
  const c = xs.shape[1];
  const init = [f32('w', [c, oPerGroup, ...k], undefined, 5), ...(bias ? [f32('b', [oPerGroup * g], undefined, 6)] : [])];
  return [name, { op: 'ConvTranspose', inputs: [xs], extra: bias ? ['w', 'b'] : ['w'], initializers: init, attrs: { kernel_shape: k, ...attrs } }];
}

const CONV_CASES: [string, OneOpSpec][] = [
  conv('3x3 pad 1 + bias', x(3, 8, 8), 4, [3, 3], { pads: [1, 1, 1, 1] }, true),
  conv('stride 2', x(3, 9, 9), 4, [3, 3], { strides: [2, 2], pads: [1, 1, 1, 1] }),
  conv('rectangular kernel, stride (1,2)', x(2, 7, 9), 3, [2, 3], { strides: [1, 2] }),
  conv('dilations 2', x(2, 9, 9), 3, [3, 3], { dilations: [2, 2], pads: [2, 2, 2, 2] }, true),
  conv('dilations with strides', x(2, 11, 11), 3, [3, 3], { dilations: [2, 2], strides: [2, 2], pads: [1, 1, 1, 1] }),
  conv('asymmetric pads', x(2, 6, 7), 3, [3, 3], { pads: [0, 1, 2, 1] }, true),
  conv('per-axis pads (1,0)', x(2, 6, 7), 3, [3, 3], { pads: [1, 0, 1, 0] }),
  conv('auto_pad SAME_UPPER stride 2', x(2, 7, 8), 3, [3, 3], { auto_pad: 'SAME_UPPER', strides: [2, 2] }),
  conv('auto_pad SAME_LOWER', x(2, 7, 8), 3, [4, 4], { auto_pad: 'SAME_LOWER' }),
  conv('auto_pad VALID', x(2, 7, 8), 3, [3, 3], { auto_pad: 'VALID' }),
  conv('groups 2', x(4, 6, 6), 6, [3, 3], { group: 2, pads: [1, 1, 1, 1] }, true),
  conv('depthwise', x(4, 6, 6), 4, [3, 3], { group: 4, pads: [1, 1, 1, 1] }, true),
  conv('depthwise multiplier 2, stride 2', x(3, 7, 7), 6, [3, 3], { group: 3, strides: [2, 2], pads: [1, 1, 1, 1] }),
  conv('depthwise dilated asymmetric', x(3, 8, 8), 3, [3, 3], { group: 3, dilations: [2, 2], pads: [2, 1, 0, 2] }),
  conv('1x1', x(5, 4, 4), 7, [1, 1], {}, true),
  conv('1-D', { name: 'x', shape: [2, 3, 10] }, 4, [3], { pads: [1, 2], strides: [2] }, true),
];

const CONVT_CASES: [string, OneOpSpec][] = [
  convT('basic', x(3, 4, 4), 2, [3, 3], {}, true),
  convT('stride 2, pads 1', x(3, 4, 5), 2, [3, 3], { strides: [2, 2], pads: [1, 1, 1, 1] }),
  convT('stride 2, output_padding 1', x(2, 4, 4), 3, [3, 3], { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] }, true),
  convT('asymmetric pads', x(2, 5, 4), 2, [3, 3], { strides: [2, 2], pads: [0, 1, 2, 1] }),
  convT('groups 2', x(4, 4, 4), 3, [3, 3], { group: 2, strides: [2, 2] }, true),
  convT('dilations 2', x(2, 4, 4), 2, [3, 3], { dilations: [2, 2] }),
  convT('auto_pad SAME_UPPER', x(2, 5, 5), 2, [3, 3], { auto_pad: 'SAME_UPPER', strides: [2, 2] }),
  convT('auto_pad SAME_LOWER', x(2, 5, 5), 2, [4, 4], { auto_pad: 'SAME_LOWER', strides: [2, 2] }),
  convT('output_shape', x(2, 4, 4), 2, [3, 3], { strides: [2, 2], output_shape: [8, 8] }),
  convT('stride 3 > kernel 2', x(2, 3, 3), 2, [2, 2], { strides: [3, 3] }),
  convT('1-D, stride 2, output_padding', { name: 'x', shape: [2, 3, 5] }, 2, [3], { strides: [2], pads: [1, 0], output_padding: [1] }, true),
];

describe('Conv matches onnxruntime-node, with input gradients', () => {
  it.each(CONV_CASES)('Conv %s', async (_, spec) => {
    const r = await checkOp({ model: oneOp(spec) });
    expect(opCheckPasses(r)).toEqual([]);
  });
  it.each(CONVT_CASES)('ConvTranspose %s', async (_, spec) => {
    const r = await checkOp({ model: oneOp(spec) });
    expect(opCheckPasses(r)).toEqual([]);
  });
});

describe('Conv weight gradients through overrides: wasm equals the cpu backend', () => {
  const cases: [string, OneOpSpec][] = [
    conv('standard stride 2', x(3, 7, 7), 4, [3, 3], { strides: [2, 2], pads: [1, 1, 1, 1] }, true),
    conv('depthwise', x(4, 6, 6), 4, [3, 3], { group: 4, pads: [1, 1, 1, 1] }),
    conv('grouped', x(4, 6, 6), 6, [3, 3], { group: 2 }),
    conv('dilated', x(2, 9, 9), 3, [3, 3], { dilations: [2, 2] }),
    convT('ConvTranspose stride 2', x(3, 4, 4), 2, [3, 3], { strides: [2, 2], pads: [1, 1, 1, 1] }),
  ];
  it.each(cases)('%s', async (_, spec) => {
    const model = oneOp(spec);
    const graph = importOnnx(buildOnnxModel(model));
    const wInit = model.initializers!.find((i) => i.name === 'w')!;
    const xShape = spec.inputs[0].shape;
    const grads = async (backend: string) => {
      await tf.setBackend(backend);
      const ex = new GraphExecutor(graph);
      const w = tf.variable(tf.tensor(Float32Array.from(wInit.data as ArrayLike<number>), wInit.dims));
      const xt = tf.tensor(seeded(xShape.reduce((a, b) => a * b, 1), 9), xShape);
      const { value, grads: g } = tf.variableGrads(() => {
        const y = ex.execute({ x: xt }, { overrides: new Map([['w', w as tf.Tensor]]) }).outputs.get('y')!;
        return tf.sum(tf.mul(y, tf.sin(tf.range(0, y.size).reshape(y.shape)))) as tf.Scalar;
      }, [w]);
      const out = Float32Array.from(g[w.name].dataSync());
      [value, ...Object.values(g), w, xt].forEach((t) => t.dispose());
      ex.dispose();
      return out;
    };
    const onWasm = await grads('wasm');
    const onCpu = await grads('cpu');
    await tf.setBackend('wasm');
    expect(gradientFlows(onWasm)).toBe(true);
    let scale = 1;
    onCpu.forEach((v) => (scale = Math.max(scale, Math.abs(v))));
    let diff = 0;
    onCpu.forEach((v, i) => (diff = Math.max(diff, Math.abs(v - onWasm[i]))));
    expect(diff / scale).toBeLessThan(1e-4);
  });
});
