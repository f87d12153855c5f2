/**
 * Class-conditional synthesis (DeepInversion's cross-entropy term) as calibration data, against today's
 * synthesis (class weight 0) and, as the reference, real training images: ResNet-20 (resnet20_bn.onnx)
 * quantized from each calibration set and scored in onnxruntime-node on the CIFAR-10 test file.
 * Per synthetic set: the BN loss reached, the cross-entropy, and the share of images that the float model
 * (onnxruntime-node) classifies as their target class (round robin: image i -> class i mod 10; for class
 * weight 0 that share is what chance and the BN loss give), plus the largest share any one class takes.
 *
 * Run: npx tsx bench/classConditional.ts [--weights 0,0.1,1] [--rows w4a8-adaptive,w4a4-adaptive] [--real]
 *      [--images 256] [--steps 80] [--iters 1000] [--eval 10000] [--cache] [--out bench-results/classConditional.json]
 * --real adds 256 (--images) training images from data_batch.bin, spread evenly over the file.
 * --cache reuses the synthetic images (and their synthesis figures) from bench-results/synth-cache-cc*.
 * --baseline FILE takes the class-weight-0 images from FILE (float32 NCHW, e.g. bench:quant's
 * bench-results/synth-cache-256-80.f32: the same synthesis, seed 0) instead of synthesizing them.
 * The BN loss column is measured on the final images of every set alike (batches of 64, no augmentation).
 * Rows as in bench:quant (lib/resnet20Bench.ts rowConfig).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { cifar10Batch, parseCifar10 } from '../src/core/data/cifar10.js';
import { importModel } from '../src/core/importers/index.js';
import { runPipeline } from '../src/core/pipeline/run.js';
import { initBackend } from '../src/core/runtime/backends.js';
import * as tf from '@tensorflow/tfjs';
import { collectBatchNormStats } from '../src/core/synth/batchNormStats.js';
import { makeBatchNormTargets } from '../src/core/synth/bnLoss.js';
import { roundRobinTargets } from '../src/core/synth/classTargets.js';
import { findImageInput } from '../src/core/synth/graphInput.js';
import { graphSynthesisModel } from '../src/core/synth/graphModel.js';
import { resolveSynthesisOptions } from '../src/core/synth/options.js';
import { synthesisObjective } from '../src/core/synth/synthesizer.js';
import { synthesizeImages } from '../src/core/synth/synthesizeImages.js';
import { CIFAR_MEAN, CIFAR_STD, cifarFixture } from '../src/core/testing/fixtures.js';
import { arg, calibrationArgs, predictTop1, resnet20Setup, rowConfig, top1 } from './lib/resnet20Bench.js';

const weights = arg('weights', '0,0.1,1').split(',').map(Number);
const rows = arg('rows', 'w4a8-adaptive,w4a4-adaptive').split(',');
const outPath = arg('out', 'bench-results/classConditional.json');
const withReal = process.argv.includes('--real');
const baseline = arg('baseline', '');
const { nImages, steps, iters, nEval, cache } = calibrationArgs();
const CLASSES = 10;

interface CalibrationRow {
  name: string;
  classWeight: number | null;
  images: Float32Array;
  synthesis?: { seconds: number; startBnLoss: number; endBnLoss: number; startClassLoss?: number; endClassLoss?: number; tfjsTargetHitRate?: number };
}

async function synthetic(graph: ReturnType<typeof importModel>, w: number): Promise<CalibrationRow> {
  const path = `bench-results/synth-cache-cc${w}-${nImages}-${steps}`;
  const name = w === 0 ? 'synthetic (today)' : `class-conditional ${w}`;
  if (w === 0 && baseline) {
    const buf = readFileSync(baseline);
    console.log(`${name}: read from ${baseline}`);
    const images = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    if (images.length < nImages * 3 * 32 * 32) throw new Error(`${baseline} holds ${images.length / (3 * 32 * 32)} images, fewer than --images ${nImages}`);
    return { name, classWeight: w, images: images.subarray(0, nImages * 3 * 32 * 32) };
  }
  if (cache && existsSync(`${path}.f32`) && existsSync(`${path}.json`)) {
    const buf = readFileSync(`${path}.f32`);
    console.log(`${name}: read from ${path}.f32`);
    return { name, classWeight: w, images: new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)), synthesis: JSON.parse(readFileSync(`${path}.json`, 'utf8')) };
  }
  const r = await synthesizeImages(graph, {
    method: 'bn-statistics', numImages: nImages, steps, seed: 0, classWeight: w, previewEvery: 0,
    normalization: { mean: [...CIFAR_MEAN], std: [...CIFAR_STD] },
  });
  const cc = r.classConditional;
  const synthesis = {
    seconds: r.seconds, startBnLoss: r.startBnLoss, endBnLoss: r.endBnLoss,
    ...(cc ? { startClassLoss: cc.startClassLoss, endClassLoss: cc.endClassLoss, tfjsTargetHitRate: cc.targetHitRate } : {}),
  };
  mkdirSync('bench-results', { recursive: true });
  writeFileSync(`${path}.f32`, new Uint8Array(r.images.buffer, r.images.byteOffset, r.images.byteLength));
  writeFileSync(`${path}.json`, JSON.stringify(synthesis));
  console.log(`${name}: BN loss ${r.startBnLoss.toFixed(2)} -> ${r.endBnLoss.toFixed(3)}${cc ? `, CE ${cc.startClassLoss.toFixed(2)} -> ${cc.endClassLoss.toFixed(3)}` : ''} in ${r.seconds.toFixed(0)} s (load ${loadavg()[0].toFixed(1)})`);
  return { name, classWeight: w, images: r.images, synthesis };
}

/** Unweighted BN-statistics loss of the images, averaged over batches of 64 (what synthesis reports as its end loss). */
function bnLossOf(graph: ReturnType<typeof importModel>, images: Float32Array): number {
  const stats = collectBatchNormStats(graph);
  const model = graphSynthesisModel(graph, stats, findImageInput(graph));
  const o = resolveSynthesisOptions({});
  const targets = makeBatchNormTargets(stats, o.bnWeight, o.firstBnMultiplier);
  const per = 3 * 32 * 32;
  let sum = 0;
  let batches = 0;
  try {
    for (let s = 0; s < nImages; s += 64) {
      const n = Math.min(64, nImages - s);
      sum += tf.tidy(() => synthesisObjective(model, targets, o, tf.tensor4d(images.subarray(s * per, (s + n) * per), [n, 3, 32, 32])).parts.dataSync()[0]);
      batches++;
    }
  } finally {
    model.dispose();
    targets.dispose();
  }
  return sum / batches;
}

