import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backends.js';
import { checkOp, f32, gradientFlows, opCheckPasses, oneOp, type OneOpSpec } from '../../testing/opCheck.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const X = { name: 'x', shape: [2, 3, 4, 5] };
const unary = (op: string, attrs?: OneOpSpec['attrs'], afterConv = true, opset = 13): [string, OneOpSpec] => [
  `${op}${attrs ? ' ' + JSON.stringify(attrs) : ''}${afterConv ? '' : ' (NCHW input)'}${opset !== 13 ? ` opset ${opset}` : ''}`,
  { op, inputs: [X], attrs, afterConv, opset },
];
const binary = (op: string, bShape: number[], afterConv: boolean, bName = 'b'): [string, OneOpSpec] => [
  `${op} with [${bShape}] operand${afterConv ? ' (NHWC input)' : ''}`,
  { op, inputs: [X], extra: [bName], initializers: [f32(bName, bShape, op === 'Div' || op === 'Pow' ? undefined : undefined, 21)], afterConv },
];

const UNARY: [string, OneOpSpec][] = [
  unary('Relu'),
  unary('LeakyRelu', { alpha: { f: 0.2 } }),
  unary('LeakyRelu', undefined, false),
  unary('Sigmoid'),
  unary('HardSigmoid', { alpha: { f: 0.25 }, beta: { f: 0.4 } }),
  unary('HardSwish', undefined, true, 14),
  unary('Tanh'),
  unary('Neg'),
  unary('Exp'),
  unary('Identity'),
  unary('Dropout'),
  unary('Softmax', { axis: 1 }),
  unary('Softmax', { axis: 2 }),
  unary('Softmax', { axis: -1 }),
  unary('Softmax', { axis: 1 }, false),
  unary('Softmax', { axis: 3 }, false),
  unary('Softmax', { axis: 1 }, true, 11),
  unary('Softmax', { axis: 2 }, false, 11),
];

const BINARY: [string, OneOpSpec][] = [
  ...(['Add', 'Sub', 'Mul'] as const).flatMap((op) => [binary(op, [3, 1, 1], true), binary(op, [5], true), binary(op, [2, 3, 4, 5], true), binary(op, [1, 3, 1, 1], false)]),
  binary('Add', [], true),
  binary('Mul', [4, 1], true),
];

describe('activations match onnxruntime-node (NHWC and NCHW inputs), with gradients', () => {
  it.each(UNARY)('%s', async (_, spec) => {
    const r = await checkOp({ model: oneOp(spec) });
    expect(opCheckPasses(r)).toEqual([]);
  });

  it.each([
    ['Clip min/max', { min: -0.5, max: 0.7 }],
    ['Clip 0..6 (relu6)', { min: 0, max: 6 }],
    ['Clip min only', { min: 0.1 }],
  ] as const)('%s', async (_, lim) => {
    const inits = [f32('lo', [], ['min' in lim ? lim.min : 0]), ...('max' in lim ? [f32('hi', [], [lim.max])] : [])];
    const spec: OneOpSpec = { op: 'Clip', inputs: [X], extra: ['lo', ...('max' in lim ? ['hi'] : [])], initializers: inits, afterConv: true };
    const r = await checkOp({ model: oneOp(spec), inputs: { x: Array.from({ length: 120 }, (_, i) => (i - 60) / 8) } });
    expect(r.relDiff).toBeLessThan(1e-4);
    expect(gradientFlows(r.grad)).toBe(true);
    expect(r.gradVsCpu).toBeLessThan(1e-3);
  });

  it('PRelu with per-channel slope (NHWC)', async () => {
    const r = await checkOp({ model: oneOp({ op: 'PRelu', inputs: [X], extra: ['s'], initializers: [f32('s', [3, 1, 1])], afterConv: true }) });
    expect(r.relDiff).toBeLessThan(1e-4);
    expect(gradientFlows(r.grad)).toBe(true);
    expect(r.gradVsCpu).toBeLessThan(1e-3);
  });

  it.each([['Sqrt'], ['Pow']])('%s on positive inputs', async (op) => {
    const positive = Array.from({ length: 120 }, (_, i) => 0.1 + i / 30);
    const spec: OneOpSpec = op === 'Sqrt' ? { op, inputs: [X] } : { op, inputs: [X], extra: ['e'], initializers: [f32('e', [], [1.7])] };
    const r = await checkOp({ model: oneOp(spec), inputs: { x: positive } });
    expect(r.relDiff).toBeLessThan(1e-4);
    expect(gradientFlows(r.grad)).toBe(true);
    expect(r.gradVsCpu).toBeLessThan(1e-3);
  });

  it('Pow with exponent 2 (square path) after a Conv', async () => {
    const r = await checkOp({ model: oneOp({ op: 'Pow', inputs: [X], extra: ['e'], initializers: [f32('e', [], [2])], afterConv: true }) });
    expect(r.relDiff).toBeLessThan(1e-4);
    expect(gradientFlows(r.grad)).toBe(true);
    expect(r.gradVsCpu).toBeLessThan(1e-3);
  });
});

describe('broadcasting arithmetic matches onnxruntime-node, with gradients', () => {
  it.each(BINARY)('%s', async (_, spec) => {
    const r = await checkOp({ model: oneOp(spec) });
    expect(opCheckPasses(r)).toEqual([]);
  });

  it('Div by a per-channel constant away from zero', async () => {
    const r = await checkOp({ model: oneOp({ op: 'Div', inputs: [X], extra: ['d'], initializers: [f32('d', [3, 1, 1], [0.5, -2, 4])], afterConv: true }) });
    expect(r.relDiff).toBeLessThan(1e-4);
    expect(gradientFlows(r.grad)).toBe(true);
    expect(r.gradVsCpu).toBeLessThan(1e-3);
  });

  it('Add of two graph inputs, one held NHWC and one NCHW', async () => {
    const model = oneOp({ op: 'Add', inputs: [X, { name: 'z', shape: [2, 3, 4, 5] }], afterConv: true });
    const r = await checkOp({ model, gradWrt: 'z' });
    expect(r.relDiff).toBeLessThan(1e-4);
    expect(gradientFlows(r.grad)).toBe(true);
    expect(r.gradVsCpu).toBeLessThan(1e-3);
  });
});
