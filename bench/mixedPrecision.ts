/**
 * bench:mixed — ResNet-20 under a size budget (A8, target "smallest": 4-bit weights packed int4, 2/3-bit as
 * bit planes) against uniform weight widths, scored in onnxruntime-node on the CIFAR-10 test file
 * (FP32 91.73). Prints a table and writes bench-results/mixedPrecision.json (with each mixed row's bits
 * per layer and frontier).
 *
 * Run: npm run bench:mixed -- [--rows mixed10-nearest,mixed10-adaptive,w4-adaptive,w3-adaptive,...]
 *      [--calib synthetic,real] [--images 256] [--steps 80] [--iters 1000] [--eval 10000] [--cache] [--json NAME]
 * Rows: mixed<P>-{nearest|adaptive}: file at most P % of the float file, bits chosen per layer (first and last
 * layer free); w<B>[f]-{nearest|adaptive}: every layer at B bits (f: first/last kept at 8). --cache reuses
 * bench:quant's synthetic images (bench-results/synth-cache-N-S.f32). --json: bench-results/NAME.json
 * (default mixedPrecision), so that runs of different rows keep their own file.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cifar10Batch, parseCifar10 } from '../src/core/data/cifar10.js';
import { importModel } from '../src/core/importers/index.js';
import { defaultPipelineConfig } from '../src/core/pipeline/defaults.js';
import { runPipeline } from '../src/core/pipeline/run.js';
import { initBackend } from '../src/core/runtime/backends.js';
import { CIFAR_MEAN, CIFAR_STD, cifarFixture } from '../src/core/testing/fixtures.js';
import { arg, benchCalibration, calibrationArgs, top1, type BenchCalibration } from './lib/resnet20Bench.js';

const rows = arg('rows', 'mixed10-nearest,mixed10-adaptive,w4-nearest,w4-adaptive,w3-nearest,w3-adaptive,w2-adaptive').split(',');
const { calibs, nImages, steps, iters, nEval, cache } = calibrationArgs();
const jsonName = arg('json', 'mixedPrecision');

interface Row {
  row: string;
  calibration: string;
  top1: number;
  drop: number;
  sizeBytes: number;
  sizePercent: number;
  bits: string;
  predictedBytes?: number;
  predictedKl?: number;
  seconds: number;
}

async function main(): Promise<void> {
  const backend = await initBackend('wasm');
  const modelBytes = new Uint8Array(readFileSync(cifarFixture('resnet20_bn.onnx')));
  const files = [{ name: 'resnet20_bn.onnx', bytes: modelBytes }];
  const set = parseCifar10(new Uint8Array(readFileSync(cifarFixture('test_batch.bin'))));
  const evalIdx = Array.from({ length: Math.min(nEval, set.count) }, (_, i) => Math.floor((i * set.count) / Math.min(nEval, set.count)));
  const evalSet = cifar10Batch(set, evalIdx, CIFAR_MEAN, CIFAR_STD);
  const floatTop1 = await top1(modelBytes, evalSet.images, evalSet.labels);
  console.log(`float top-1 ${floatTop1.toFixed(2)} on ${evalIdx.length} images, file ${modelBytes.byteLength} bytes; backend ${backend.name}`);
  const graph = importModel(files);
  const calSets = new Map<string, BenchCalibration>();
  for (const c of calibs) calSets.set(c, await benchCalibration(c, graph, nImages, steps, cache));

  const results: (Row & { mixedPrecision?: unknown })[] = [];
  for (const c of calibs) {
    for (const row of rows) {
      const m = /^(?:mixed(\d+(?:\.\d+)?)|w([2348])(f?))-(nearest|adaptive)$/.exec(row);
      if (!m) throw new Error(`bad row ${row}`);
      const cfg = defaultPipelineConfig();
      cfg.normalization = { mean: [...CIFAR_MEAN], std: [...CIFAR_STD], pixelRange: 255 };
      cfg.quant = { ...cfg.quant, activationBits: 8, rounding: m[4] as 'adaptive', adaroundIterations: iters, target: 'smallest', keepFirstLast8bit: !!m[3] };
      if (m[1]) cfg.sizeBudget = { fraction: Number(m[1]) / 100 };
      else cfg.quant.weightBits = Number(m[2]) as 4;
      const t0 = performance.now();
      const r = await runPipeline(files, cfg, () => {}, undefined, { calibration: calSets.get(c)! });
      const seconds = (performance.now() - t0) / 1000;
      const q = await top1(r.onnx!, evalSet.images, evalSet.labels);
      const mp = r.report.mixedPrecision;
      const rec = {
        row, calibration: c, top1: q, drop: floatTop1 - q, sizeBytes: r.sizeAfter, sizePercent: (100 * r.sizeAfter) / modelBytes.byteLength,
        bits: r.report.layers.map((l) => l.weightBits ?? 'f').join(''), seconds,
        ...(mp ? { predictedBytes: mp.predictedBytes, predictedKl: mp.predictedSensitivity, mixedPrecision: mp } : {}),
      };
      results.push(rec);
      console.log(`${row.padEnd(18)} ${c.padEnd(10)} top-1 ${q.toFixed(2)} (drop ${rec.drop.toFixed(2)})  ${r.sizeAfter} bytes = ${rec.sizePercent.toFixed(2)}%  bits ${rec.bits}  ${seconds.toFixed(0)} s`);
    }
  }
  console.log(`\nfloat ${floatTop1.toFixed(2)} (${evalIdx.length} test images), float file ${modelBytes.byteLength} bytes, A8, target smallest, ${nImages} calibration images`);
  console.log('| row | calibration | top-1 | drop | file bytes | % of float | bits per layer (first..last) | predicted bytes | predicted KL | s |\n|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    console.log(`| ${r.row} | ${r.calibration} | ${r.top1.toFixed(2)} | ${r.drop.toFixed(2)} | ${r.sizeBytes} | ${r.sizePercent.toFixed(2)} | ${r.bits} | ${r.predictedBytes ?? ''} | ${r.predictedKl?.toExponential(2) ?? ''} | ${r.seconds.toFixed(0)} |`);
  }
  mkdirSync('bench-results', { recursive: true });
  writeFileSync(`bench-results/${jsonName}.json`, JSON.stringify({ float: floatTop1, floatBytes: modelBytes.byteLength, evalImages: evalIdx.length, images: nImages, steps, iters, backend: backend.name, results }, null, 2));
}

void main();
