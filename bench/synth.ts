/**
 * Data-free image synthesis on the shared ResNet-20 (resnet20_bn.onnx): speed and loss.
 *
 *   npm run bench:synth -- [--sections speed,real,sweep,target] [--backends wasm,cpu] [--batches 32,64,128]
 *                          [--sweep-steps 100] [--sweep-batch 64] [--lrs 0.05,0.1,0.25,0.5] [--target-images 256]
 *
 * Sections:
 *  speed   time of one forward pass and of one synthesis step (forward to the last BN + backward + Adam),
 *          per backend and batch size; steps/s and image-steps/s.
 *  real    BN-statistics loss of real CIFAR-10 test images (batches of 64): the level a perfect synthetic
 *          batch would reach, to read the synthetic losses against.
 *  sweep   end BN loss vs time for learning rates, schedules and step counts (chooses the defaults).
 *  target  the product target: 256 images with the defaults, wall time (goal: <= 300 s on 2 cores).
 * Prints tables and writes bench-results/synth-<time>.json (and bench-results/synth-latest.json).
 *
 * `synthesizeForBenchmark` is the reusable entry for the quantization-quality part (top-1 of models
 * calibrated on synthetic vs noise vs real images), which imports it.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { cifar10Batch, parseCifar10 } from '../src/core/data/cifar10.js';
import { importModel } from '../src/core/importers/index.js';
import type { Graph } from '../src/core/ir/types.js';
import { initBackend, type BackendName } from '../src/core/runtime/backends.js';
import { GraphExecutor } from '../src/core/runtime/executor.js';
import { collectBatchNormStats } from '../src/core/synth/batchNormStats.js';
import { makeBatchNormTargets } from '../src/core/synth/bnLoss.js';
import { findImageInput } from '../src/core/synth/graphInput.js';
import { graphSynthesisModel } from '../src/core/synth/graphModel.js';
import { resolveSynthesisOptions, type SynthesisOptions } from '../src/core/synth/options.js';
import type { SynthProgressEvent } from '../src/core/synth/progress.js';
import { synthesizeImages, type SynthesizeImagesOptions } from '../src/core/synth/synthesizeImages.js';
import { synthesisObjective, type SynthesisResult } from '../src/core/synth/synthesizer.js';
import { totalVariation } from '../src/core/synth/imagePrior.js';
import { CIFAR_MEAN, CIFAR_STD, cifarFixture } from '../src/core/testing/fixtures.js';

export const CIFAR_NORMALIZATION = { mean: [...CIFAR_MEAN], std: [...CIFAR_STD] };

export function loadResnet20(file: 'resnet20_bn.onnx' | 'resnet20_folded.onnx' = 'resnet20_bn.onnx'): Graph {
  return importModel([{ name: file, bytes: new Uint8Array(readFileSync(cifarFixture(file))) }]);
}

export interface BenchmarkSynthesis {
  result: SynthesisResult;
  backend: string;
  /** Wall time of each optimization step (seconds), from the progress events. */
  stepSeconds: number[];
  /**
   * CPU time of this process per step (seconds). wasm runs one thread in Node, so on a shared, loaded
   * machine this is the better estimate of the uncontended wall time.
   */
  stepCpuSeconds: number[];
  /** CPU seconds of the whole call. */
  cpuSeconds: number;
}

const cpuNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/**
 * Synthesize calibration images for a benchmark run (the backend must be initialized). Records per-step
 * times; progress lines every `logEvery` steps when given. Reused by the quantization-quality benchmark.
 */
export async function synthesizeForBenchmark(
  graph: Graph,
  options: SynthesizeImagesOptions,
  logEvery = 0,
): Promise<BenchmarkSynthesis> {
  const stepSeconds: number[] = [];
  const stepCpuSeconds: number[] = [];
  let last = performance.now();
  let lastCpu = cpuNow();
  const cpuStart = lastCpu;
  const onProgress = (e: SynthProgressEvent) => {
    if (e.type !== 'synth-step') return;
    const now = performance.now();
    const cpu = cpuNow();
    stepSeconds.push((now - last) / 1000);
    stepCpuSeconds.push(cpu - lastCpu);
    last = now;
    lastCpu = cpu;
    if (logEvery > 0 && (e.step % logEvery === 0 || e.step === e.steps - 1)) {
      console.error(`  batch ${e.batch + 1}/${e.batches} step ${e.step + 1}/${e.steps} bn ${e.bnLoss.toFixed(4)} prior ${e.priorLoss.toFixed(4)}`);
    }
  };
  last = performance.now();
  lastCpu = cpuNow();
  const result = await synthesizeImages(graph, { normalization: CIFAR_NORMALIZATION, previewEvery: 0, ...options }, onProgress);
  return { result, backend: tf.getBackend(), stepSeconds, stepCpuSeconds, cpuSeconds: cpuNow() - cpuStart };
}

