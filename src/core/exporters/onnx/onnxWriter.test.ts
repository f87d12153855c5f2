import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { importOnnx } from '../../importers/onnx/importOnnx.js';
import { cifarFixture } from '../../testing/fixtures.js';
import { buildOnnxModel, type BuilderModel } from '../../testing/onnxBuilder.js';
import type { Graph } from '../../ir/types.js';
import { writeOnnx } from './onnxWriter.js';

function seededRandom(n: number, seed = 7): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  });
}

async function runOrt(bytes: Uint8Array, feeds: Record<string, { data: Float32Array; dims: number[] }>): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(bytes);
  const inputs: Record<string, ort.Tensor> = {};
  for (const [k, v] of Object.entries(feeds)) inputs[k] = new ort.Tensor('float32', v.data, v.dims);
  const r = await session.run(inputs);
  const out: Record<string, Float32Array> = {};
  for (const [k, t] of Object.entries(r)) out[k] = t.data as Float32Array;
  return out;
}

describe('writeOnnx', () => {
  it('round-trips resnet20_bn.onnx: ORT gives identical logits for the original and the rewritten file', async () => {
    const original = new Uint8Array(readFileSync(cifarFixture('resnet20_bn.onnx')));
    const g = importOnnx(original);
    const rewritten = writeOnnx(g);
    const feeds = { input: { data: seededRandom(2 * 3 * 32 * 32), dims: [2, 3, 32, 32] } };
    const a = await runOrt(original, feeds);
    const b = await runOrt(rewritten, feeds);
    expect(b.logits.length).toBe(20);
    expect(Array.from(b.logits)).toEqual(Array.from(a.logits));
    // And the rewritten file imports back to the same graph.
    const again = importOnnx(rewritten);
    expect(again.nodes.map((n) => n.opType)).toEqual(g.nodes.map((n) => n.opType));
    expect(again.inputs).toEqual(g.inputs);
    for (const [name, t] of g.initializers) expect(again.initializers.get(name)).toEqual(t);
  });

  it('writes INT vs FLOAT attributes by schema (alpha: 1 stays FLOAT, ints stay INTS)', async () => {
    const g = importOnnx(
      buildOnnxModel({
        opset: 13,
        inputs: [{ name: 'x', shape: [1, 4] }],
        outputs: [{ name: 'y', shape: [1, 4] }],
        nodes: [
          { opType: 'HardSigmoid', inputs: ['x'], outputs: ['h'], attrs: { alpha: { f: 1 }, beta: { f: 0 } } },
          { opType: 'LeakyRelu', inputs: ['h'], outputs: ['y'], attrs: { alpha: { f: 2 } } },
        ],
      }),
    );
    const out = await runOrt(writeOnnx(g), { x: { data: Float32Array.of(-2, 0.25, 0.5, 3), dims: [1, 4] } });
    expect(Array.from(out.y)).toEqual([0, 0.25, 0.5, 1]);
  });

  it('writes int8 and int4 QDQ initializers that ORT dequantizes (opset 21 for int4)', async () => {
    const codes8 = Int8Array.of(-128, -1, 0, 127);
    const codes4 = Int8Array.of(-8, -1, 0, 7, 3);
    const graph: Graph = {
      name: 'qdq', format: 'onnx', interfaceLayout: 'NCHW', opset: 13, metadata: {},
      inputs: [{ name: 'x', dtype: 'float32', shape: [1] }],
      outputs: [{ name: 'y8', dtype: 'float32', shape: [4] }, { name: 'y4', dtype: 'float32', shape: [5] }],
      nodes: [
        { name: 'dq8', opType: 'DequantizeLinear', inputs: ['w8', 's', 'z8'], outputs: ['d8'], attrs: {} },
        { name: 'dq4', opType: 'DequantizeLinear', inputs: ['w4', 's', 'z4'], outputs: ['d4'], attrs: {} },
        { name: 'add8', opType: 'Add', inputs: ['d8', 'x'], outputs: ['y8'], attrs: {} },
        { name: 'add4', opType: 'Add', inputs: ['d4', 'x'], outputs: ['y4'], attrs: {} },
      ],
      initializers: new Map([
        ['w8', { dtype: 'int8', dims: [4], data: codes8 }],
        ['z8', { dtype: 'int8', dims: [], data: Int8Array.of(0) }],
        ['w4', { dtype: 'int4', dims: [5], data: codes4 }],
        ['z4', { dtype: 'int4', dims: [], data: Int8Array.of(0) }],
        ['s', { dtype: 'float32', dims: [], data: Float32Array.of(0.5) }],
      ]),
      valueInfo: new Map(),
    };
    const bytes = writeOnnx(graph);
    const out = await runOrt(bytes, { x: { data: Float32Array.of(0), dims: [1] } });
    expect(Array.from(out.y8)).toEqual([-64, -0.5, 0, 63.5]);
    expect(Array.from(out.y4)).toEqual([-4, -0.5, 0, 3.5, 1.5]);
    // Re-import unpacks the nibbles again.
    expect(importOnnx(bytes).initializers.get('w4')).toEqual({ dtype: 'int4', dims: [5], data: codes4 });
    expect(() => writeOnnx(graph, { opset: 13 })).toThrow(/opset 21/);
  });
});

/**
 * Old-opset attribute forms: the importer normalizes them, the writer emits opset 13 (or 18 for the
 * Reduce* axes input), and ORT must compute the same outputs from the original and the rewritten file.
 */
