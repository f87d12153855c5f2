import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { buildOnnxModel } from '../testing/onnxBuilder.js';
import { f32, oneOp, seeded, type OneOpSpec } from '../testing/opCheck.js';
import { OP_KINDS, opsWhere, type OpKind } from './opKinds.js';

// Each property the table claims is checked on the op itself, run in onnxruntime-node (the reference),
// so a wrong row (an op called homogeneous that is not) fails here rather than in a pass that relies on it.

const X = [1, 3, 4, 4];
const i64 = (name: string, data: number[]) => ({ name, dtype: 'int64' as const, dims: [data.length], data });
const x = (shape = X) => [{ name: 'x', shape }];

/** One sample node per op type; `positive`: the op needs inputs > 0. */
const SAMPLES: Record<string, OneOpSpec & { positive?: boolean }> = {
  Relu: { op: 'Relu', inputs: x() },
  LeakyRelu: { op: 'LeakyRelu', inputs: x(), attrs: { alpha: { f: 0.1 } } },
  PRelu: { op: 'PRelu', inputs: x(), extra: ['s'], initializers: [f32('s', [3, 1, 1], [0.1, 0.2, 0.3])] },
  Clip: { op: 'Clip', inputs: x(), extra: ['lo', 'hi'], initializers: [f32('lo', [], [0]), f32('hi', [], [1])] },
  Sigmoid: { op: 'Sigmoid', inputs: x() },
  HardSigmoid: { op: 'HardSigmoid', inputs: x() },
  HardSwish: { op: 'HardSwish', inputs: x(), opset: 14 },
  Tanh: { op: 'Tanh', inputs: x() },
  Neg: { op: 'Neg', inputs: x() },
  Abs: { op: 'Abs', inputs: x() },
  Sqrt: { op: 'Sqrt', inputs: x(), positive: true },
  Exp: { op: 'Exp', inputs: x() },
  Identity: { op: 'Identity', inputs: x() },
  Dropout: { op: 'Dropout', inputs: x() },
  Add: { op: 'Add', inputs: x(), extra: ['c'], initializers: [f32('c', [1, 3, 1, 1])] },
  Mul: { op: 'Mul', inputs: x(), extra: ['c'], initializers: [f32('c', [1, 3, 1, 1])] },
  Sub: { op: 'Sub', inputs: x(), extra: ['c'], initializers: [f32('c', [1, 3, 1, 1])] },
  Div: { op: 'Div', inputs: x(), extra: ['c'], initializers: [f32('c', [1, 3, 1, 1], [0.5, 2, 4])] },
  MaxPool: { op: 'MaxPool', inputs: x(), attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
  GlobalMaxPool: { op: 'GlobalMaxPool', inputs: x() },
  AveragePool: { op: 'AveragePool', inputs: x(), attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
  GlobalAveragePool: { op: 'GlobalAveragePool', inputs: x() },
  Resize: { op: 'Resize', inputs: x(), extra: ['', 'sc'], initializers: [f32('sc', [4], [1, 1, 2, 2])], attrs: { mode: 'linear' } },
  Upsample: { op: 'Upsample', inputs: x(), extra: ['sc'], initializers: [f32('sc', [4], [1, 1, 2, 2])], opset: 9 },
  Pad: { op: 'Pad', inputs: x(), extra: ['p'], initializers: [i64('p', [0, 0, 1, 1, 0, 0, 1, 1])] },
  Reshape: { op: 'Reshape', inputs: x(), extra: ['s'], initializers: [i64('s', [1, 3, 16])] },
  Flatten: { op: 'Flatten', inputs: x() },
  Transpose: { op: 'Transpose', inputs: x(), attrs: { perm: [0, 2, 3, 1] } },
  Squeeze: { op: 'Squeeze', inputs: x(), extra: ['a'], initializers: [i64('a', [0])] },
  Unsqueeze: { op: 'Unsqueeze', inputs: x(), extra: ['a'], initializers: [i64('a', [0])] },
  Slice: { op: 'Slice', inputs: x(), extra: ['st', 'en', 'ax'], initializers: [i64('st', [1]), i64('en', [3]), i64('ax', [2])] },
  Split: { op: 'Split', inputs: x(), extra: ['sp'], initializers: [i64('sp', [1, 2])], attrs: { axis: 1 }, outputs: 2 },
  DepthToSpace: { op: 'DepthToSpace', inputs: x([1, 4, 2, 2]), attrs: { blocksize: 2 } },
  SpaceToDepth: { op: 'SpaceToDepth', inputs: x(), attrs: { blocksize: 2 } },
  Concat: { op: 'Concat', inputs: [{ name: 'x', shape: X }, { name: 'x2', shape: [1, 2, 4, 4] }], attrs: { axis: 1 } },
  Gather: { op: 'Gather', inputs: x(), extra: ['i'], initializers: [i64('i', [2, 0])], attrs: { axis: 1 } },
};

interface Run {
  input: Float32Array;
  dims: number[];
  outputs: Float32Array[];
}

async function run(op: string, edit: (input: Float32Array, dims: number[]) => Float32Array = (v) => v): Promise<Run> {
  const spec = SAMPLES[op];
  const session = await ort.InferenceSession.create(buildOnnxModel(oneOp(spec)));
  const feeds: Record<string, ort.Tensor> = {};
  let first: Float32Array | undefined;
  spec.inputs.forEach((v, i) => {
    const n = v.shape.reduce((a, b) => a * b, 1);
    let data = seeded(n, 5 + i, spec.positive ? 0.1 : -2, 2);
    if (i === 0) data = first = edit(data, v.shape);
    feeds[v.name] = new ort.Tensor('float32', data, v.shape);
  });
  const out = await session.run(feeds);
  await session.release();
  return { input: first!, dims: spec.inputs[0].shape, outputs: session.outputNames.map((n) => out[n].data as Float32Array) };
}

const channelOf = (i: number, dims: number[]) => Math.floor(i / dims.slice(2).reduce((a, b) => a * b, 1)) % dims[1];
const close = (a: number, b: number) => Math.abs(a - b) <= 1e-5 * Math.max(1, Math.abs(b));

describe('op kinds', () => {
  it('has a sample for every op type in the table', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual(Object.keys(OP_KINDS).sort());
  });

  it('opsWhere reads the table', () => {
    expect(opsWhere('homogeneous').has('Relu')).toBe(true);
    expect(opsWhere('homogeneous').has('Sigmoid')).toBe(false);
    expect(opsWhere('elementwise').has('NoSuchOp')).toBe(false);
    for (const p of ['elementwise', 'channelwise', 'homogeneous', 'relayout', 'keepsValues', 'integerKernel', 'constantOperand'] as (keyof OpKind)[]) {
      expect([...opsWhere(p)].every((op) => !!OP_KINDS[op][p])).toBe(true);
    }
  });

  it.each([...opsWhere('homogeneous')])('%s is positively homogeneous per channel: f(t x) = t f(x)', async (op) => {
    const t = [0.5, 2, 3];
    const base = await run(op);
    const scaled = await run(op, (v, dims) => v.map((a, i) => a * t[channelOf(i, dims)]));
    const outDims = [1, 3, ...(op.startsWith('Global') ? [1, 1] : [])];
    const y = base.outputs[0];
    const yDims = outDims.length === 4 ? outDims : [1, 3, y.length / 3];
    y.forEach((v, i) => expect(close(scaled.outputs[0][i], v * t[channelOf(i, yDims)])).toBe(true));
  });

  it.each([...opsWhere('channelwise')])('%s: output channel c reads input channel c only', async (op) => {
    const base = await run(op);
    const moved = await run(op, (v, dims) => v.map((a, i) => (channelOf(i, dims) === 1 ? a * 1.7 + 0.3 : a)));
    const y = base.outputs[0];
    const dims = [1, 3, y.length / 3];
    let changed = 0;
    y.forEach((v, i) => {
      if (channelOf(i, dims) !== 1) expect(moved.outputs[0][i]).toBe(v);
      else if (moved.outputs[0][i] !== v) changed++;
    });
    expect(changed).toBeGreaterThan(0);
  });

  it.each([...opsWhere('elementwise')])('%s: output element i reads input element i only', async (op) => {
    const base = await run(op);
    const k = 21;
    const moved = await run(op, (v) => v.map((a, i) => (i === k ? a * 0.5 + 0.4 : a)));
    expect(base.outputs[0].length).toBe(base.input.length);
    base.outputs[0].forEach((v, i) => {
      if (i !== k) expect(moved.outputs[0][i]).toBe(v);
    });
  });

  it.each([...opsWhere('keepsValues')])('%s: outputs lie within the input range (and zero), so a grid carries over', async (op) => {
    const r = await run(op);
    const lo = Math.min(0, ...r.input);
    const hi = Math.max(0, ...r.input);
    for (const y of r.outputs) for (const v of y) expect(v >= lo - 1e-6 && v <= hi + 1e-6).toBe(true);
  });

  it.each([...opsWhere('relayout')])('%s: every output value is an input value', async (op) => {
    const r = await run(op);
    const values = new Set(r.input);
    if (op === 'Concat') for (const v of seeded(2 * 16, 6, -2, 2)) values.add(v);
    for (const y of r.outputs) for (const v of y) expect(values.has(v)).toBe(true);
  });

  it('a property not claimed is not there: Sigmoid is not homogeneous, Exp does not keep values', async () => {
    const base = await run('Sigmoid');
    const scaled = await run('Sigmoid', (v) => v.map((a) => a * 2));
    expect(base.outputs[0].every((v, i) => close(scaled.outputs[0][i], 2 * v))).toBe(false);
    const e = await run('Exp');
    expect(Math.max(...e.outputs[0])).toBeGreaterThan(Math.max(...e.input));
  });
});
