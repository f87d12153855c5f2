/**
 * Checks an export against the tfjs training forward on CIFAR-10 records: both ONNX files in
 * onnxruntime-node and the TF.js layers model in tfjs (max |logit difference|, top-1 of each), and that
 * LocalQuant's importer reads all three with the expected BatchNorm counts.
 */
import * as tf from '@tensorflow/tfjs';
import type { Cifar10Set } from '../../src/core/data/cifar10.js';
import { argmaxRows, cifar10Batch } from '../../src/core/data/cifar10.js';
import { nchwToNhwc } from '../../src/core/data/layout.js';
import { importModel } from '../../src/core/importers/index.js';
import { CIFAR_MEAN, CIFAR_STD } from '../../src/core/testing/fixtures.js';
import { createOrtSession, runOrt } from '../../cli/lib/ort.js';
import { spreadRecords, top1 } from './evaluate.js';
import type { ExportedModel } from './exportModel.js';
import type { NetSpec } from './netSpec.js';

export interface FormCheck { top1: number; correct: number; maxAbsDiff: number; agreement: number; batchNorms: number }
export interface ExportCheck {
  images: number;
  tfjsTop1: number;
  /** BatchNorm layers in the spec: what the importer must find in the BN-kept ONNX and the TF.js model. */
  expectedBatchNorms: number;
  onnxBn: FormCheck;
  onnxFolded: FormCheck;
  tfjsLayers: FormCheck;
}

function compare(logits: Float32Array, reference: Float32Array, labels: Int32Array, classes: number, batchNorms: number): FormCheck {
  let maxAbsDiff = 0;
  for (let i = 0; i < logits.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(logits[i] - reference[i]));
  const { correct, accuracy } = top1(logits, labels, classes);
  const ours = argmaxRows(logits, labels.length, classes);
  const theirs = argmaxRows(reference, labels.length, classes);
  const agree = ours.reduce((s, p, i) => s + (p === theirs[i] ? 1 : 0), 0);
  return { top1: accuracy, correct, maxAbsDiff, agreement: agree / labels.length, batchNorms };
}

const countBn = (files: { name: string; bytes: Uint8Array }[]) => importModel(files).nodes.filter((n) => n.opType === 'BatchNormalization').length;

export async function verifyExport(spec: NetSpec, exported: ExportedModel, reference: { logits: Float32Array; labels: Int32Array }, set: Cifar10Set, batch = 500): Promise<ExportCheck> {
  const n = reference.labels.length;
  // the same records predictLogits scored
  const records = spreadRecords(set.count, n);
  const k = spec.classes;
  const bnSession = await createOrtSession(exported.onnxBn);
  const foldedSession = await createOrtSession(exported.onnxFolded);
  const json = JSON.parse(exported.layers.modelJson);
  const shard = exported.layers.shard;
  const layers = await tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights,
    weightData: shard.buffer.slice(shard.byteOffset, shard.byteOffset + shard.byteLength) as ArrayBuffer,
  }));
  const out = { bn: new Float32Array(n * k), folded: new Float32Array(n * k), layers: new Float32Array(n * k) };
  for (let s = 0; s < n; s += batch) {
    const m = Math.min(batch, n - s);
    const b = cifar10Batch(set, records.slice(s, s + m), CIFAR_MEAN, CIFAR_STD);
    out.bn.set((await runOrt(bnSession, { [spec.input]: { data: b.images, dims: b.dims } }))[spec.output].data, s * k);
    out.folded.set((await runOrt(foldedSession, { [spec.input]: { data: b.images, dims: b.dims } }))[spec.output].data, s * k);
    const y = tf.tidy(() => layers.predict(tf.tensor4d(nchwToNhwc(b.images, b.dims), [m, spec.size, spec.size, spec.channels])) as tf.Tensor);
    out.layers.set(y.dataSync(), s * k);
    y.dispose();
  }
  layers.dispose();
  await bnSession.release();
  await foldedSession.release();
  return {
    images: n,
    tfjsTop1: top1(reference.logits, reference.labels, k).accuracy,
    onnxBn: compare(out.bn, reference.logits, reference.labels, k, countBn([{ name: 'model.onnx', bytes: exported.onnxBn }])),
    onnxFolded: compare(out.folded, reference.logits, reference.labels, k, countBn([{ name: 'model.onnx', bytes: exported.onnxFolded }])),
    tfjsLayers: compare(out.layers, reference.logits, reference.labels, k,
      countBn([{ name: 'model.json', bytes: new TextEncoder().encode(exported.layers.modelJson) }, { name: 'weights.bin', bytes: exported.layers.shard }])),
    expectedBatchNorms: spec.ops.filter((o) => o.kind === 'bn').length,
  };
}
