/**
 * Fits the CIFAR-10 linear probe on nsfwjs's MobileNetV2 backbone (src/core/testing/mobileNetV2CifarProbe.ts)
 * and writes models/mobilenetv2-cifar-probe/head.bin + head.json:
 *  1. the backbone cut at flatten_1 (1280 pooled features), imported and written as float ONNX, runs in
 *     onnxruntime-node on CIFAR-10 TRAINING images (data_batch.bin) upsampled to 224 the way the benchmark
 *     and `localquant eval --images` prepare images (evaluationImages: bilinear, pixels / 255);
 *  2. every 5th of the --images records (spread over the class-sorted file) is held out; a softmax
 *     regression (scripts/probe/softmaxRegression.ts) is fit on the rest for each weight decay of --decays,
 *     and the one with the best held-out accuracy is kept;
 *  3. the head is refit with that decay on all --images records and written; the composed model (backbone +
 *     head, one TF.js layers model) is run on held-out images to check its logits match features x W + b.
 * No test image is read.
 *
 *   npx tsx scripts/fit-mobilenet-cifar-probe.ts [--images 5000] [--steps 300] [--decays 1e-4,1e-3,1e-2,1e-1] [--threads 1]
 *
 * Features are cached in bench-results/mnv2-probe-features-<images>.f32 (git-ignored); a rerun refits only.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createOrtSession, runOrtBatched } from '../cli/lib/ort.js';
import { cifar10RecordRgba } from '../cli/lib/calibrationImages.js';
import { parseCifar10, type Cifar10Set } from '../src/core/data/cifar10.js';
import { evaluationImages } from '../src/core/data/evaluationImages.js';
import { writeOnnx } from '../src/core/exporters/onnx/onnxWriter.js';
import { importModel } from '../src/core/importers/index.js';
import type { Graph } from '../src/core/ir/types.js';
import { initBackend } from '../src/core/runtime/backends.js';
import { cifarFixture } from '../src/core/testing/fixtures.js';
import { mobileNetV2ProbeFiles, PROBE_DIR, PROBE_NORMALIZATION } from '../src/core/testing/mobileNetV2CifarProbe.js';
import { fitSoftmaxRegression, probeAccuracy, probeLogits, type ProbeData } from './probe/softmaxRegression.js';

const argv = process.argv.slice(2);
const arg = (name: string, dflt: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const IMAGES = Number(arg('images', '5000'));
const STEPS = Number(arg('steps', '300'));
const DECAYS = arg('decays', '1e-4,1e-3,1e-2,1e-1').split(',').map(Number);
const THREADS = Number(arg('threads', '1'));
const LEARNING_RATE = 0.01;
const CHUNK = 50;

const t0 = performance.now();
const log = (m: string) => console.log(`[${((performance.now() - t0) / 1000).toFixed(0)}s] ${m}`);

/** Model outputs for CIFAR-10 records `idx`, prepared by evaluationImages in chunks (a 224 image is 600 KB). */
async function outputsOn(graph: Graph, model: Uint8Array, set: Cifar10Set, idx: number[]): Promise<Float32Array> {
  const session = await createOrtSession(model, { threads: THREADS });
  const parts: Float32Array[] = [];
  for (let s = 0; s < idx.length; s += CHUNK) {
    const batch = evaluationImages(graph, idx.slice(s, s + CHUNK).map((r) => cifar10RecordRgba(set.bytes, r)), PROBE_NORMALIZATION);
    parts.push((await runOrtBatched(session, batch.images, batch.shape, { batch: CHUNK })).data);
    if ((s / CHUNK) % 10 === 0) log(`${s + batch.shape[0]} / ${idx.length} images`);
  }
  await session.release();
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
}

function rows(data: ProbeData, keep: (i: number) => boolean): ProbeData {
  const idx = Array.from({ length: data.n }, (_, i) => i).filter(keep);
  const x = new Float32Array(idx.length * data.d);
  idx.forEach((r, i) => x.set(data.x.subarray(r * data.d, (r + 1) * data.d), i * data.d));
  return { x, labels: idx.map((r) => data.labels[r]), n: idx.length, d: data.d };
}