// ---- helpers --------------------------------------------------------------------------------------

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : def;
}
const list = (s: string) => s.split(',').map((v) => v.trim()).filter(Boolean);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};
function table(rows: Record<string, string | number>[]): void {
  if (!rows.length) return;
  const keys = Object.keys(rows[0]);
  const cell = (v: string | number) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : v);
  const w = keys.map((k) => Math.max(k.length, ...rows.map((r) => cell(r[k]).length)));
  console.log(keys.map((k, i) => k.padEnd(w[i])).join('  '));
  for (const r of rows) console.log(keys.map((k, i) => cell(r[k]).padStart(w[i])).join('  '));
}

// ---- sections -------------------------------------------------------------------------------------

async function speed(graph: Graph, backends: BackendName[], batches: number[]) {
  const rows: Record<string, string | number>[] = [];
  for (const b of backends) {
    await initBackend(b);
    const input = findImageInput(graph);
    const exec = new GraphExecutor(graph);
    for (const n of b === 'cpu' ? batches.filter((x) => x <= 32) : batches) {
      const x = tf.randomNormal([n, 3, 32, 32], 0, 1, 'float32', 1);
      const forward = () => tf.tidy(() => {
        const { outputs } = exec.execute(new Map([[input.name, x]]));
        return [...outputs.values()][0].dataSync()[0];
      });
      forward();
      const fwd: number[] = [];
      const fwdCpu: number[] = [];
      for (let i = 0; i < 3; i++) {
        const t = performance.now();
        const c = cpuNow();
        forward();
        fwd.push((performance.now() - t) / 1000);
        fwdCpu.push(cpuNow() - c);
      }
      x.dispose();
      const steps = b === 'cpu' ? 3 : 6;
      const r = await synthesizeForBenchmark(graph, { numImages: n, batchSize: n, steps });
      const step = median(r.stepSeconds.slice(1));
      const stepCpu = median(r.stepCpuSeconds.slice(1));
      rows.push({
        backend: b, batch: n, 'forward wall s': median(fwd), 'forward cpu s': median(fwdCpu), 'step wall s': step, 'step cpu s': stepCpu,
        'step/forward (cpu)': stepCpu / median(fwdCpu), 'steps/s (cpu)': 1 / stepCpu, 'img-steps/s (cpu)': n / stepCpu,
      });
      console.error(`speed ${b} batch ${n}: forward ${median(fwd).toFixed(3)} s wall / ${median(fwdCpu).toFixed(3)} s cpu, step ${step.toFixed(3)} s wall / ${stepCpu.toFixed(3)} s cpu`);
    }
    exec.dispose();
  }
  console.log('\n## speed (forward = whole network; step = forward to last BN + backward + Adam; cpu = this process\'s CPU time, wasm is single-threaded in Node)');
  table(rows);
  return rows;
}

async function realReference(graph: Graph, batch = 64, count = 512) {
  await initBackend('wasm');
  const set = parseCifar10(new Uint8Array(readFileSync(cifarFixture('test_batch.bin'))));
  // The file is sorted by class: a stride spreads a batch over all classes.
  const stride = Math.floor(set.count / count);
  const stats = collectBatchNormStats(graph);
  const model = graphSynthesisModel(graph, stats, findImageInput(graph));
  const o = resolveSynthesisOptions({});
  const targets = makeBatchNormTargets(stats, o.bnWeight, o.firstBnMultiplier);
  const losses: number[] = [];
  const priors: number[] = [];
  const tvs: number[] = [];
  for (let s = 0; s < count; s += batch) {
    const idx = Array.from({ length: batch }, (_, i) => ((s + i) * stride) % set.count);
    const { images, dims } = cifar10Batch(set, idx, CIFAR_MEAN, CIFAR_STD);
    const v = tf.tidy(() => {
      const { parts } = synthesisObjective(model, targets, o, tf.tensor4d(images, dims));
      return parts.slice(0, 2).dataSync();
    });
    losses.push(v[0]);
    priors.push(v[1]);
    tvs.push(imageTv(images, dims));
  }
  model.dispose();
  targets.dispose();
  const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
  console.log(`\n## real CIFAR-10 images (batches of ${batch}, ${count} images): BN loss ${mean(losses).toFixed(4)} (min ${Math.min(...losses).toFixed(4)}, max ${Math.max(...losses).toFixed(4)}), prior ${mean(priors).toFixed(4)}, image TV ${mean(tvs).toFixed(3)}`);
  return { batch, count, bnLoss: mean(losses), bnLossMin: Math.min(...losses), bnLossMax: Math.max(...losses), priorLoss: mean(priors), imageTv: mean(tvs) };
}

/** Mean squared neighbour difference (the TV term) of NCHW images: real CIFAR-10 test images give 0.35. */
function imageTv(images: Float32Array, shape: [number, number, number, number]): number {
  return tf.tidy(() => totalVariation(tf.tensor4d(images, shape)).dataSync()[0]);
}

