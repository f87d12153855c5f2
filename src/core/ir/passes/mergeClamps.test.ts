import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { writeOnnx } from '../../exporters/onnx/onnxWriter.js';
import { importOnnx } from '../../importers/onnx/importOnnx.js';
import { seeded } from '../../testing/opCheck.js';
import { buildOnnxModel, type BuilderModel } from '../../testing/onnxBuilder.js';
import { mergeClamps } from './mergeClamps.js';

type Act = { op: 'Relu' } | { op: 'Clip'; min?: number; max?: number };

/** x [2,4,6,6] -> 1x1 Conv -> the activations in a row -> 1x1 Conv -> y; `alsoOut`: the first activation is a graph output too. */
function chain(acts: Act[], alsoOut = false): BuilderModel {
  const inits: BuilderModel['initializers'] = [
    { name: 'w1', dims: [4, 4, 1, 1], data: seeded(16, 3, -2, 2) },
    { name: 'w2', dims: [4, 4, 1, 1], data: seeded(16, 4, -1, 1) },
  ];
  const nodes: BuilderModel['nodes'] = [{ opType: 'Conv', inputs: ['x', 'w1'], outputs: ['a0'], name: 'conv1' }];
  acts.forEach((a, i) => {
    const ins = [`a${i}`];
    if (a.op === 'Clip') {
      for (const [k, v] of [['min', a.min], ['max', a.max]] as const) {
        if (v === undefined) ins.push('');
        else {
          inits.push({ name: `c${i}_${k}`, dims: [], data: [v] });
          ins.push(`c${i}_${k}`);
        }
      }
    }
    nodes.push({ opType: a.op, inputs: ins, outputs: [`a${i + 1}`], name: `act${i}` });
  });
  nodes.push({ opType: 'Conv', inputs: [`a${acts.length}`, 'w2'], outputs: ['y'], name: 'conv2' });
  return { opset: 13, inputs: [{ name: 'x', shape: [2, 4, 6, 6] }], outputs: [{ name: 'y' }, ...(alsoOut ? [{ name: 'a1' }] : [])], initializers: inits, nodes };
}

async function run(bytes: Uint8Array): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes);
  const r = await s.run({ x: new ort.Tensor('float32', seeded(2 * 4 * 36, 7, -4, 4), [2, 4, 6, 6]) });
  await s.release();
  return r.y.data as Float32Array;
}

describe('mergeClamps', () => {
  it.each([
    ['Relu -> Clip(max 6) -> Relu', [{ op: 'Relu' }, { op: 'Clip', max: 6 }, { op: 'Relu' }], ['Clip'], [0, 6]],
    ['Clip(-1, 3) -> Clip(0.5, 9)', [{ op: 'Clip', min: -1, max: 3 }, { op: 'Clip', min: 0.5, max: 9 }], ['Clip'], [0.5, 3]],
    ['Relu -> Relu', [{ op: 'Relu' }, { op: 'Relu' }], ['Relu'], null],
    ['Clip(min -2) -> Relu', [{ op: 'Clip', min: -2 }, { op: 'Relu' }], ['Relu'], null],
  ] as [string, Act[], string[], [number, number] | null][])('%s becomes one op and ORT computes the same', async (_, acts, ops, bounds) => {
    const graph = importOnnx(buildOnnxModel(chain(acts)));
    const { graph: merged } = mergeClamps(graph);
    const activations = merged.nodes.filter((n) => n.opType !== 'Conv');
    expect(activations.map((n) => n.opType)).toEqual(ops);
    if (bounds) expect(activations[0].inputs.slice(1).map((v) => Number(merged.initializers.get(v)!.data[0]))).toEqual(bounds);
    expect([...merged.initializers.keys()].filter((k) => !k.startsWith('w')).length).toBe(bounds ? 2 : 0); // the old bounds are gone
    const [a, b] = [await run(writeOnnx(graph)), await run(writeOnnx(merged))];
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(graph.nodes.length).toBe(acts.length + 2); // the input graph is left as it was
  });

  it('leaves disjoint ranges and a value read elsewhere alone', () => {
    const disjoint = mergeClamps(importOnnx(buildOnnxModel(chain([{ op: 'Clip', min: 2, max: 3 }, { op: 'Clip', min: 4, max: 5 }]))));
    expect(disjoint.merged).toEqual([]);
    const output = mergeClamps(importOnnx(buildOnnxModel(chain([{ op: 'Relu' }, { op: 'Relu' }], true))));
    expect(output.merged).toEqual([]);
  });

  it('a QDQ Conv -> Clip(0, 6) -> Relu -> QuantizeLinear (grid within [0, 6]), which ORT 1.30 refuses to optimize, loads once merged', async () => {
    const q = (name: string, dims: number[], dtype: 'int8' | 'uint8' | 'float32', data: number[]) => ({ name, dims, dtype, data });
    const model: BuilderModel = {
      opset: 13,
      inputs: [{ name: 'x', shape: [1, 4, 6, 6] }],
      outputs: [{ name: 'y' }],
      initializers: [
        q('xs', [], 'float32', [0.02]), q('xz', [], 'uint8', [128]), q('ys', [], 'float32', [0.0234]), q('yz', [], 'uint8', [0]),
        q('wq', [4, 4, 1, 1], 'int8', Array.from({ length: 16 }, (_, i) => i - 8)), q('ws', [4], 'float32', [0.1, 0.1, 0.1, 0.1]), q('wz', [4], 'int8', [0, 0, 0, 0]),
        q('zero', [], 'float32', [0]), q('six', [], 'float32', [6]),
      ],
      nodes: [
        { opType: 'QuantizeLinear', inputs: ['x', 'xs', 'xz'], outputs: ['xq'] },
        { opType: 'DequantizeLinear', inputs: ['xq', 'xs', 'xz'], outputs: ['xd'] },
        { opType: 'DequantizeLinear', inputs: ['wq', 'ws', 'wz'], outputs: ['w'], attrs: { axis: 0 } },
        { opType: 'Conv', inputs: ['xd', 'w'], outputs: ['c'], name: 'conv' },
        { opType: 'Clip', inputs: ['c', 'zero', 'six'], outputs: ['k'], name: 'relu6' },
        { opType: 'Relu', inputs: ['k'], outputs: ['r'], name: 'relu' },
        { opType: 'QuantizeLinear', inputs: ['r', 'ys', 'yz'], outputs: ['rq'] },
        { opType: 'DequantizeLinear', inputs: ['rq', 'ys', 'yz'], outputs: ['rd'] },
        { opType: 'Conv', inputs: ['rd', 'w'], outputs: ['y'], name: 'conv2' },
      ],
    };
    const graph = importOnnx(buildOnnxModel(model));
    const { graph: merged, merged: pairs } = mergeClamps(graph);
    expect(pairs).toEqual(['relu6+relu']);
    const feeds = { x: new ort.Tensor('float32', seeded(4 * 36, 2, -2, 2), [1, 4, 6, 6]) };
    const plain = await ort.InferenceSession.create(writeOnnx(graph), { graphOptimizationLevel: 'disabled' });
    const expected = (await plain.run(feeds)).y.data as Float32Array;
    await plain.release();
    const s = await ort.InferenceSession.create(writeOnnx(merged)); // all optimizations: the QDQ fusions run
    expect(Array.from((await s.run(feeds)).y.data as Float32Array)).toEqual(Array.from(expected));
    await s.release();
  });
});
