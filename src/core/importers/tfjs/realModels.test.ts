import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeOnnx } from '../../exporters/onnx/onnxWriter.js';
import type { Graph, ModelFile } from '../../ir/types.js';
import { initBackend } from '../../runtime/backends.js';
import { GraphExecutor, toGraphLayout } from '../../runtime/executor.js';
import { importTfjs } from './index.js';
import { nsfwjsModelFiles } from '../../testing/nsfwjsModels.js';
import type { ModelJson } from './modelJson.js';
import { relativeMaxDiff, runGraph } from './testSupport.js';

/** Real trained models shipped inside nsfwjs@4.4.0 (see testing/nsfwjsModels.ts). */
const loadBundled = nsfwjsModelFiles;

function artifacts(json: ModelJson, weightData: ArrayBuffer): tf.io.ModelArtifacts {
  return {
    modelTopology: json.modelTopology,
    weightSpecs: (json.weightsManifest ?? []).flatMap((g) => g.weights) as tf.io.WeightsManifestEntry[],
    weightData,
    format: json.format,
    userDefinedMetadata: json.userDefinedMetadata as Record<string, object> | undefined,
  };
}

/** The imported graph written as ONNX and run in onnxruntime-node (independent of our executor), vs `expected`. */
async function ortDiff(graph: Graph, x: tf.Tensor, expected: tf.Tensor): Promise<number> {
  const session = await ort.InferenceSession.create(writeOnnx(graph));
  const res = await session.run({ [graph.inputs[0].name]: new ort.Tensor('float32', x.dataSync() as Float32Array, x.shape) });
  await session.release();
  const out = res[graph.outputs[0].name];
  expect([...out.dims]).toEqual(expected.shape);
  const ours = tf.tensor(out.data as Float32Array, expected.shape);
  const d = relativeMaxDiff(ours, expected);
  ours.dispose();
  return d;
}

/** Our value `name` (captured from the executor) vs a reference tensor; the caller disposes `expected`. */
function capturedDiff(graph: ReturnType<typeof importTfjs>, feeds: Record<string, tf.Tensor>, name: string, expected: tf.Tensor): number {
  const ex = new GraphExecutor(graph);
  try {
    const { outputs, captured } = ex.execute(feeds, { capture: [name] });
    const c = captured.get(name)!;
    const ours = toGraphLayout(c);
    // Our captured value is NCHW (graph layout) when 4-D; the reference is NHWC.
    const oursSrc = ours.rank === 4 ? tf.transpose(ours, [0, 2, 3, 1]) : ours;
    const d = relativeMaxDiff(oursSrc, expected);
    tf.dispose([...new Set([...outputs.values(), c.tensor, ours, oursSrc])]);
    return d;
  } finally {
    ex.dispose();
  }
}

beforeAll(async () => {
  await initBackend('wasm');
});

