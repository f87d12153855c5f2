import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backends.js';
import { GraphExecutor } from '../executor.js';
import { importModel } from '../../importers/index.js';
import { buildOnnxModel } from '../../testing/onnxBuilder.js';
import { checkOp, oneOp, opCheckPasses, type OneOpSpec } from '../../testing/opCheck.js';

beforeAll(async () => {
  await initBackend('wasm');
});

/** Values held channels-last (after a conv) and in graph layout (the network input) alike. */
const CASES: [string, OneOpSpec][] = [
  ['DepthToSpace DCR b2 after a conv', { op: 'DepthToSpace', inputs: [{ name: 'x', shape: [2, 12, 3, 5] }], attrs: { blocksize: 2, mode: 'DCR' }, afterConv: true }],
  ['DepthToSpace CRD b2 after a conv', { op: 'DepthToSpace', inputs: [{ name: 'x', shape: [2, 12, 3, 5] }], attrs: { blocksize: 2, mode: 'CRD' }, afterConv: true }],
  ['DepthToSpace DCR b3 (NCHW input)', { op: 'DepthToSpace', inputs: [{ name: 'x', shape: [1, 18, 2, 4] }], attrs: { blocksize: 3 } }],
  ['SpaceToDepth b2 after a conv', { op: 'SpaceToDepth', inputs: [{ name: 'x', shape: [2, 3, 4, 6] }], attrs: { blocksize: 2 }, afterConv: true }],
  ['SpaceToDepth b3 (NCHW input)', { op: 'SpaceToDepth', inputs: [{ name: 'x', shape: [1, 2, 6, 3] }], attrs: { blocksize: 3 } }],
];

describe('DepthToSpace and SpaceToDepth match onnxruntime-node, with gradients', () => {
  it.each(CASES)('%s', async (_, spec) => {
    expect(opCheckPasses(await checkOp({ model: oneOp(spec) }))).toEqual([]);
  });

  it('a block size that does not divide the channels is a typed error naming the node', async () => {
    const spec: OneOpSpec = { op: 'DepthToSpace', inputs: [{ name: 'x', shape: [1, 6, 2, 2] }], attrs: { blocksize: 2 } };
    const ex = new GraphExecutor(importModel([{ name: 'm.onnx', bytes: buildOnnxModel(oneOp(spec)) }]));
    const x = tf.ones([1, 6, 2, 2]);
    expect(() => ex.execute({ x })).toThrow(/'DepthToSpace_0' \(DepthToSpace\) has blocksize 2 for 6 channels/);
    x.dispose();
    ex.dispose();
  });
});
