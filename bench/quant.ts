/**
 * bench:quant — the data-free pipeline on the shared ResNet-20, scored in onnxruntime-node on the full
 * CIFAR-10 test file (FP32 91.73). Rows: setting x rounding x calibration source. Prints a table, writes
 * bench-results/quant.json.
 *
 * Run: npm run bench:quant -- [--rows w8a8-nearest,w4a8-adaptive,w4a4-adaptive,...] [--calib synthetic,noise,real]
 *      [--images 256] [--steps 80] [--iters 1000] [--eval 10000]
 * Row names: w{8,4}a{8,4}-{nearest,adaptive}[-all4][-bc] (first/last layer kept at 8 bit unless -all4;
 * -bc: bias correction on). --cache: reuse synthetic images from bench-results/synth-cache-*.f32 (written
 * on the first run with the same --images/--steps), so that rows of several runs share one calibration set.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { argmaxRows, cifar10Batch, parseCifar10 } from '../src/core/data/cifar10.js';
import { defaultPipelineConfig } from '../src/core/pipeline/defaults.js';
import { runPipeline } from '../src/core/pipeline/run.js';
import type { CalibrationSet } from '../src/core/pipeline/quantizeGraph.js';
import { initBackend } from '../src/core/runtime/backends.js';
import { importModel } from '../src/core/importers/index.js';
import { noiseImages, synthesizeImages } from '../src/core/synth/index.js';
import { CIFAR_MEAN, CIFAR_STD, cifarFixture } from '../src/core/testing/fixtures.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}
const rows = arg('rows', 'w8a8-nearest,w4a8-adaptive,w4a4-nearest,w4a4-adaptive').split(',');
const calibs = arg('calib', 'synthetic').split(',');
const nImages = Number(arg('images', '256'));
const steps = Number(arg('steps', '80'));
const iters = Number(arg('iters', '1000'));
const nEval = Number(arg('eval', '10000'));
const cache = process.argv.includes('--cache');

async function top1(model: Uint8Array, images: Float32Array, labels: Uint8Array): Promise<number> {
  const session = await ort.InferenceSession.create(model);
  const per = 3 * 32 * 32;
  let correct = 0;
  for (let s = 0; s < labels.length; s += 500) {
    const m = Math.min(500, labels.length - s);
    const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', images.subarray(s * per, (s + m) * per), [m, 3, 32, 32]) });
    const pred = argmaxRows(out[session.outputNames[0]].data as Float32Array, m, 10);
    for (let i = 0; i < m; i++) if (pred[i] === labels[s + i]) correct++;
  }
  return (100 * correct) / labels.length;
}

async function main(): Promise<void> {
  const backend = await initBackend('wasm');
  const modelPath = cifarFixture('resnet20_bn.onnx');
  const modelBytes = new Uint8Array(readFileSync(modelPath));
  const files = [{ name: 'resnet20_bn.onnx', bytes: modelBytes }];
  const set = parseCifar10(new Uint8Array(readFileSync(cifarFixture('test_batch.bin'))));
  const evalIdx = Array.from({ length: Math.min(nEval, set.count) }, (_, i) => Math.floor((i * set.count) / Math.min(nEval, set.count)));
  const evalSet = cifar10Batch(set, evalIdx, CIFAR_MEAN, CIFAR_STD);
  const floatTop1 = await top1(modelBytes, evalSet.images, evalSet.labels);
  console.log(`float top-1 ${floatTop1.toFixed(2)} on ${evalIdx.length} images; backend ${backend.name}`);

  const graph = importModel(files);
  const calSets = new Map<string, CalibrationSet & { method: string; seconds: number }>();
  for (const c of calibs) {
    const t = performance.now();
    const opts = { numImages: nImages, steps, seed: 0, normalization: { mean: [...CIFAR_MEAN], std: [...CIFAR_STD] } };
    const cachePath = `bench-results/synth-cache-${nImages}-${steps}.f32`;
    if (c === 'synthetic' && cache && existsSync(cachePath)) {
      const buf = readFileSync(cachePath);
      const images = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
      console.log(`synthetic: ${nImages} images read from ${cachePath}`);
      calSets.set(c, { images, shape: [nImages, 3, 32, 32], method: 'synthetic', seconds: 0 });
    } else if (c === 'synthetic') {
      const r = await synthesizeImages(graph, { ...opts, method: 'bn-statistics' });
      if (cache) {
        mkdirSync('bench-results', { recursive: true });
        writeFileSync(cachePath, new Uint8Array(r.images.buffer, r.images.byteOffset, r.images.byteLength));
      }
      console.log(`synthetic: ${nImages} images, ${steps} steps, BN loss ${r.startBnLoss.toFixed(2)} -> ${r.endBnLoss.toFixed(3)} in ${r.seconds.toFixed(0)} s`);
      calSets.set(c, { images: r.images, shape: r.shape, method: 'synthetic', seconds: r.seconds });
    } else if (c === 'noise') {
      const r = noiseImages([3, 32, 32], opts);
      calSets.set(c, { images: r.images, shape: r.shape, method: 'noise', seconds: 0 });
    } else if (c === 'real') {
      // Real test images (a reference upper bound only): every 39th record, spread over the classes.
      const idx = Array.from({ length: nImages }, (_, i) => (i * 39 + 7) % set.count);
      const b = cifar10Batch(set, idx, CIFAR_MEAN, CIFAR_STD);
      calSets.set(c, { images: b.images, shape: [nImages, 3, 32, 32], method: 'real', seconds: 0 });
    } else throw new Error(`unknown calibration ${c}`);
  }

  const results: Record<string, unknown>[] = [];
  for (const c of calibs) {
    for (const row of rows) {
      const m = /^w(\d)a(\d+)-(nearest|adaptive)(-all4)?(-bc)?$/.exec(row);
      if (!m) throw new Error(`bad row ${row}`);
      const cfg = defaultPipelineConfig();
      cfg.quant = { ...cfg.quant, weightBits: Number(m[1]) as 8, activationBits: Number(m[2]) as 8, rounding: m[3] as 'adaptive', keepFirstLast8bit: !m[4], biasCorrection: !!m[5], adaroundIterations: iters };
      cfg.normalization = { mean: [...CIFAR_MEAN], std: [...CIFAR_STD], pixelRange: 255 };
      const t0 = performance.now();
      const cal = calSets.get(c)!;
      const r = await runPipeline(files, cfg, () => {}, undefined, { calibration: cal });
      const seconds = (performance.now() - t0) / 1000;
      const q = await top1(r.onnx!, evalSet.images, evalSet.labels);
      const rec = {
        row, calibration: c, top1: q, drop: floatTop1 - q, sizeRatio: r.sizeAfter / modelBytes.byteLength, sizeBytes: r.sizeAfter,
        seconds: { calibration: cal.seconds, quantize: seconds, ...r.report.seconds }, peakRssMB: Math.round(process.memoryUsage().rss / 2 ** 20),
      };
      results.push(rec);
      console.log(`${row.padEnd(20)} ${c.padEnd(10)} top-1 ${q.toFixed(2)} (drop ${(floatTop1 - q).toFixed(2)})  size ${(100 * rec.sizeRatio).toFixed(1)}%  quantize ${seconds.toFixed(0)} s (+ calibration ${cal.seconds.toFixed(0)} s)  rss ${rec.peakRssMB} MB`);
    }
  }
  console.log('\n| row | calibration | top-1 | drop | size vs FP32 | calib s | quantize s | rss MB |\n|---|---|---|---|---|---|---|---|');
  for (const r of results as { row: string; calibration: string; top1: number; drop: number; sizeRatio: number; seconds: { calibration: number; quantize: number }; peakRssMB: number }[])
    console.log(`| ${r.row} | ${r.calibration} | ${r.top1.toFixed(2)} | ${r.drop.toFixed(2)} | ${(100 * r.sizeRatio).toFixed(1)}% | ${r.seconds.calibration.toFixed(0)} | ${r.seconds.quantize.toFixed(0)} | ${r.peakRssMB} |`);
  mkdirSync('bench-results', { recursive: true });
  writeFileSync('bench-results/quant.json', JSON.stringify({ float: floatTop1, evalImages: evalIdx.length, images: nImages, steps, iters, backend: backend.name, floatBytes: statSync(modelPath).size, results }, null, 2));
}

void main();
