import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { isLocalQuantError } from '../../../errors.js';
import { initBackend } from '../../../runtime/backends.js';
import { importTfjs } from '../index.js';
import { relativeMaxDiff, runGraph } from '../testSupport.js';
import { convNetGraph, GraphDefBuilder, ints, SIGNATURE, shapeOpsGraph, str, strs } from './graphDefBuilder.js';

/**
 * Graph models written by hand (tfjs cannot save one from JS): a GraphDef in model.json plus a weights
 * shard, loaded by tf.loadGraphModel for the reference output and by importTfjs for ours.
 */

beforeAll(async () => {
  await initBackend('wasm');
});

async function compare(g: GraphDefBuilder, inputs: Record<string, tf.Tensor>, extra: Record<string, unknown> = {}): Promise<number[]> {
  const before = tf.memory().numTensors;
  const { files, artifacts } = g.files(extra);
  const model = await tf.loadGraphModel(tf.io.fromMemory(artifacts));
  const refOut = model.execute(inputs);
  const refs = Array.isArray(refOut) ? refOut : [refOut];
  const graph = importTfjs(files);
  expect(graph.format).toBe('tfjs-graph');
  expect(graph.interfaceLayout).toBe('NHWC');
  expect(graph.outputs.map((o) => o.name)).toEqual(model.outputs.map((o) => o.name.replace(/:0$/, '')));
  const ours = runGraph(graph, inputs);
  const diffs = ours.map((t, i) => {
    expect(t.shape).toEqual(refs[i].shape);
    return relativeMaxDiff(t, refs[i]);
  });
  tf.dispose([...ours, ...refs]);
  model.dispose();
  expect(tf.memory().numTensors).toBe(before);
  return diffs;
}