/** Fraction of pixels at the edge of the valid range (0 or 255 after de-normalization). */
function saturatedFraction(images: Float32Array, norm: { mean: number[]; std: number[] }): number {
  const plane = 32 * 32;
  let n = 0;
  for (let i = 0; i < images.length; i++) {
    const c = Math.floor(i / plane) % 3;
    const p = images[i] * norm.std[c] + norm.mean[c];
    if (p <= 1e-4 || p >= 1 - 1e-4) n++;
  }
  return n / images.length;
}

interface SweepRun { label: string; options: Partial<SynthesisOptions> }

async function sweep(graph: Graph, runs: SweepRun[]) {
  await initBackend('wasm');
  const rows: Record<string, string | number>[] = [];
  const curves: Record<string, number[]> = {};
  for (const run of runs) {
    const r = await synthesizeForBenchmark(graph, run.options);
    const o = r.result.options;
    rows.push({
      run: run.label, batch: o.batchSize, steps: o.steps, lr: o.learningRate, schedule: o.lrSchedule,
      'start bn': r.result.startBnLoss, 'end bn': r.result.endBnLoss, 'end prior': r.result.endLoss - r.result.endBnLoss * o.bnWeight,
      'image TV': imageTv(r.result.images, r.result.shape), 'saturated %': 100 * saturatedFraction(r.result.images, CIFAR_NORMALIZATION), 'wall s': r.result.seconds, 'cpu s': r.cpuSeconds,
    });
    curves[run.label] = r.result.bnLossHistory[0].filter((_, i, a) => i % 10 === 0 || i === a.length - 1);
    console.error(`sweep ${run.label}: bn ${r.result.startBnLoss.toFixed(3)} -> ${r.result.endBnLoss.toFixed(4)} in ${r.result.seconds.toFixed(1)} s wall, ${r.cpuSeconds.toFixed(1)} s cpu`);
  }
  console.log('\n## sweep (wasm; end bn = BN loss of the final images without jitter)');
  table(rows);
  return { rows, curves };
}

async function target(graph: Graph, numImages: number) {
  await initBackend('wasm');
  const r = await synthesizeForBenchmark(graph, { numImages }, 50);
  const o = r.result.options;
  console.log(`\n## target: ${numImages} images, defaults (batch ${o.batchSize}, ${o.steps} steps, lr ${o.learningRate} ${o.lrSchedule}) on wasm: ` +
    `${r.result.seconds.toFixed(1)} s wall, ${r.cpuSeconds.toFixed(1)} s cpu (goal <= 300 s), BN loss ${r.result.startBnLoss.toFixed(3)} -> ${r.result.endBnLoss.toFixed(4)}`);
  return { numImages, seconds: r.result.seconds, cpuSeconds: r.cpuSeconds, startBnLoss: r.result.startBnLoss, endBnLoss: r.result.endBnLoss, options: o, medianStepSeconds: median(r.stepSeconds) };
}

async function main() {
  const sections = list(arg('sections', 'speed,real,sweep,target'));
  const backends = list(arg('backends', 'wasm,cpu')) as BackendName[];
  const batches = list(arg('batches', '32,64,128')).map(Number);
  const sweepSteps = Number(arg('sweep-steps', '100'));
  const sweepBatch = Number(arg('sweep-batch', '64'));
  const lrs = list(arg('lrs', '0.05,0.1,0.25,0.5')).map(Number);
  const graph = loadResnet20();
  const out: Record<string, unknown> = {
    date: new Date().toISOString(), loadavgStart: loadavg(), cores: (await import('node:os')).cpus().length, model: 'resnet20_bn.onnx',
  };
  if (sections.includes('speed')) out.speed = await speed(graph, backends, batches);
  if (sections.includes('real')) out.real = await realReference(graph);
  if (sections.includes('sweep')) {
    const base = { numImages: sweepBatch, batchSize: sweepBatch, steps: sweepSteps };
    const runs: SweepRun[] = lrs.map((lr) => ({ label: `lr ${lr} cosine`, options: { ...base, learningRate: lr, lrSchedule: 'cosine' } }));
    for (const extra of list(arg('sweep-extra', ''))) {
      // name=value pairs separated by ';', e.g. "steps=200;learningRate=0.1"
      const o: Record<string, number | string> = { ...base };
      for (const kv of extra.split(';')) {
        const [k, v] = kv.split('=');
        o[k] = Number.isFinite(Number(v)) ? Number(v) : v;
      }
      runs.push({ label: extra, options: o as Partial<SynthesisOptions> });
    }
    out.sweep = await sweep(graph, runs);
  }
  if (sections.includes('target')) out.target = await target(graph, Number(arg('target-images', '256')));
  out.loadavgEnd = loadavg();
  mkdirSync('bench-results', { recursive: true });
  const json = JSON.stringify(out, null, 1);
  writeFileSync(`bench-results/synth-${out.date as string}.json`.replace(/:/g, '-'), json);
  writeFileSync('bench-results/synth-latest.json', json);
  console.log(`\nload average ${(out.loadavgStart as number[]).map((v) => v.toFixed(1)).join(' ')} -> ${(out.loadavgEnd as number[]).map((v) => v.toFixed(1)).join(' ')}; wrote bench-results/synth-latest.json`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
