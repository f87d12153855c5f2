/**
 * What the ResNet-20 benchmarks share: top-1 of an ONNX model on CIFAR-10 images in onnxruntime-node,
 * and the calibration sets (synthetic, cached in bench-results/ so that several runs share one; noise;
 * real test images as a reference).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import * as ort from 'onnxruntime-node';
import { argmaxRows, cifar10Batch, parseCifar10 } from '../../src/core/data/cifar10.js';
import { defaultPipelineConfig } from '../../src/core/pipeline/defaults.js';
import type { PipelineConfig } from '../../src/core/pipeline/types.js';
import type { Graph } from '../../src/core/ir/types.js';
import type { CalibrationSet } from '../../src/core/pipeline/quantizeGraph.js';
import { noiseImages, synthesizeImages } from '../../src/core/synth/index.js';
import { CIFAR_MEAN, CIFAR_STD, cifarFixture } from '../../src/core/testing/fixtures.js';

export function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}

/** The flags both ResNet-20 quantization benchmarks take: --calib --images --steps --iters --eval --cache. */
export function calibrationArgs() {
  return {
    calibs: arg('calib', 'synthetic').split(','),
    nImages: Number(arg('images', '256')),
    steps: Number(arg('steps', '80')),
    iters: Number(arg('iters', '1000')),
    nEval: Number(arg('eval', '10000')),
    cache: process.argv.includes('--cache'),
  };
}

/** The top-1 class of each of `count` NCHW CIFAR images, in onnxruntime-node. */
export async function predictTop1(model: Uint8Array, images: Float32Array, count: number): Promise<Int32Array> {
  const session = await ort.InferenceSession.create(model);
  const per = 3 * 32 * 32;
  const pred = new Int32Array(count);
  for (let s = 0; s < count; s += 500) {
    const m = Math.min(500, count - s);
    const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', images.subarray(s * per, (s + m) * per), [m, 3, 32, 32]) });
    pred.set(argmaxRows(out[session.outputNames[0]].data as Float32Array, m, 10), s);
  }
  return pred;
}

export async function top1(model: Uint8Array, images: Float32Array, labels: Uint8Array): Promise<number> {
  const pred = await predictTop1(model, images, labels.length);
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (pred[i] === labels[i]) correct++;
  return (100 * correct) / labels.length;
}

/**
 * ResNet-20 (resnet20_bn.onnx; or another CIFAR-10 ONNX model at `modelPath`) and `nEval` CIFAR-10 test images spread over test_batch.bin, with the
 * float model's top-1 on them in onnxruntime-node: what every ResNet-20 quantization row is scored against.
 */
export async function resnet20Setup(nEval: number, modelPath = cifarFixture('resnet20_bn.onnx')) {
  const modelBytes = new Uint8Array(readFileSync(modelPath));
  const test = parseCifar10(new Uint8Array(readFileSync(cifarFixture('test_batch.bin'))));
  const n = Math.min(nEval, test.count);
  const evalIdx = Array.from({ length: n }, (_, i) => Math.floor((i * test.count) / n));
  const evalSet = cifar10Batch(test, evalIdx, CIFAR_MEAN, CIFAR_STD);
  const floatTop1 = await top1(modelBytes, evalSet.images, evalSet.labels);
  return { modelPath, modelBytes, files: [{ name: basename(modelPath), bytes: modelBytes }], test, evalSet, evalImages: n, floatTop1 };
}

/**
 * The pipeline config of a benchmark row: w{8,4}a{8,4}-{nearest,adaptive}[-all4][-bc] (first/last layer
 * at 8 bit unless -all4; -bc: bias correction), CIFAR normalization, `iters` adaptive-rounding iterations.
 */
export function rowConfig(row: string, iters: number): PipelineConfig {
  const m = /^w(\d)a(\d+)-(nearest|adaptive)(-all4)?(-bc)?$/.exec(row);
  if (!m) throw new Error(`bad row ${row}`);
  const cfg = defaultPipelineConfig();
  cfg.quant = { ...cfg.quant, weightBits: Number(m[1]) as 8, activationBits: Number(m[2]) as 8, rounding: m[3] as 'adaptive', keepFirstLast8bit: !m[4], biasCorrection: !!m[5], adaroundIterations: iters };
  cfg.normalization = { mean: [...CIFAR_MEAN], std: [...CIFAR_STD], pixelRange: 255 };
  return cfg;
}

export type BenchCalibration = CalibrationSet & { method: string; seconds: number };

/** bench-results/synth-cache-[KEY-]N-S.f32: the synthetic images of one model (KEY '' = the shared ResNet-20). */
const synthCachePath = (key: string, nImages: number, steps: number) => `bench-results/synth-cache-${key ? `${key}-` : ''}${nImages}-${steps}.f32`;

/** The cache of the most images below `nImages` with the same model and steps, if any. */
function largestSmallerCache(key: string, nImages: number, steps: number): { path: string; images: number } | undefined {
  const files = existsSync('bench-results') ? readdirSync('bench-results') : [];
  const counts = [...Array(nImages).keys()].filter((n) => n > 0 && files.includes(basename(synthCachePath(key, n, steps))));
  const best = counts[counts.length - 1];
  return best ? { path: synthCachePath(key, best, steps), images: best } : undefined;
}

