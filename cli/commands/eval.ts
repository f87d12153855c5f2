import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { argmaxRows, cifar10Batch, parseCifar10, type Cifar10Set } from '../../src/core/data/cifar10.js';
import { evaluationImages } from '../../src/core/data/evaluationImages.js';
import { LocalQuantError } from '../../src/core/errors.js';
import type { InputNormalization } from '../../src/core/pipeline/types.js';
import { importModel } from '../../src/core/importers/index.js';
import { prepareGraph } from '../../src/core/ir/prepare.js';
import type { Graph } from '../../src/core/ir/types.js';
import { initBackend, type BackendPreference } from '../../src/core/runtime/backends.js';
import { GraphExecutor } from '../../src/core/runtime/executor.js';
import { CIFAR_MEAN, CIFAR_STD } from '../../src/core/testing/fixtures.js';
import { createOrtSession, runOrt } from '../lib/ort.js';
import { readLabelledImageFolder } from '../lib/labelledImageFolder.js';
import { readModelFiles } from '../lib/readModelFiles.js';
import { UsageError, parseArgs } from '../lib/usage.js';

export const help = `localquant eval MODEL (--cifar10 FILE | --images DIR) [options]

Top-1 accuracy of an image classifier on a CIFAR-10 binary file (records of 1 label byte + 32x32 RGB
planes, e.g. test_batch.bin), or on a folder of your own PNG/JPEG images. Images are normalized as
(pixel/255 - mean) / std per channel and fed NCHW (NHWC for a TF.js model whose interface is channels-last).

Options:
  --cifar10 FILE     a CIFAR-10 binary file
  --images DIR       a folder of images in class sub-folders (sorted folder names are classes 0, 1, ...;
                     whole-number folder names are the class index), or flat with --labels. Images are
                     cropped/resized to the model input as the app does; onnxruntime-node only
  --labels CSV       file,label rows (label = class index) for --images
  --limit N          evaluate the first N records only. The shared test_batch.bin is sorted by class
                     (records 0-999 are airplanes), so a small limit is not a representative sample
  --mean r,g,b       normalization mean (default ${CIFAR_MEAN.join(',')})
  --std r,g,b        normalization std (default ${CIFAR_STD.join(',')})
  --runtime ort|tfjs onnxruntime-node (default for .onnx) or LocalQuant's tfjs executor (default otherwise)
  --backend NAME     tfjs backend for --runtime tfjs: wasm (default), cpu, auto
  --batch N          images per inference call (default 250)
  --json             print {"top1", "count", "correct", "runtime", "seconds", "backend"} as JSON`;

export function triple(v: string | boolean | undefined, def: readonly number[], what: string): number[] {
  if (v === undefined) return [...def];
  const parts = String(v).split(',').map(Number);
  if (parts.length !== 3 || parts.some((x) => !Number.isFinite(x))) throw new UsageError(`--${what} needs three numbers like 0.5,0.5,0.5`);
  if (what === 'std' && parts.some((x) => x <= 0)) throw new UsageError('--std values must be positive');
  return parts;
}