describe('real tfjs models shipped in nsfwjs@4.4.0', () => {
  it('mobilenet_v2 layers model (BN) matches tf.loadLayersModel', async () => {
    const { files, json, weightData } = loadBundled('mobilenet_v2');
    const graph = importTfjs(files);
    const bns = graph.nodes.filter((n) => n.opType === 'BatchNormalization');
    expect(bns).toHaveLength(52);
    const ref = await tf.loadLayersModel(tf.io.fromMemory(artifacts(json, weightData)));
    // BN statistics arrive intact (compared with the reference model's own weights).
    const bnLayer = ref.getLayer('bn_Conv1');
    const [, , mean, variance] = bnLayer.getWeights();
    const node = bns.find((n) => n.name === 'bn_Conv1')!;
    expect(Array.from(graph.initializers.get(node.inputs[3])!.data)).toEqual(Array.from(mean.dataSync()));
    expect(Array.from(graph.initializers.get(node.inputs[4])!.data)).toEqual(Array.from(variance.dataSync()));
    const x = tf.randomUniform([2, 224, 224, 3], 0, 1, 'float32', 42);
    const expected = ref.predict(x) as tf.Tensor;
    const [ours] = runGraph(graph, { [graph.inputs[0].name]: x });
    const diff = relativeMaxDiff(ours, expected);
    // Pre-softmax check too: the flattened features feeding the classifier head.
    const features = tf.model({ inputs: ref.inputs, outputs: ref.getLayer('flatten_1').output as tf.SymbolicTensor });
    const refFeatures = features.predict(x) as tf.Tensor;
    const featDiff = capturedDiff(graph, { [graph.inputs[0].name]: x }, 'flatten_1', refFeatures);
    console.log(`nsfwjs mobilenet_v2 (layers): output max |diff| / max(1, |ref|) = ${diff.toExponential(3)}; flatten_1 features ${featDiff.toExponential(3)} (max |ref| ${refFeatures.abs().max().dataSync()[0].toFixed(2)})`);
    const viaOrt = await ortDiff(graph, x, expected);
    console.log(`nsfwjs mobilenet_v2 (layers) via onnxruntime-node: ${viaOrt.toExponential(3)}`);
    expect(diff).toBeLessThan(1e-4);
    expect(featDiff).toBeLessThan(1e-4);
    expect(viaOrt).toBeLessThan(1e-4);
    refFeatures.dispose();
    tf.dispose([x, expected, ours]);
    ref.dispose();
  });

  it('inception_v3 layers model (BN, scale=false, 6 shards) matches tf.loadLayersModel', async () => {
    const { files, json, weightData } = loadBundled('inception_v3');
    const graph = importTfjs(files);
    expect(graph.nodes.filter((n) => n.opType === 'BatchNormalization')).toHaveLength(94);
    const ref = await tf.loadLayersModel(tf.io.fromMemory(artifacts(json, weightData)));
    const x = tf.randomUniform([1, 299, 299, 3], 0, 1, 'float32', 43);
    const expected = ref.predict(x) as tf.Tensor;
    const [ours] = runGraph(graph, { [graph.inputs[0].name]: x });
    const diff = relativeMaxDiff(ours, expected);
    const viaOrt = await ortDiff(graph, x, expected);
    console.log(`nsfwjs inception_v3 (layers): max |diff| / max(1, |ref|) = ${diff.toExponential(3)}; via onnxruntime-node ${viaOrt.toExponential(3)}`);
    expect(diff).toBeLessThan(1e-4);
    expect(viaOrt).toBeLessThan(1e-4);
    tf.dispose([x, expected, ours]);
    ref.dispose();
  });

  it('mobilenet_v2_mid graph model matches tf.loadGraphModel', async () => {
    const { files, json, weightData } = loadBundled('mobilenet_v2_mid');
    const graph = importTfjs(files);
    expect(graph.format).toBe('tfjs-graph');
    const ref = await tf.loadGraphModel(tf.io.fromMemory(artifacts(json, weightData)));
    const x = tf.randomUniform([2, 224, 224, 3], 0, 1, 'float32', 44);
    const expected = ref.execute(x) as tf.Tensor;
    const [ours] = runGraph(graph, { [graph.inputs[0].name]: x });
    const diff = relativeMaxDiff(ours, expected);
    // Pre-softmax logits too.
    const softmaxNode = (json.modelTopology as { node: { op: string; input?: string[] }[] }).node.find((n) => n.op === 'Softmax')!;
    const logitsName = softmaxNode.input![0];
    const refLogits = ref.execute(x, logitsName) as tf.Tensor;
    const logitDiff = capturedDiff(graph, { [graph.inputs[0].name]: x }, logitsName, refLogits);
    console.log(`nsfwjs mobilenet_v2_mid (graph): output max |diff| / max(1, |ref|) = ${diff.toExponential(3)}; logits ${logitDiff.toExponential(3)} (max |ref| ${refLogits.abs().max().dataSync()[0].toFixed(2)})`);
    const viaOrt = await ortDiff(graph, x, expected);
    console.log(`nsfwjs mobilenet_v2_mid (graph) via onnxruntime-node: ${viaOrt.toExponential(3)}`);
    expect(diff).toBeLessThan(1e-4);
    expect(logitDiff).toBeLessThan(1e-4);
    expect(viaOrt).toBeLessThan(1e-4);
    refLogits.dispose();
    tf.dispose([x, expected, ours]);
    ref.dispose();
  });
});