async function main(): Promise<void> {
  await initBackend('wasm');
  const set = parseCifar10(new Uint8Array(readFileSync(cifarFixture('data_batch.bin'))));
  const idx = Array.from({ length: IMAGES }, (_, i) => Math.floor((i * set.count) / IMAGES));
  const labels = idx.map((r) => set.labels[r]);
  const backboneFiles = mobileNetV2ProbeFiles(null);
  const backbone = importModel(backboneFiles);
  const cache = `bench-results/mnv2-probe-features-${IMAGES}.f32`;
  let features: Float32Array;
  const cached = existsSync(cache);
  if (cached) {
    const b = readFileSync(cache);
    features = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    log(`features from ${cache}`);
  } else {
    log(`extracting features of ${IMAGES} training images in onnxruntime-node (${THREADS} thread(s))`);
    features = await outputsOn(backbone, writeOnnx(backbone), set, idx);
    mkdirSync('bench-results', { recursive: true });
    writeFileSync(cache, Buffer.from(features.buffer, features.byteOffset, features.byteLength));
  }
  const extractSeconds = (performance.now() - t0) / 1000;
  const d = features.length / IMAGES;
  const all: ProbeData = { x: features, labels, n: IMAGES, d };
  const isHeld = (i: number) => i % 5 === 4;
  const train = rows(all, (i) => !isHeld(i));
  const held = rows(all, isHeld);

  const sweep: { weightDecay: number; heldOutAccuracy: number; trainAccuracy: number; endLoss: number }[] = [];
  for (const weightDecay of DECAYS) {
    const fit = fitSoftmaxRegression(train, { classes: 10, weightDecay, steps: STEPS, learningRate: LEARNING_RATE });
    const row = {
      weightDecay,
      heldOutAccuracy: probeAccuracy(probeLogits(fit, held.x, held.n, d), held.labels, held.n),
      trainAccuracy: probeAccuracy(probeLogits(fit, train.x, train.n, d), train.labels, train.n),
      endLoss: fit.endLoss,
    };
    sweep.push(row);
    log(`weight decay ${weightDecay}: held-out ${(100 * row.heldOutAccuracy).toFixed(2)} %, train ${(100 * row.trainAccuracy).toFixed(2)} %, loss ${fit.startLoss.toFixed(3)} -> ${fit.endLoss.toFixed(3)}`);
  }
  const best = sweep.reduce((a, b) => (b.heldOutAccuracy > a.heldOutAccuracy ? b : a));
  const head = fitSoftmaxRegression(all, { classes: 10, weightDecay: best.weightDecay, steps: STEPS, learningRate: LEARNING_RATE });
  log(`refit on all ${IMAGES} with weight decay ${best.weightDecay}: train ${(100 * probeAccuracy(probeLogits(head, all.x, all.n, d), all.labels, all.n)).toFixed(2)} %`);

  // The composed model must compute exactly features x W + b (checked on 100 held-out images).
  const dense = { inputs: d, units: 10, kernel: head.kernel, bias: head.bias };
  const composedGraph = importModel(mobileNetV2ProbeFiles(dense));
  const checkIdx = idx.filter((_, i) => isHeld(i)).slice(0, 100);
  const composed = await outputsOn(composedGraph, writeOnnx(composedGraph), set, checkIdx);
  const heldFeatures = rows(all, isHeld).x.subarray(0, checkIdx.length * d);
  const expected = probeLogits(head, heldFeatures, checkIdx.length, d);
  const maxDiff = composed.reduce((m, v, i) => Math.max(m, Math.abs(v - expected[i])), 0);
  log(`composed model vs features x W + b on ${checkIdx.length} held-out images: max |difference| ${maxDiff.toExponential(2)}`);
  if (!(maxDiff < 1e-3)) throw new Error(`the composed model does not reproduce the probe (max difference ${maxDiff})`);

  mkdirSync(PROBE_DIR, { recursive: true });
  const bin = new Float32Array(d * 10 + 10);
  bin.set(head.kernel);
  bin.set(head.bias, d * 10);
  writeFileSync(join(PROBE_DIR, 'head.bin'), Buffer.from(bin.buffer));
  const meta = {
    inputs: d,
    units: 10,
    classes: ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'],
    layout: 'head.bin: float32 little-endian, kernel [inputs, units] row-major (Keras Dense), then bias [units]; outputs are logits',
    backbone: 'nsfwjs@4.4.0 dist/models/mobilenet_v2 (Keras MobileNetV2) cut at flatten_1 (after average_pooling2d_1 7x7)',
    preprocessing: 'CIFAR-10 32x32 RGB -> 224x224 bilinear (pixel-centre mapping, src/core/data/evaluationImages.ts), pixels / 255, NHWC',
    trainingImages: `data_batch.bin records floor(i * 50000 / ${IMAGES}), i < ${IMAGES}; every 5th (i % 5 == 4) held out for the decay choice`,
    fit: { method: 'softmax regression on centred features divided by one global scale (both folded into kernel and bias), full-batch Adam on tfjs wasm', steps: STEPS, learningRate: LEARNING_RATE, weightDecaySweep: sweep, chosenWeightDecay: best.weightDecay, refitOn: IMAGES },
    heldOutAccuracy: best.heldOutAccuracy,
    heldOutImages: held.n,
    composedModelMaxDifference: maxDiff,
    // With cached features this is the time to read them, not to extract them.
    featureExtractionSeconds: extractSeconds,
    featuresFrom: cached ? `cache ${cache}` : 'onnxruntime-node',
    seconds: (performance.now() - t0) / 1000,
  };
  writeFileSync(join(PROBE_DIR, 'head.json'), `${JSON.stringify(meta, null, 2)}\n`);
  log(`wrote ${PROBE_DIR}/head.bin and head.json (held-out ${(100 * best.heldOutAccuracy).toFixed(2)} % at decay ${best.weightDecay})`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
