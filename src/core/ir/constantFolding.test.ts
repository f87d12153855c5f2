import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { writeOnnx } from '../exporters/onnx/onnxWriter.js';
import { importOnnx } from '../importers/onnx/importOnnx.js';
import { buildOnnxModel } from '../testing/onnxBuilder.js';
import { foldConstants } from './constantFolding.js';
import { inferShapes } from './shapeInference.js';
import { prepareGraph } from './prepare.js';

/**
 * The flatten-by-shape chain PyTorch exports for x.view(x.size(0), -1), plus integer arithmetic on
 * dims: target = Concat(Unsqueeze(Gather(Shape(x), 0)), Unsqueeze(C*H*W / 1)) -> Reshape(x, target).
 */
function shapeChainModel(): Uint8Array {
  const i64 = (name: string, data: number[], dims = [data.length]) => ({ name, dtype: 'int64' as const, dims, data });
  return buildOnnxModel({
    opset: 13,
    inputs: [{ name: 'x', shape: ['N', 3, 4, 5] }],
    outputs: [{ name: 'y', shape: ['N', 60] }],
    initializers: [i64('zero', [0], []), i64('ax0', [0]), i64('one', [1], []), i64('s1', [1]), i64('s4', [4])],
    nodes: [
      { opType: 'Shape', inputs: ['x'], outputs: ['shape'] },
      { opType: 'Gather', inputs: ['shape', 'zero'], outputs: ['n'], attrs: { axis: 0 } },
      { opType: 'Unsqueeze', inputs: ['n', 'ax0'], outputs: ['n1'] },
      { opType: 'Slice', inputs: ['shape', 's1', 's4'], outputs: ['chw'] },
      { opType: 'Split', inputs: ['chw'], outputs: ['c', 'h', 'w'], attrs: { axis: 0 } },
      { opType: 'Mul', inputs: ['c', 'h'], outputs: ['ch'] },
      { opType: 'Mul', inputs: ['ch', 'w'], outputs: ['chw_prod'] },
      { opType: 'Div', inputs: ['chw_prod', 'one'], outputs: ['feat'] },
      { opType: 'Cast', inputs: ['feat'], outputs: ['feat64'], attrs: { to: 7 } },
      { opType: 'Concat', inputs: ['n1', 'feat64'], outputs: ['target'], attrs: { axis: 0 } },
      { opType: 'Reshape', inputs: ['x', 'target'], outputs: ['flat'] },
      { opType: 'Relu', inputs: ['flat'], outputs: ['y'] },
    ],
  });
}

describe('foldConstants / prepareGraph', () => {
  it('folds a Shape -> Gather -> Unsqueeze -> Concat -> Reshape chain to a constant Reshape target', async () => {
    const bytes = shapeChainModel();
    const g = importOnnx(bytes);
    const prepared = prepareGraph(g, { x: [2, 3, 4, 5] });
    expect(prepared.nodes.map((n) => n.opType)).toEqual(['Reshape', 'Relu']);
    expect(Array.from(prepared.initializers.get(prepared.nodes[0].inputs[1])!.data)).toEqual([2, 60]);
    expect(prepared.valueInfo.get('y')?.shape).toEqual([2, 60]);
    // The batch size is baked into the Reshape target, so the prepared graph's input says so.
    expect(prepared.inputs[0].shape).toEqual([2, 3, 4, 5]);
    // The input graph is left as it was.
    expect(g.nodes.length).toBe(12);
    expect(g.inputs[0].shape).toEqual(['N', 3, 4, 5]);

    // ORT agrees that the prepared graph computes the same thing.
    const x = Float32Array.from({ length: 120 }, (_, i) => (i % 7) - 3);
    const run = async (b: Uint8Array) => (await (await ort.InferenceSession.create(b)).run({ x: new ort.Tensor('float32', x, [2, 3, 4, 5]) })).y;
    const want = await run(bytes);
    const got = await run(writeOnnx(prepared));
    expect(got.dims).toEqual([2, 60]);
    expect(Array.from(got.data as Float32Array)).toEqual(Array.from(want.data as Float32Array));
  });

  it('folds the whole chain when the dims come from Gathers (no Split)', () => {
    const i64 = (name: string, data: number[], dims = [data.length]) => ({ name, dtype: 'int64' as const, dims, data });
    const g = importOnnx(
      buildOnnxModel({
        opset: 13,
        inputs: [{ name: 'x', shape: ['N', 3, 4, 5] }],
        outputs: [{ name: 'y' }],
        initializers: [i64('i0', [0], []), i64('i1', [1], []), i64('ax0', [0]), i64('minus1', [-1])],
        nodes: [
          { opType: 'Shape', inputs: ['x'], outputs: ['s'] },
          { opType: 'Gather', inputs: ['s', 'i0'], outputs: ['n'] },
          { opType: 'Gather', inputs: ['s', 'i1'], outputs: ['c'] },
          { opType: 'Mul', inputs: ['n', 'c'], outputs: ['nc'] },
          { opType: 'Unsqueeze', inputs: ['nc', 'ax0'], outputs: ['nc1'] },
          { opType: 'Concat', inputs: ['nc1', 'minus1'], outputs: ['t'], attrs: { axis: 0 } },
          { opType: 'Reshape', inputs: ['x', 't'], outputs: ['y'] },
        ],
      }),
    );
    inferShapes(g, { x: [2, 3, 4, 5] });
    expect(foldConstants(g)).toBe(6);
    expect(g.nodes.map((n) => n.opType)).toEqual(['Reshape']);
    const target = g.initializers.get(g.nodes[0].inputs[1])!;
    expect(target).toEqual({ dtype: 'int64', dims: [2], data: Int32Array.of(6, -1) });
    // Initializers only the folded nodes read are gone.
    expect([...g.initializers.keys()].sort()).toEqual(['t']);
  });

  it('leaves float arithmetic and graph outputs alone', () => {
    const g = importOnnx(
      buildOnnxModel({
        opset: 13,
        inputs: [{ name: 'x', shape: [2] }],
        outputs: [{ name: 'y' }, { name: 'ab' }],
        initializers: [{ name: 'a', dims: [2], data: [1, 2] }, { name: 'b', dims: [2], data: [3, 4] }],
        nodes: [
          { opType: 'Add', inputs: ['a', 'b'], outputs: ['ab'] },
          { opType: 'Mul', inputs: ['x', 'ab'], outputs: ['y'] },
        ],
      }),
    );
    inferShapes(g);
    expect(foldConstants(g)).toBe(0);
    expect(g.nodes.length).toBe(2);
  });
});