/** Share of images the float model puts in their round-robin target class, and the largest share of one class. */
async function classShares(model: Uint8Array, images: Float32Array): Promise<{ targetHitRate: number; largestClassShare: number }> {
  const pred = await predictTop1(model, images, nImages);
  const targets = roundRobinTargets(nImages, CLASSES);
  const counts = new Array<number>(CLASSES).fill(0);
  let hits = 0;
  pred.forEach((p, i) => {
    counts[p]++;
    if (p === targets[i]) hits++;
  });
  return { targetHitRate: hits / nImages, largestClassShare: Math.max(...counts) / nImages };
}

async function main(): Promise<void> {
  const backend = await initBackend('wasm');
  const { modelBytes, files, evalSet, evalImages, floatTop1 } = await resnet20Setup(nEval);
  console.log(`float top-1 ${floatTop1.toFixed(2)} on ${evalImages} test images (onnxruntime-node); backend ${backend.name}`);
  const graph = importModel(files);

  const results: Record<string, unknown>[] = [];
  const table: string[] = [];
  const calibrations: (() => Promise<CalibrationRow>)[] = weights.map((w) => () => synthetic(graph, w));
  if (withReal) {
    calibrations.push(async () => {
      const train = parseCifar10(new Uint8Array(readFileSync(cifarFixture('data_batch.bin'))));
      const idx = Array.from({ length: nImages }, (_, i) => Math.floor((i * train.count) / nImages));
      return { name: `real (data_batch, ${nImages})`, classWeight: null, images: cifar10Batch(train, idx, CIFAR_MEAN, CIFAR_STD).images };
    });
  }
  // One calibration set at a time: each is synthesized, measured, quantized from and dropped.
  for (const make of calibrations) {
    const cal = await make();
    const shares = await classShares(modelBytes, cal.images);
    const bnLoss = bnLossOf(graph, cal.images);
    const scores: Record<string, number> = {};
    for (const row of rows) {
      const cfg = rowConfig(row, iters);
      const t0 = performance.now();
      const r = await runPipeline(files, cfg, () => {}, undefined, { calibration: { images: cal.images, shape: [nImages, 3, 32, 32], method: cal.name } });
      const seconds = (performance.now() - t0) / 1000;
      const q = await top1(r.onnx!, evalSet.images, evalSet.labels);
      scores[row] = q;
      // real images have labels of their own: a round-robin "target" means nothing for them
      const targetHitRate = cal.classWeight === null ? undefined : shares.targetHitRate;
      results.push({ calibration: cal.name, classWeight: cal.classWeight, row, top1: q, drop: floatTop1 - q, quantizeSeconds: seconds, bnLoss, targetHitRate, largestClassShare: shares.largestClassShare, synthesis: cal.synthesis });
      console.log(`${cal.name.padEnd(24)} ${row.padEnd(16)} top-1 ${q.toFixed(2)} (drop ${(floatTop1 - q).toFixed(2)}) quantize ${seconds.toFixed(0)} s`);
    }
    const s = cal.synthesis;
    table.push(`| ${cal.name} | ${rows.map((r) => scores[r].toFixed(2)).join(' | ')} | ${bnLoss.toFixed(3)} | ${s?.endClassLoss !== undefined ? s.endClassLoss.toFixed(3) : '-'} | ${cal.classWeight === null ? '-' : `${(100 * shares.targetHitRate).toFixed(1)}%`} | ${(100 * shares.largestClassShare).toFixed(1)}% | ${s ? s.seconds.toFixed(0) : '-'} |`);
  }
  console.log(`\nResNet-20, float ${floatTop1.toFixed(2)}; ${nImages} calibration images, ${steps} steps, seed 0; top-1 of the exported ONNX on ${evalImages} test images (onnxruntime-node)`);
  console.log(`| calibration | ${rows.join(' | ')} | BN loss | CE end | float at target class | largest class share | synthesis s |`);
  console.log(`|---|${rows.map(() => '---|').join('')}---|---|---|---|---|`);
  for (const t of table) console.log(t);
  mkdirSync('bench-results', { recursive: true });
  writeFileSync(outPath, JSON.stringify({ float: floatTop1, evalImages: evalImages, images: nImages, steps, iters, backend: backend.name, createdAt: new Date().toISOString(), results }, null, 2));
  console.log(`wrote ${outPath}`);
}

void main();