const legacyCases: { name: string; model: BuilderModel; inputShape: number[]; writeOpset?: number }[] = [
  {
    name: 'opset 7: Clip min/max, Slice attrs, Pad attrs, Squeeze/Unsqueeze axes, Upsample scales, Softmax axis 1 on 3-D, BN training outputs absent',
    inputShape: [1, 2, 4, 4],
    model: {
      opset: 7,
      inputs: [{ name: 'x', shape: [1, 2, 4, 4] }],
      outputs: [{ name: 'clip' }, { name: 'sm' }, { name: 'up' }, { name: 'uns' }],
      nodes: [
        { opType: 'Clip', inputs: ['x'], outputs: ['clip'], attrs: { min: { f: -0.25 }, max: { f: 0.5 } } },
        { opType: 'Slice', inputs: ['x'], outputs: ['sl'], attrs: { starts: [1, 0], ends: [4, 3], axes: [2, 3] } },
        { opType: 'Pad', inputs: ['sl'], outputs: ['pad'], attrs: { pads: [0, 1, 0, 1, 0, 0, 1, 0], value: { f: 0.75 } } },
        { opType: 'Squeeze', inputs: ['x'], outputs: ['sq'], attrs: { axes: [0] } },
        { opType: 'Softmax', inputs: ['sq'], outputs: ['sm'], attrs: { axis: 1 } },
        { opType: 'Upsample', inputs: ['pad'], outputs: ['up'], attrs: { mode: 'nearest', scales: [1, 1, 2, 1.5] } },
        { opType: 'Unsqueeze', inputs: ['sq'], outputs: ['uns'], attrs: { axes: [1] } },
      ],
    },
  },
  {
    name: 'opset 9: Upsample with scales input (linear), Dropout with mask, BatchNormalization',
    inputShape: [1, 2, 3, 3],
    model: {
      opset: 9,
      inputs: [{ name: 'x', shape: [1, 2, 3, 3] }],
      outputs: [{ name: 'up' }, { name: 'bn' }],
      initializers: [
        { name: 'scales', dims: [4], data: [1, 1, 2, 2] },
        { name: 'g', dims: [2], data: [1.5, -1] }, { name: 'b', dims: [2], data: [0.1, 0.2] },
        { name: 'm', dims: [2], data: [0.3, -0.1] }, { name: 'v', dims: [2], data: [2, 0.5] },
      ],
      nodes: [
        { opType: 'Dropout', inputs: ['x'], outputs: ['d', 'mask'], attrs: { ratio: { f: 0.3 } } },
        { opType: 'Upsample', inputs: ['d', 'scales'], outputs: ['up'], attrs: { mode: 'linear' } },
        { opType: 'BatchNormalization', inputs: ['x', 'g', 'b', 'm', 'v'], outputs: ['bn'], attrs: { epsilon: { f: 1e-3 } } },
      ],
    },
  },
  {
    name: 'opset 11: Split attr, ReduceMean/ReduceSum axes attrs, Clip inputs, Resize half_pixel',
    inputShape: [2, 6, 4, 4],
    writeOpset: 18,
    model: {
      opset: 11,
      inputs: [{ name: 'x', shape: [2, 6, 4, 4] }],
      outputs: [{ name: 'a' }, { name: 'b' }, { name: 'rm' }, { name: 'rs' }, { name: 'rz' }],
      initializers: [{ name: 'lo', dims: [], data: [0] }, { name: 'roi', dims: [0], data: [] }, { name: 'sc', dims: [4], data: [1, 1, 1.5, 1.5] }],
      nodes: [
        { opType: 'Split', inputs: ['x'], outputs: ['a', 'b'], attrs: { axis: 1, split: [2, 4] } },
        { opType: 'ReduceMean', inputs: ['x'], outputs: ['rm'], attrs: { axes: [2, 3], keepdims: 1 } },
        { opType: 'Clip', inputs: ['x', 'lo'], outputs: ['c'] },
        { opType: 'ReduceSum', inputs: ['c'], outputs: ['rs'], attrs: { axes: [1], keepdims: 0 } },
        { opType: 'Resize', inputs: ['x', 'roi', 'sc'], outputs: ['rz'], attrs: { mode: 'linear' } },
      ],
    },
  },
  {
    name: 'opset 13 written as opset 21: Split without sizes gets num_outputs, ReduceMean axes become an input',
    inputShape: [1, 4, 2, 2],
    writeOpset: 21,
    model: {
      opset: 13,
      inputs: [{ name: 'x', shape: [1, 4, 2, 2] }],
      outputs: [{ name: 'a' }, { name: 'b' }, { name: 'm' }],
      nodes: [
        { opType: 'Split', inputs: ['x'], outputs: ['a', 'b'], attrs: { axis: 1 } },
        { opType: 'ReduceMean', inputs: ['x'], outputs: ['m'], attrs: { axes: [1, -1], keepdims: 0 } },
      ],
    },
  },
];

describe('import normalization + writeOnnx agree with ORT on old opsets', () => {
  for (const c of legacyCases) {
    it(c.name, async () => {
      const spec = { ...c.model, outputs: c.model.outputs.map((o) => ({ name: o.name })) };
      const original = buildOnnxModel(spec);
      const g = importOnnx(original);
      const rewritten = writeOnnx(g, { opset: c.writeOpset ?? 13 });
      const n = c.inputShape.reduce((p, d) => p * d, 1);
      const feeds = { x: { data: seededRandom(n, 3), dims: c.inputShape } };
      const a = await runOrt(original, feeds);
      const b = await runOrt(rewritten, feeds);
      for (const o of spec.outputs) {
        const want = Array.from(a[o.name]);
        const got = Array.from(b[o.name]);
        expect(got.length, o.name).toBe(want.length);
        got.forEach((v, i) => expect(v, `${o.name}[${i}]`).toBeCloseTo(want[i], 5));
      }
    });
  }
});
