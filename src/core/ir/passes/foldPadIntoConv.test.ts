import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { writeOnnx } from '../../exporters/onnx/onnxWriter.js';
import { importOnnx } from '../../importers/onnx/importOnnx.js';
import { buildOnnxModel, type BuilderModel } from '../../testing/onnxBuilder.js';
import { foldPadIntoConv } from './foldPadIntoConv.js';

const rand = (n: number, seed: number) => {
  let s = seed;
  return new Float32Array(n).map(() => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) - 0.5);
};

/** x -> Pad(pads, [value]) -> depthwise stride-2 Conv (pads 0) -> y; optionally the Pad also feeds a Relu output. */
function padConv(pads: number[], opts: { value?: number; mode?: string; alsoRelu?: boolean } = {}): BuilderModel {
  const extraIn = opts.value === undefined ? [] : ['v'];
  return {
    opset: 13,
    inputs: [{ name: 'x', shape: [2, 4, 7, 7] }],
    outputs: [{ name: 'y' }, ...(opts.alsoRelu ? [{ name: 'r' }] : [])],
    initializers: [
      { name: 'p', dims: [8], dtype: 'int64', data: pads },
      ...(opts.value === undefined ? [] : [{ name: 'v', dims: [], data: [opts.value] }]),
      { name: 'w', dims: [4, 1, 3, 3], data: rand(36, 3) },
    ],
    nodes: [
      { opType: 'Pad', inputs: ['x', 'p', ...extraIn], outputs: ['xp'], attrs: opts.mode ? { mode: { s: opts.mode } } : {}, name: 'pad' },
      { opType: 'Conv', inputs: ['xp', 'w'], outputs: ['y'], attrs: { strides: [2, 2], group: 4, pads: [0, 1, 0, 0] }, name: 'dw' },
      ...(opts.alsoRelu ? [{ opType: 'Relu', inputs: ['xp'], outputs: ['r'] }] : []),
    ],
  };
}

async function outputs(bytes: Uint8Array): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes);
  const r = await s.run({ x: new ort.Tensor('float32', rand(2 * 4 * 49, 5), [2, 4, 7, 7]) });
  return r.y.data as Float32Array;
}

describe('foldPadIntoConv', () => {
  it("folds Keras' asymmetric ZeroPadding2D into the stride-2 depthwise conv's pads; ORT outputs are identical", async () => {
    const bytes = buildOnnxModel(padConv([0, 0, 0, 0, 0, 0, 1, 1], { value: 0 }));
    const { graph, folded } = foldPadIntoConv(importOnnx(bytes));
    expect(folded).toEqual(['pad']);
    expect(graph.nodes.map((n) => n.opType)).toEqual(['Conv']);
    expect(graph.nodes[0].inputs[0]).toBe('x');
    expect(graph.nodes[0].attrs.pads).toEqual([0, 1, 1, 1]);
    expect(graph.initializers.has('p')).toBe(false);
    expect(Array.from(await outputs(writeOnnx(graph)))).toEqual(Array.from(await outputs(bytes)));
  });

  it('keeps a Pad that is not a plain zero pad of spatial axes or that feeds a non-Conv', () => {
    const kept = (spec: BuilderModel) => foldPadIntoConv(importOnnx(buildOnnxModel(spec))).folded;
    expect(kept(padConv([0, 0, 1, 1, 0, 0, 1, 1], { value: 1 }))).toEqual([]); // pads with ones
    expect(kept(padConv([0, 0, 1, 1, 0, 0, 1, 1], { mode: 'reflect' }))).toEqual([]);
    expect(kept(padConv([0, 1, 1, 1, 0, 0, 1, 1]))).toEqual([]); // pads a channel
    expect(kept(padConv([0, 0, 1, 1, 0, 0, 1, 1], { alsoRelu: true }))).toEqual([]);
    expect(kept(padConv([0, 0, 1, 1, 0, 0, 1, 1]))).toEqual(['pad']);
  });
});
