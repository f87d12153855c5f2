import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backends.js';
import { checkOp, f32, gradientFlows, opCheckPasses, oneOp, type OneOpSpec } from '../../testing/opCheck.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const x = (c: number, h: number, w: number, n = 2) => ({ name: 'x', shape: [n, c, h, w] });
const pool = (op: string, name: string, xs: { name: string; shape: number[] }, attrs: OneOpSpec['attrs'], afterConv = false): [string, OneOpSpec] => [
  `${op} ${name}${afterConv ? ' (NHWC input)' : ''}`,
  { op, inputs: [xs], attrs, afterConv },
];

const CASES: [string, OneOpSpec][] = [
  pool('MaxPool', '2x2 stride 2', x(3, 8, 8), { kernel_shape: [2, 2], strides: [2, 2] }),
  pool('MaxPool', '3x3 stride 2 pads 1', x(3, 9, 9), { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }, true),
  pool('MaxPool', 'ceil_mode', x(2, 8, 8), { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 }),
  pool('MaxPool', 'ceil_mode with pads', x(2, 7, 7), { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 }),
  pool('MaxPool', 'asymmetric pads', x(2, 7, 6), { kernel_shape: [3, 3], pads: [0, 1, 2, 1] }),
  pool('MaxPool', 'rectangular kernel + strides', x(2, 7, 9), { kernel_shape: [2, 3], strides: [1, 2], pads: [1, 1, 1, 1] }),
  pool('MaxPool', 'auto_pad SAME_UPPER', x(2, 7, 7), { kernel_shape: [3, 3], strides: [2, 2], auto_pad: 'SAME_UPPER' }),
  pool('MaxPool', 'dilations 2', x(2, 9, 9), { kernel_shape: [3, 3], dilations: [2, 2] }),
  pool('MaxPool', '1-D', { name: 'x', shape: [2, 3, 11] }, { kernel_shape: [3], strides: [2], pads: [1, 1] }),
  pool('AveragePool', '2x2 stride 2', x(3, 8, 8), { kernel_shape: [2, 2], strides: [2, 2] }, true),
  pool('AveragePool', 'pads, count_include_pad 0', x(2, 7, 7), { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }),
  pool('AveragePool', 'pads, count_include_pad 1', x(2, 7, 7), { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 }),
  pool('AveragePool', 'asymmetric pads, count_include_pad 1', x(2, 7, 6), { kernel_shape: [3, 3], pads: [0, 1, 2, 1], count_include_pad: 1 }),
  pool('AveragePool', 'ceil_mode', x(2, 8, 8), { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 }),
  pool('AveragePool', 'ceil_mode, pads, count_include_pad 1', x(2, 8, 8), { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1, count_include_pad: 1 }),
  pool('AveragePool', 'auto_pad SAME_LOWER', x(2, 7, 7), { kernel_shape: [2, 2], auto_pad: 'SAME_LOWER' }),
  pool('AveragePool', 'rectangular', x(2, 7, 9), { kernel_shape: [3, 2], strides: [2, 1] }),
  pool('GlobalAveragePool', '', x(4, 5, 6), {}),
  pool('GlobalAveragePool', '', x(4, 5, 6), {}, true),
  pool('GlobalMaxPool', '', x(4, 5, 6), {}, true),
  ['BatchNormalization 4-D (NHWC input)', {
    op: 'BatchNormalization', inputs: [x(3, 4, 5)], extra: ['s', 'b', 'm', 'v'], afterConv: true, attrs: { epsilon: { f: 1e-3 } },
    initializers: [f32('s', [3]), f32('b', [3], undefined, 12), f32('m', [3], undefined, 13), f32('v', [3], [0.5, 1, 2])],
  }],
  ['BatchNormalization 4-D (NCHW input)', {
    op: 'BatchNormalization', inputs: [x(3, 4, 5)], extra: ['s', 'b', 'm', 'v'],
    initializers: [f32('s', [3]), f32('b', [3], undefined, 12), f32('m', [3], undefined, 13), f32('v', [3], [0.5, 1, 2])],
  }],
  ['BatchNormalization 2-D', {
    op: 'BatchNormalization', inputs: [{ name: 'x', shape: [4, 3] }], extra: ['s', 'b', 'm', 'v'],
    initializers: [f32('s', [3]), f32('b', [3], undefined, 12), f32('m', [3], undefined, 13), f32('v', [3], [0.5, 1, 2])],
  }],
  ['BatchNormalization 3-D', {
    op: 'BatchNormalization', inputs: [{ name: 'x', shape: [2, 3, 7] }], extra: ['s', 'b', 'm', 'v'],
    initializers: [f32('s', [3]), f32('b', [3], undefined, 12), f32('m', [3], undefined, 13), f32('v', [3], [0.5, 1, 2])],
  }],
];

describe('pools and BatchNormalization match onnxruntime-node, with input gradients', () => {
  it.each(CASES)('%s', async (_, spec) => {
    const r = await checkOp({ model: oneOp(spec) });
    expect(opCheckPasses(r)).toEqual([]);
  });
});
