import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeOnnx } from '../../exporters/onnx/onnxWriter.js';
import type { Graph } from '../../ir/types.js';
import { initBackend } from '../../runtime/backends.js';
import { convNetGraph, shapeOpsGraph, SIGNATURE } from './graph/graphDefBuilder.js';
import { importTfjs } from './index.js';
import { activationLayersNet, channelsFirstNet, convVariantsNet, functionalNet, randomizeBatchNorms, sequentialConvNet } from './layers/testModels.js';
import { saveLayersModel } from './testSupport.js';

/**
 * The imported IR checked by onnxruntime-node, independently of our executor: import a tfjs model,
 * write it as ONNX, run it in ORT and compare with tfjs's own predict / execute.
 */

beforeAll(async () => {
  await initBackend('wasm');
});

async function runInOrt(graph: Graph, inputs: tf.Tensor[]): Promise<{ data: Float32Array; dims: number[] }[]> {
  const session = await ort.InferenceSession.create(writeOnnx(graph));
  const feeds: Record<string, ort.Tensor> = {};
  graph.inputs.forEach((vi, i) => (feeds[vi.name] = new ort.Tensor('float32', inputs[i].dataSync() as Float32Array, inputs[i].shape)));
  const res = await session.run(feeds);
  await session.release();
  return graph.outputs.map((o) => ({ data: res[o.name].data as Float32Array, dims: [...res[o.name].dims] }));
}

function relDiff(ours: { data: Float32Array; dims: number[] }, ref: tf.Tensor): number {
  expect(ours.dims).toEqual(ref.shape);
  const r = ref.dataSync();
  let diff = 0;
  let scale = 1;
  for (let i = 0; i < r.length; i++) {
    diff = Math.max(diff, Math.abs(ours.data[i] - r[i]));
    scale = Math.max(scale, Math.abs(r[i]));
  }
  return diff / scale;
}

const LAYER_MODELS: [string, () => tf.LayersModel, number[][], boolean][] = [
  ['sequential conv net', sequentialConvNet, [[2, 9, 9, 3]], true],
  ['depthwise / separable / transposed', convVariantsNet, [[2, 7, 8, 3]], false],
  ['activation layers', activationLayersNet, [[2, 6, 6, 2]], false],
  ['channels_first', channelsFirstNet, [[2, 3, 6, 6]], false],
  ['functional two-input two-output', functionalNet, [[2, 6, 6, 3], [2, 5]], true],
];

describe('imported TF.js models run in onnxruntime-node like in tfjs', () => {
  for (const [name, make, shapes, randomBn] of LAYER_MODELS) {
    it(`layers: ${name}`, async () => {
      const model = make();
      if (randomBn) randomizeBatchNorms(model, 17);
      const graph = importTfjs(await saveLayersModel(model));
      const inputs = shapes.map((s, i) => tf.randomNormal(s, 0, 1, 'float32', 30 + i));
      const refOut = model.predict(inputs.length === 1 ? inputs[0] : inputs);
      const refs = Array.isArray(refOut) ? refOut : [refOut];
      const ours = await runInOrt(graph, inputs);
      ours.forEach((o, i) => expect(relDiff(o, refs[i])).toBeLessThan(1e-5));
      tf.dispose([...inputs, ...refs]);
      model.dispose();
    });
  }

  for (const [name, make, shape, extra] of [
    ['conv net', convNetGraph, [2, 8, 8, 3], SIGNATURE],
    ['shape and elementwise ops', shapeOpsGraph, [2, 6, 6, 2], {}],
  ] as const) {
    it(`graph: ${name}`, async () => {
      const { files, artifacts } = make().files(extra);
      const model = await tf.loadGraphModel(tf.io.fromMemory(artifacts));
      const graph = importTfjs(files);
      const input = tf.randomNormal([...shape], 0, 1, 'float32', 40);
      const refOut = model.execute({ [graph.inputs[0].name]: input });
      const refs = Array.isArray(refOut) ? refOut : [refOut];
      const ours = await runInOrt(graph, [input]);
      expect(ours).toHaveLength(refs.length);
      ours.forEach((o, i) => expect(relDiff(o, refs[i])).toBeLessThan(1e-5));
      tf.dispose([input, ...refs]);
      model.dispose();
    });
  }
});
