import * as tf from '@tensorflow/tfjs';
import type { Graph, ModelFile } from '../../ir/types.js';
import { GraphExecutor } from '../../runtime/executor.js';
import { importTfjs } from './index.js';

/** Test helpers: save tfjs models to in-memory files, run imported graphs, measure differences. */

const enc = new TextEncoder();

export function jsonFile(name: string, value: unknown): ModelFile {
  return { name, bytes: enc.encode(JSON.stringify(value)) };
}

/** model.json + one weights.bin, as tensorflowjs would write a layers model. */
export async function saveLayersModel(model: tf.LayersModel): Promise<ModelFile[]> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const a = artifacts!;
  const data = a.weightData ? new Uint8Array(tf.io.CompositeArrayBuffer.join(a.weightData)) : new Uint8Array();
  const modelJson = { format: 'layers-model', generatedBy: 'TensorFlow.js tfjs-layers', convertedBy: null, modelTopology: a.modelTopology, weightsManifest: [{ paths: ['./weights.bin'], weights: a.weightSpecs }] };
  return [jsonFile('model.json', modelJson), { name: 'weights.bin', bytes: data }];
}

/** Max |ours - ref| / max(1, max |ref|) over all elements. */
export function relativeMaxDiff(ours: tf.Tensor, ref: tf.Tensor): number {
  const a = ours.dataSync();
  const b = ref.dataSync();
  if (a.length !== b.length) throw new Error(`size mismatch ${ours.shape} vs ${ref.shape}`);
  let diff = 0;
  let scale = 1;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

/** Runs an imported graph on named inputs; returns outputs in graph order (caller disposes). */
export function runGraph(graph: Graph, inputs: Record<string, tf.Tensor>): tf.Tensor[] {
  const ex = new GraphExecutor(graph);
  try {
    const { outputs } = ex.execute(inputs);
    return graph.outputs.map((o) => outputs.get(o.name)!);
  } finally {
    ex.dispose();
  }
}

/** Imports a layers model via save + importTfjs and compares it with model.predict on `inputs`; returns the max relative diff per output. */
export async function compareLayersModel(model: tf.LayersModel, inputs: tf.Tensor[]): Promise<{ diffs: number[]; graph: Graph }> {
  const files = await saveLayersModel(model);
  const graph = importTfjs(files);
  const feeds: Record<string, tf.Tensor> = {};
  graph.inputs.forEach((vi, i) => (feeds[vi.name] = inputs[i]));
  const ours = runGraph(graph, feeds);
  const refOut = model.predict(inputs.length === 1 ? inputs[0] : inputs);
  const refs = Array.isArray(refOut) ? refOut : [refOut];
  const diffs = ours.map((t, i) => {
    if (t.shape.join() !== refs[i].shape.join()) throw new Error(`output ${i} shape ${t.shape} vs reference ${refs[i].shape}`);
    return relativeMaxDiff(t, refs[i]);
  });
  tf.dispose([...ours, ...refs]);
  return { diffs, graph };
}