describe('importTfjs: graph models', () => {
  it('conv net: fused conv/depthwise (BiasAdd, Relu, Relu6, Prelu), Conv2D + BiasAdd + FusedBatchNormV3, LeakyRelu, AddV2, MaxPool, Mean, fused MatMul, Softmax', async () => {
    const g = convNetGraph();
    const input = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 3);
    const diffs = await compare(g, { image: input }, SIGNATURE);
    expect(diffs[0]).toBeLessThan(1e-5);

    // The NCHW body: Conv nodes carry the biases (BiasAdd joined the Conv), BN keeps its statistics.
    const graph = importTfjs(g.files().files);
    const ops = graph.nodes.map((n) => n.opType);
    expect(ops.filter((o) => o === 'Transpose')).toHaveLength(1);
    expect(ops.filter((o) => o === 'Add')).toHaveLength(1); // the residual AddV2; both BiasAdds joined their Conv / Gemm
    expect(graph.nodes.find((n) => n.opType === 'Gemm' && n.name === 'fc2/MatMul')!.inputs).toHaveLength(3);
    const conv2 = graph.nodes.find((n) => n.name === 'conv2/Conv2D')!;
    expect(conv2.inputs).toHaveLength(3);
    const bnNode = graph.nodes.find((n) => n.opType === 'BatchNormalization')!;
    expect(graph.initializers.get(bnNode.inputs[3])!.dims).toEqual([6]);
    input.dispose();
  });

  it('shape and elementwise ops: Sub/Mul/RealDiv, Pad/MirrorPad, explicit-padding Conv2D, Elu/Sigmoid/Tanh, Maximum/Minimum, ConcatV2, AvgPool, Resize*, Transpose, Shape->StridedSlice->Pack->Reshape, Sum, Max, ExpandDims/Squeeze, Slice, StridedSlice, AddN', async () => {
    const g = shapeOpsGraph();
    const input = tf.randomNormal([2, 6, 6, 2], 0, 1, 'float32', 5);
    const diffs = await compare(g, { x: input });
    expect(diffs).toHaveLength(5);
    for (const d of diffs) expect(d).toBeLessThan(1e-5);
    input.dispose();
  });

  it('unknown height/width: SAME convolutions and pools get auto_pad and run at any size', async () => {
    const g = new GraphDefBuilder();
    const x = g.input('x', [-1, -1, -1, 3]);
    const c = g.op('conv', '_FusedConv2D', [x, g.random('w', [3, 3, 3, 4]), g.random('b', [4])], {
      strides: ints([1, 2, 2, 1]), padding: str('SAME'), data_format: str('NHWC'), dilations: ints([1, 1, 1, 1]), fused_ops: strs(['BiasAdd', 'Relu']), num_args: { i: '1' },
    });
    const p = g.op('pool', 'AvgPool', [c], { ksize: ints([1, 3, 3, 1]), strides: ints([1, 2, 2, 1]), padding: str('SAME'), data_format: str('NHWC') });
    g.op('mean', 'Mean', [p, g.ints('axes', [1, 2])], { keep_dims: { b: false } });
    const graph = importTfjs(g.files().files);
    expect(graph.nodes.find((n) => n.opType === 'Conv')!.attrs.auto_pad).toBe('SAME_UPPER');
    for (const shape of [[1, 7, 9, 3], [2, 10, 6, 3]]) {
      const x = tf.randomNormal(shape, 0, 1, 'float32', 9);
      const diffs = await compare(g, { x });
      x.dispose();
      expect(diffs[0]).toBeLessThan(1e-5);
    }
  });

  it('Conv2DBackpropInput (transposed convolution) SAME and VALID, with a BiasAdd that joins it', async () => {
    const g = new GraphDefBuilder();
    const x = g.input('x', [-1, 4, 5, 3]);
    const attrs = (padding: string) => ({ strides: ints([1, 2, 2, 1]), padding: str(padding), data_format: str('NHWC'), dilations: ints([1, 1, 1, 1]) });
    const up = g.op('up', 'Conv2DBackpropInput', [g.ints('up/size', [2, 8, 10, 2]), g.random('up/w', [3, 3, 2, 3]), x], attrs('SAME'));
    const ba = g.op('up/bias', 'BiasAdd', [up, g.random('up/b', [2])]);
    const r = g.op('relu', 'Relu', [ba]);
    g.op('up2', 'Conv2DBackpropInput', [g.ints('up2/size', [2, 17, 21, 4]), g.random('up2/w', [3, 3, 4, 2]), r], attrs('VALID'));
    const graph = importTfjs(g.files().files);
    expect(graph.nodes.filter((n) => n.opType === 'ConvTranspose')[0].inputs).toHaveLength(3);
    const input = tf.randomNormal([2, 4, 5, 3], 0, 1, 'float32', 10);
    const diffs = await compare(g, { x: input });
    input.dispose();
    expect(diffs[0]).toBeLessThan(1e-5);
  });

  it('Split / SplitV / Unpack', async () => {
    const g = new GraphDefBuilder();
    const x = g.input('x', [-1, 4, 4, 6]);
    const c = g.op('conv', 'Conv2D', [x, g.random('w', [1, 1, 6, 6])], { strides: ints([1, 1, 1, 1]), padding: str('VALID'), data_format: str('NHWC'), dilations: ints([1, 1, 1, 1]) });
    g.nodes.push({ name: 'split', op: 'Split', input: [g.ints('split/axis', [3], []), c], attr: { T: { type: 'DT_FLOAT' }, num_split: { i: '2' } } });
    g.op('sum', 'AddV2', ['split', 'split:1']);
    g.nodes.push({ name: 'splitv', op: 'SplitV', input: [c, g.ints('splitv/sizes', [1, -1]), g.ints('splitv/axis', [1], [])], attr: { T: { type: 'DT_FLOAT' }, num_split: { i: '2' } } });
    g.op('rest', 'Relu', ['splitv:1']);
    const m = g.op('m', 'Mean', ['splitv', g.ints('m/axes', [1])], { keep_dims: { b: false } });
    g.nodes.push({ name: 'unpack', op: 'Unpack', input: [m], attr: { T: { type: 'DT_FLOAT' }, num: { i: '4' }, axis: { i: '1' } } });
    g.op('u', 'Sub', ['unpack:3', 'unpack:1']);
    const input = tf.randomNormal([2, 4, 4, 6], 0, 1, 'float32', 12);
    const diffs = await compare(g, { x: input });
    input.dispose();
    expect(diffs).toHaveLength(3);
    for (const d of diffs) expect(d).toBeLessThan(1e-5);
  });

  it('DepthToSpace (NHWC, TF channel order) matches tf.loadGraphModel', async () => {
    const g = new GraphDefBuilder();
    const x = g.input('x', [-1, 4, 6, 3]);
    const c = g.op('conv', 'Conv2D', [x, g.random('w', [1, 1, 3, 8])], { strides: ints([1, 1, 1, 1]), padding: str('VALID'), data_format: str('NHWC'), dilations: ints([1, 1, 1, 1]) });
    const up = g.op('d2s', 'DepthToSpace', [c], { block_size: { i: '2' }, data_format: str('NHWC') });
    g.op('relu', 'Relu', [up]);
    const input = tf.randomNormal([2, 4, 6, 3], 0, 1, 'float32', 5);
    const diffs = await compare(g, { x: input });
    const graph = importTfjs(g.files().files);
    expect(graph.nodes.filter((n) => n.opType === 'DepthToSpace').map((n) => n.attrs)).toEqual([{ blocksize: 2, mode: 'DCR' }]);
    input.dispose();
    expect(diffs).toEqual([expect.any(Number)]);
    expect(diffs[0]).toBeLessThan(1e-5);
  });

  it('Abs, SquaredDifference and GatherNd (int32 indices into an NHWC value) match tf.loadGraphModel', async () => {
    const g = new GraphDefBuilder();
    const x = g.input('x', [-1, 4, 5, 3]);
    const c = g.op('conv', 'Conv2D', [x, g.random('w', [1, 1, 3, 4])], { strides: ints([1, 1, 1, 1]), padding: str('VALID'), data_format: str('NHWC'), dilations: ints([1, 1, 1, 1]) });
    const a = g.op('abs', 'Abs', [c]);
    g.op('sqdiff', 'SquaredDifference', [a, g.random('m', [4])]);
    g.op('gnd', 'GatherNd', [c, g.ints('gnd/idx', [0, 1, 2, 1, 3, 0, 0, 0, 4], [3, 3])], { Tindices: { type: 'DT_INT32' }, Tparams: { type: 'DT_FLOAT' } });
    const input = tf.randomNormal([2, 4, 5, 3], 0, 1, 'float32', 9);
    const diffs = await compare(g, { x: input });
    input.dispose();
    expect(diffs).toHaveLength(2);
    for (const d of diffs) expect(d).toBeLessThan(1e-5);
  });

  it('arithmetic on the run-time image size is refused by node, not called a malformed file', () => {
    const g = new GraphDefBuilder();
    const x = g.input('x', [-1, -1, -1, 3]);
    const shape = g.op('shape', 'Shape', [x], { out_type: { type: 'DT_INT32' } });
    const h = g.op('h', 'StridedSlice', [shape, g.ints('h/b', [1]), g.ints('h/e', [2]), g.ints('h/s', [1])], { shrink_axis_mask: { i: '1' }, Index: { type: 'DT_INT32' }, T: { type: 'DT_INT32' } });
    const hf = g.op('hf', 'Cast', [h], { DstT: { type: 'DT_FLOAT' }, SrcT: { type: 'DT_INT32' } });
    g.op('half', 'Mul', [hf, g.random('k', [])]);
    expect(() => importTfjs(g.files().files)).toThrow(/Node 'half' \(Mul\) computes with the input's size, known only at run time/);
    try {
      importTfjs(g.files().files);
    } catch (e) {
      expect(isLocalQuantError(e) && e.code).toBe('UNSUPPORTED_OP');
    }
  });

  it('an unsupported op names the op, the node and the supported list', () => {
    const g = new GraphDefBuilder();
    const x = g.input('x', [-1, 4]);
    g.op('weird', 'Erfinv', [x]);
    try {
      importTfjs(g.files().files);
      throw new Error('expected an error');
    } catch (e) {
      expect(isLocalQuantError(e)).toBe(true);
      const err = e as { code: string; message: string; hint: string };
      expect(err.code).toBe('UNSUPPORTED_OP');
      expect(err.message).toContain('Erfinv');
      expect(err.message).toContain("'weird'");
      expect(err.hint).toContain('FusedBatchNormV3');
    }
  });
});