export function positiveInt(v: string | boolean | undefined, def: number, what: string): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${what} needs a positive integer, got '${v}'`);
  return n;
}

export interface EvalResult {
  top1: number;
  count: number;
  correct: number;
  runtime: 'ort' | 'tfjs';
  seconds: number;
  backend: string;
}

/** Accuracy with onnxruntime-node. */
export async function evalOrt(modelPath: string, set: Cifar10Set, count: number, mean: number[], std: number[], batch: number): Promise<EvalResult> {
  const session = await createOrtSession(modelPath);
  const t0 = performance.now();
  let correct = 0;
  for (let s = 0; s < count; s += batch) {
    const b = cifar10Batch(set, { start: s, count: Math.min(batch, count - s) }, mean, std);
    const out = (await runOrt(session, { [session.inputNames[0]]: { data: b.images, dims: b.dims } }))[session.outputNames[0]];
    correct += countCorrect(out.data, b.labels);
  }
  const seconds = (performance.now() - t0) / 1000;
  await session.release();
  return { top1: pct(correct, count), count, correct, runtime: 'ort', seconds, backend: 'onnxruntime-node (cpu)' };
}

/** Accuracy with the tfjs executor; the last batch is zero-padded so every call has the same shape. */
export async function evalTfjs(graph: Graph, set: Cifar10Set, count: number, mean: number[], std: number[], batch: number, backend: BackendPreference): Promise<EvalResult> {
  const info = await initBackend(backend);
  const input = graph.inputs[0];
  const nhwc = graph.interfaceLayout === 'NHWC';
  const n = Math.min(batch, count);
  const shape = nhwc ? [n, 32, 32, 3] : [n, 3, 32, 32];
  const ex = new GraphExecutor(prepareGraph(graph, { [input.name]: shape }));
  const t0 = performance.now();
  let correct = 0;
  try {
    for (let s = 0; s < count; s += n) {
      const b = cifar10Batch(set, { start: s, count: Math.min(n, count - s) }, mean, std);
      const m = b.labels.length;
      const padded = new Float32Array(n * 3 * 32 * 32);
      padded.set(b.images);
      const logits = tf.tidy(() => {
        const x = tf.tensor4d(padded, [n, 3, 32, 32]);
        const r = ex.execute({ [input.name]: nhwc ? tf.transpose(x, [0, 2, 3, 1]) : x });
        return r.outputs.get(graph.outputs[0].name)!;
      });
      const data = (await logits.data()) as Float32Array;
      logits.dispose();
      correct += countCorrect(data.subarray(0, (data.length / n) * m), b.labels);
    }
  } finally {
    ex.dispose();
  }
  const seconds = (performance.now() - t0) / 1000;
  const detail = info.name === 'wasm' ? ` (${info.simd ? 'SIMD' : 'no SIMD'}, ${info.threads} thread${info.threads === 1 ? '' : 's'})` : '';
  return { top1: pct(correct, count), count, correct, runtime: 'tfjs', seconds, backend: `${info.name}${detail}` };
}

function countCorrect(logits: Float32Array, labels: Uint8Array): number {
  const k = logits.length / labels.length;
  if (!Number.isInteger(k) || k < 10) {
    throw new LocalQuantError('BAD_INPUT', `the model gives ${logits.length / labels.length} values per image; a CIFAR-10 classifier gives 10 logits`);
  }
  const pred = argmaxRows(logits, labels.length, k);
  let c = 0;
  for (let i = 0; i < labels.length; i++) if (pred[i] === labels[i]) c++;
  return c;
}

const pct = (correct: number, count: number) => Math.round((correct / count) * 1e4) / 100;

export async function run(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgs(argv, {
    cifar10: 'string', images: 'string', labels: 'string', limit: 'string', mean: 'string', std: 'string', runtime: 'string', backend: 'string', batch: 'string', json: 'boolean',
  });
  if (positional.length !== 1) throw new UsageError(positional.length ? `expected one MODEL, got ${positional.length}` : 'missing MODEL');
  if ((typeof flags.cifar10 === 'string') === (typeof flags.images === 'string')) throw new UsageError('give one of --cifar10 FILE or --images DIR');
  if (flags.labels !== undefined && typeof flags.images !== 'string') throw new UsageError('--labels goes with --images');
  const modelPath = positional[0];
  const mean = triple(flags.mean, CIFAR_MEAN, 'mean');
  const std = triple(flags.std, CIFAR_STD, 'std');
  const batch = positiveInt(flags.batch, 250, 'batch');
  const isOnnx = /\.onnx$/i.test(modelPath);
  const runtime = (flags.runtime ?? (isOnnx ? 'ort' : 'tfjs')) as string;
  if (runtime !== 'ort' && runtime !== 'tfjs') throw new UsageError(`--runtime must be ort or tfjs, got '${runtime}'`);
  if (runtime === 'ort' && flags.backend !== undefined) throw new UsageError('--backend chooses the tfjs backend: it does nothing with --runtime ort');
  const backend = (flags.backend ?? 'wasm') as string;
  if (!['wasm', 'cpu', 'auto', 'webgpu'].includes(backend)) throw new UsageError(`--backend must be wasm, cpu or auto, got '${backend}'`);

  if (typeof flags.images === 'string') {
    if (runtime !== 'ort' || !isOnnx) throw new UsageError('--images runs in onnxruntime-node: give an .onnx model (and no --runtime tfjs)');
    if (flags.limit !== undefined) throw new UsageError('--limit applies to --cifar10; put fewer images in the folder instead');
    const r = await evalImageFolder(modelPath, flags.images, typeof flags.labels === 'string' ? flags.labels : undefined, { mean, std, pixelRange: 255 }, batch);
    printResult(modelPath, flags.images, r, !!flags.json);
    return 0;
  }
  const cifarPath = flags.cifar10 as string;
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(cifarPath));
  } catch {
    throw new LocalQuantError('MISSING_FILE', `Cannot read '${cifarPath}'.`, 'Check the path of the CIFAR-10 binary file.');
  }
  const set = parseCifar10(bytes, `'${basename(cifarPath)}'`);
  const count = Math.min(positiveInt(flags.limit, set.count, 'limit'), set.count);

  let result: EvalResult;
  if (runtime === 'ort') {
    if (!isOnnx) throw new UsageError('--runtime ort needs an .onnx model; use --runtime tfjs for TF.js models');
    readModelFiles(modelPath); // a clear MISSING_FILE before onnxruntime's own message
    result = await evalOrt(modelPath, set, count, mean, std, batch);
  } else {
    result = await evalTfjs(importModel(readModelFiles(modelPath)), set, count, mean, std, batch, backend as BackendPreference);
  }
  printResult(modelPath, cifarPath, result, !!flags.json);
  return 0;
}

function printResult(modelPath: string, dataPath: string, result: EvalResult, json: boolean): void {
  if (json) console.log(JSON.stringify(result));
  else {
    console.log(`${basename(modelPath)} on ${basename(dataPath)}: top-1 ${result.top1.toFixed(2)}% (${result.correct}/${result.count}), runtime ${result.runtime}`);
    console.log(`time ${result.seconds.toFixed(1)} s (${((result.seconds * 1000) / result.count).toFixed(2)} ms/image), backend ${result.backend}`);
  }
}

/** Accuracy with onnxruntime-node on a folder of labelled images (every image must have a label). */
export async function evalImageFolder(modelPath: string, dir: string, labelsCsv: string | undefined, norm: InputNormalization, batch: number): Promise<EvalResult> {
  const folder = readLabelledImageFolder(dir, labelsCsv);
  const missing = folder.labels.labels.findIndex((l) => l === null);
  if (missing >= 0) {
    throw new LocalQuantError('BAD_INPUT', `'${folder.paths[missing]}' has no label.`, 'Put the images in class sub-folders, or give --labels with a file,label row for every image.');
  }
  const labels = Uint8Array.from(folder.labels.labels as number[]);
  const graph = importModel(readModelFiles(modelPath));
  const set = evaluationImages(graph, folder.images, norm);
  const per = set.shape.slice(1).reduce((a, b) => a * b, 1);
  const session = await createOrtSession(modelPath);
  const t0 = performance.now();
  let correct = 0;
  for (let s = 0; s < labels.length; s += batch) {
    const m = Math.min(batch, labels.length - s);
    const out = (await runOrt(session, { [session.inputNames[0]]: { data: set.images.subarray(s * per, (s + m) * per), dims: [m, ...set.shape.slice(1)] } }))[session.outputNames[0]];
    const pred = argmaxRows(out.data, m, out.data.length / m);
    for (let i = 0; i < m; i++) if (pred[i] === labels[s + i]) correct++;
  }
  const seconds = (performance.now() - t0) / 1000;
  await session.release();
  return { top1: pct(correct, labels.length), count: labels.length, correct, runtime: 'ort', seconds, backend: 'onnxruntime-node (cpu)' };
}
