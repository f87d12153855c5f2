import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeOnnx } from '../../exporters/onnx/onnxWriter.js';
import type { Graph, ModelFile } from '../../ir/types.js';
import { initBackend } from '../../runtime/backends.js';
import { GraphExecutor, toGraphLayout } from '../../runtime/executor.js';
import { importTfjs } from './index.js';
import type { ModelJson } from './modelJson.js';
import { jsonFile, relativeMaxDiff, runGraph } from './testSupport.js';

/**
 * Real trained models that an npm package ships inside itself: nsfwjs@4.4.0 bundles
 *  - dist/models/mobilenet_v2/     Keras 2.2.4 MobileNetV2 layers model (52 BatchNormalization, uint8-quantized weights)
 *  - dist/models/inception_v3/     Keras 2.2.4 InceptionV3 layers model (94 BatchNormalization, 6 shards)
 *  - dist/models/mobilenet_v2_mid/ graph model (TF Hub MobileNetV2, _FusedConv2D / FusedDepthwiseConv2dNative)
 * each as model.min.js (the model.json object) and group1-shardNofM.min.js (base64 shard strings).
 * nsfwjs@4.4.0 is a devDependency (no install scripts: the models are plain files in the tarball, nothing
 * downloads at install or run time). NSFWJS_DIR may point at another unpacked copy.
 */

const require = createRequire(import.meta.url);

function nsfwjsDir(): string {
  if (process.env.NSFWJS_DIR && existsSync(join(process.env.NSFWJS_DIR, 'dist/models'))) return process.env.NSFWJS_DIR;
  // A missing devDependency fails here (npm ci installs it); these tests never skip.
  // The package's "exports" hide package.json: walk up from its entry point to the folder with dist/models.
  let dir = dirname(require.resolve('nsfwjs'));
  while (!existsSync(join(dir, 'dist/models')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

const DIR = nsfwjsDir();

/** The model files as a user would drop them: model.json and the binary shards its manifest names. */
function loadBundled(model: string): { files: ModelFile[]; json: ModelJson; weightData: ArrayBuffer } {
  const dir = join(DIR, 'dist/models', model);
  const json = require(join(dir, 'model.min.js')) as ModelJson;
  const files: ModelFile[] = [jsonFile('model.json', json)];
  const parts: Uint8Array[] = [];
  for (const group of json.weightsManifest ?? []) {
    for (const path of group.paths) {
      const b64 = require(join(dir, `${path}.min.js`)) as string;
      const bytes = new Uint8Array(Buffer.from(b64, 'base64'));
      files.push({ name: path, bytes });
      parts.push(bytes);
    }
  }
  const all = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return { files, json, weightData: all.buffer };
}

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