/**
 * 'synthetic' (BN statistics; with `cache`, read from or written to bench-results/synth-cache-N-S.f32, or a
 * smaller cache with the same steps extended by images synthesized with the seed = its image count),
 * 'synthetic-flip' (the synthetic set plus its horizontal mirror images), 'ccW' (class-conditional synthetic images at class weight W, from bench/classConditional.ts's cache),
 * 'noise', or 'real' (training images spread over data_batch.bin: the real-data reference row; the test
 * file, which every row is scored on, is never calibrated on).
 */
export async function benchCalibration(kind: string, graph: Graph, nImages: number, steps: number, cache: boolean, cacheKey = ''): Promise<BenchCalibration> {
  const opts = { numImages: nImages, steps, seed: 0, normalization: { mean: [...CIFAR_MEAN], std: [...CIFAR_STD] } };
  // cacheKey: the model's name for models other than the shared ResNet-20, whose caches keep their old names
  const cachePath = synthCachePath(cacheKey, nImages, steps);
  if (kind === 'synthetic' && cache && existsSync(cachePath)) {
    const buf = readFileSync(cachePath);
    const images = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    console.log(`synthetic: ${nImages} images read from ${cachePath}`);
    return { images, shape: [nImages, 3, 32, 32], method: 'synthetic', seconds: 0 };
  }
  const smaller = kind === 'synthetic' && cache ? largestSmallerCache(cacheKey, nImages, steps) : undefined;
  if (smaller) {
    // extend, don't regenerate: the cached images first, then the rest synthesized with another seed
    const buf = readFileSync(smaller.path);
    const have = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    const r = await synthesizeImages(graph, { ...opts, numImages: nImages - smaller.images, seed: smaller.images, method: 'bn-statistics' });
    const images = new Float32Array(have.length + r.images.length);
    images.set(have);
    images.set(r.images, have.length);
    writeFileSync(cachePath, new Uint8Array(images.buffer));
    console.log(`synthetic: ${smaller.images} images from ${smaller.path} + ${nImages - smaller.images} synthesized (seed ${smaller.images}, ${steps} steps, BN loss ${r.startBnLoss.toFixed(2)} -> ${r.endBnLoss.toFixed(3)} in ${r.seconds.toFixed(0)} s) -> ${cachePath}`);
    return { images, shape: [nImages, 3, 32, 32], method: 'synthetic', seconds: r.seconds };
  }
  if (kind === 'synthetic') {
    const r = await synthesizeImages(graph, { ...opts, method: 'bn-statistics' });
    if (cache) {
      mkdirSync('bench-results', { recursive: true });
      writeFileSync(cachePath, new Uint8Array(r.images.buffer, r.images.byteOffset, r.images.byteLength));
    }
    console.log(`synthetic: ${nImages} images, ${steps} steps, BN loss ${r.startBnLoss.toFixed(2)} -> ${r.endBnLoss.toFixed(3)} in ${r.seconds.toFixed(0)} s`);
    return { images: r.images, shape: r.shape, method: 'synthetic', seconds: r.seconds };
  }
  if (kind === 'synthetic-flip') {
    // the synthetic set and its horizontal mirror images (2x the images): does a more varied set help?
    const base = await benchCalibration('synthetic', graph, nImages, steps, cache, cacheKey);
    const per = 3 * 32 * 32;
    const images = new Float32Array(2 * base.images.length);
    images.set(base.images);
    for (let i = 0; i < nImages * 3 * 32; i++) {
      const row = base.images.subarray(i * 32, (i + 1) * 32);
      for (let x = 0; x < 32; x++) images[base.images.length + i * 32 + x] = row[31 - x];
    }
    console.log(`synthetic-flip: ${nImages} synthetic images + their ${nImages} mirror images (${images.length / per} in all)`);
    return { images, shape: [2 * nImages, 3, 32, 32], method: 'synthetic', seconds: base.seconds };
  }
  const cc = /^cc([\d.]+)$/.exec(kind);
  if (cc) {
    // class-conditional synthetic images at class weight cc[1], as bench/classConditional.ts --cache wrote them
    const path = `bench-results/synth-cache-cc${cc[1]}-${nImages}-${steps}.f32`;
    if (!existsSync(path)) throw new Error(`${path} not found: run npx tsx bench/classConditional.ts --weights ${cc[1]} --images ${nImages} --steps ${steps} --cache first`);
    const buf = readFileSync(path);
    console.log(`${kind}: ${nImages} class-conditional images read from ${path}`);
    return { images: new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)), shape: [nImages, 3, 32, 32], method: `class-conditional ${cc[1]}`, seconds: 0 };
  }
  if (kind === 'noise') {
    const r = noiseImages([3, 32, 32], opts);
    return { images: r.images, shape: r.shape, method: 'noise', seconds: 0 };
  }
  if (kind === 'real') {
    const train = parseCifar10(new Uint8Array(readFileSync(cifarFixture('data_batch.bin'))));
    const idx = Array.from({ length: nImages }, (_, i) => Math.floor((i * train.count) / nImages));
    const b = cifar10Batch(train, idx, CIFAR_MEAN, CIFAR_STD);
    return { images: b.images, shape: [nImages, 3, 32, 32], method: 'real', seconds: 0 };
  }
  throw new Error(`unknown calibration ${kind}`);
}
