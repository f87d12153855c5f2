/**
 * bench:speed — how quantization time grows with depth. For the shared ResNet-20, a ResNet-20-like and a
 * ResNet-56-like net (src/core/testing/resnetLike.ts, random weights and BN statistics: timing only), on
 * the same random calibration images: stage times of quantizeGraph (activation ranges, rounding) and
 * onnxruntime-node's float forward time over those images at 1 thread, as ratios. Layer-by-layer
 * rounding is linear in depth when rounding(56) / rounding(20) stays near the ratio of layer counts.
 * Prints a table, writes bench-results/speed.json.
 *
 * Forward throughput: our executor (tfjs wasm, one thread, Conv+BN+Relu fused) against onnxruntime-node at
 * 1 thread, both over the same images in batches of 64, as images per CPU second (both run in this process,
 * so CPU time is comparable while other jobs load the machine) and per wall second (best of 3). Beside
 * it, the forward-only stages' pass (activation ranges, channel-noise rule: pipeline/floatValueTap.ts) on
 * the CLI's default engine (onnxruntime-node) and on our executor, at 1 thread, as a share of plain ORT.
 *
 * MobileNetV2-224 row (bench/lib/mobilenetSpeed.ts): nsfwjs' Keras MobileNetV2 quantized W8A8 with the
 * CLI's defaults end to end (runPipeline with the CLI's run options), each stage in wall and CPU seconds,
 * written to bench-results/speed-mobilenet.json. --mobilenet-only runs only that row, --skip-mobilenet
 * leaves it out; --mnv2-images/--mnv2-steps override the defaults (a quick check of the bench).
 *
 * Run: npm run bench:speed -- [--images 256] [--iters 1000] [--wbits 8] [--abits 8] [--rounding adaptive] [--forward-only]
 *        [--mobilenet-only | --skip-mobilenet] [--mnv2-images N] [--mnv2-steps N]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { importOnnx } from '../src/core/importers/onnx/importOnnx.js';
import { quantizeGraph } from '../src/core/pipeline/quantizeGraph.js';
import { disposeTapped, executorTap, ortTap, type FloatValueTap } from '../src/core/pipeline/floatValueTap.js';
import { inferenceForm } from '../src/core/ir/passes/inferenceForm.js';
import type { Graph } from '../src/core/ir/types.js';
import { activationGridSpec, activationPlacement } from '../src/core/quant/activationGrids.js';
import { ortNodeRuntime } from '../cli/lib/ortNodeRuntime.js';
import { defaultQuantConfig, layerBits } from '../src/core/quant/config.js';
import { quantizableLayers } from '../src/core/quant/quantPoints.js';
import { initBackend } from '../src/core/runtime/backends.js';
import { GraphExecutor } from '../src/core/runtime/executor.js';
import { cifarFixture } from '../src/core/testing/fixtures.js';
import { seeded } from '../src/core/testing/opCheck.js';
import { cifarResNet } from '../src/core/testing/resnetLike.js';
import { mobilenetDefaultsSpeed, mobilenetSpeedTable } from './lib/mobilenetSpeed.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}
const nImages = Number(arg('images', '256'));
const iters = Number(arg('iters', '1000'));
const wbits = Number(arg('wbits', '8')) as 8;
const abits = Number(arg('abits', '8')) as 8;
const rounding = arg('rounding', 'adaptive') as 'adaptive';
const forwardOnly = process.argv.includes('--forward-only');
const mobilenetOnly = process.argv.includes('--mobilenet-only');
const skipMobilenet = process.argv.includes('--skip-mobilenet') || forwardOnly;

const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

interface Throughput {
  /** images per CPU second, and per wall second (best of 3 rounds) */
  perCpuSecond: number;
  perWallSecond: number;
}

/** Runs `pass` (one pass over all images) 3 times after a warm-up; the best round by CPU and by wall time. */
async function throughput(pass: () => Promise<void>): Promise<Throughput> {
  await pass();
  let cpu = Infinity;
  let wall = Infinity;
  for (let rep = 0; rep < 3; rep++) {
    const c = cpuSeconds();
    const t = performance.now();
    await pass();
    cpu = Math.min(cpu, cpuSeconds() - c);
    wall = Math.min(wall, (performance.now() - t) / 1000);
  }
  return { perCpuSecond: nImages / cpu, perWallSecond: nImages / wall };
}

/** The values the W8A8 range pass captures (its activation points), as quantizeGraph chooses them. */
function rangePassValues(folded: Graph): string[] {
  const cfg = { ...defaultQuantConfig(), weightBits: 8 as const, activationBits: 8 as const };
  const bitsOf = new Map(quantizableLayers(folded).map((l) => [l.node.name, layerBits(cfg, l.node.name, l)]));
  return activationGridSpec(folded, cfg, bitsOf, activationPlacement(cfg)).owners;
}

interface ForwardRow {
  /** Plain float forward: our executor (tfjs, 1 thread) and onnxruntime-node (1 thread). */
  ours: Throughput;
  ort: Throughput;
  /**
   * The forward-only stages' pass (the W8A8 range pass: every activation point captured and read back to
   * JS) through the engine the CLI uses by default (onnxruntime-node, here at 1 thread) and through our executor.
   */
  stageOrt: Throughput;
  stageOurs: Throughput;
}

/** Float forward throughputs over the same images in batches of 64, all at one thread. */
async function forwardThroughput(model: Uint8Array, images: Float32Array): Promise<ForwardRow> {
  const per = 3 * 32 * 32;
  const graph = importOnnx(model);
  const exec = new GraphExecutor(graph);
  const inputName = graph.inputs[0].name;
  const batches = async (each: (x: tf.Tensor) => Promise<void>) => {
    for (let s = 0; s < nImages; s += 64) {
      const m = Math.min(64, nImages - s);
      const x = tf.tensor(images.subarray(s * per, (s + m) * per), [m, 3, 32, 32]);
      await each(x);
      x.dispose();
    }
  };
  const ours = await throughput(() =>
    batches(async (x) => {
      const r = exec.execute({ [inputName]: x });
      for (const t of r.outputs.values()) await t.data();
      tf.dispose([...r.outputs.values()]);
    }),
  );
  exec.dispose();
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const ortT = await throughput(async () => {
    for (let s = 0; s < nImages; s += 64) {
      const m = Math.min(64, nImages - s);
      await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', images.subarray(s * per, (s + m) * per), [m, 3, 32, 32]) });
    }
  });
  await session.release();
  // the range pass runs on the BN-folded inference form, as in quantizeGraph
  const folded = inferenceForm(graph);
  const names = rangePassValues(folded);
  const stage = async (tap: FloatValueTap) => {
    const t = await throughput(() =>
      batches(async (x) => {
        const captured = await tap.values(x, names);
        for (const v of captured.values()) await v.data();
        disposeTapped(captured);
      }),
    );
    await tap.dispose();
    return t;
  };
  const stageOrt = await stage(ortTap(folded, ortNodeRuntime({ threads: 1 })));
  const foldedExec = new GraphExecutor(folded);
  const stageOurs = await stage(executorTap(foldedExec, 'executor'));
  foldedExec.dispose();
  return { ours, ort: ortT, stageOrt, stageOurs };
}

/** The MobileNetV2-224 W8A8 defaults row: prints its table, writes bench-results/speed-mobilenet.json. */
async function mobilenetRow(): Promise<void> {
  const log = (m: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${m}`);
  const m = await mobilenetDefaultsSpeed({ images: Number(arg('mnv2-images', '0')) || undefined, steps: Number(arg('mnv2-steps', '0')) || undefined, log });
  console.log(mobilenetSpeedTable(m));
  mkdirSync('bench-results', { recursive: true });
  writeFileSync('bench-results/speed-mobilenet.json', JSON.stringify(m, null, 2));
}

async function main(): Promise<void> {
  const backend = await initBackend('wasm');
  if (mobilenetOnly) return mobilenetRow();
  const images = seeded(nImages * 3 * 32 * 32, 5, -2, 2);
  const nets: [string, Uint8Array][] = [
    ['resnet20 (fixture)', new Uint8Array(readFileSync(cifarFixture('resnet20_bn.onnx')))],
    ['resnet20-like', cifarResNet(3)],
    ['resnet56-like', cifarResNet(9)],
  ];
  const forward: (ForwardRow & { net: string; ratioCpu: number; ratioWall: number; stageOrtRatioCpu: number; stageOursRatioCpu: number })[] = [];
  for (const [net, bytes] of nets) {
    const f = await forwardThroughput(bytes, images);
    const cpu = (t: Throughput) => t.perCpuSecond / f.ort.perCpuSecond;
    forward.push({ net, ...f, ratioCpu: cpu(f.ours), ratioWall: f.ours.perWallSecond / f.ort.perWallSecond, stageOrtRatioCpu: cpu(f.stageOrt), stageOursRatioCpu: cpu(f.stageOurs) });
  }
  console.log(`\nFloat forward, ${nImages} images in batches of 64: our executor (tfjs ${backend.name}, 1 thread) vs onnxruntime-node (1 thread)\n`);
  console.log('| net | ours img/CPU s | ORT img/CPU s | ours / ORT (CPU) | ours img/s wall | ORT img/s wall | ours / ORT (wall) |\n|---|---|---|---|---|---|---|');
  for (const f of forward) console.log(`| ${f.net} | ${f.ours.perCpuSecond.toFixed(0)} | ${f.ort.perCpuSecond.toFixed(0)} | ${(100 * f.ratioCpu).toFixed(0)}% | ${f.ours.perWallSecond.toFixed(0)} | ${f.ort.perWallSecond.toFixed(0)} | ${(100 * f.ratioWall).toFixed(0)}% |`);
  console.log(`\nForward-only stages (the W8A8 range pass: every activation point captured and read back), images per CPU second at 1 thread, vs plain onnxruntime-node forward\n`);
  console.log('| net | CLI default engine (onnxruntime-node) | / ORT forward | tfjs executor (page) | / ORT forward |\n|---|---|---|---|---|');
  for (const f of forward) console.log(`| ${f.net} | ${f.stageOrt.perCpuSecond.toFixed(0)} | ${(100 * f.stageOrtRatioCpu).toFixed(0)}% | ${f.stageOurs.perCpuSecond.toFixed(0)} | ${(100 * f.stageOursRatioCpu).toFixed(0)}% |`);
  mkdirSync('bench-results', { recursive: true });
  if (forwardOnly) {
    writeFileSync('bench-results/speed-forward.json', JSON.stringify({ backend: backend.name, images: nImages, forward }, null, 2));
    return;
  }

  const cfg = { ...defaultQuantConfig(), weightBits: wbits, activationBits: abits, rounding };
  cfg.adaround = { ...cfg.adaround, iterations: iters };
  const rows: { net: string; layers: number; ranges: number; rounding: number; secondsPerLayer: number; ortForward: number; roundingVsForward: number }[] = [];
  for (const [net, bytes] of nets) {
    const graph = importOnnx(bytes);
    const q = await quantizeGraph(graph, { images, shape: [nImages, 3, 32, 32] }, cfg);
    const fwd = nImages / forward.find((f) => f.net === net)!.ort.perWallSecond;
    const layers = quantizableLayers(q.folded).length;
    const row = { net, layers, ranges: q.seconds.ranges, rounding: q.seconds.rounding, secondsPerLayer: q.seconds.rounding / layers, ortForward: fwd, roundingVsForward: q.seconds.rounding / fwd };
    rows.push(row);
    console.log(`${net.padEnd(20)} ${layers} layers  ranges ${row.ranges.toFixed(1)} s  rounding ${row.rounding.toFixed(1)} s (${row.secondsPerLayer.toFixed(2)} s/layer)  ORT forward ${fwd.toFixed(2)} s  rounding/forward ${row.roundingVsForward.toFixed(0)}x`);
  }
  const [, r20, r56] = rows;
  const depthRatio = { layers: r56.layers / r20.layers, rounding: r56.rounding / r20.rounding, ortForward: r56.ortForward / r20.ortForward };
  console.log(`\nW${wbits}A${abits} ${rounding}, ${nImages} random images, ${iters} iterations, backend ${backend.name}\n`);
  console.log('| net | layers | ranges s | rounding s | s/layer | ORT fwd s (1 thread) | rounding / ORT fwd |\n|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.net} | ${r.layers} | ${r.ranges.toFixed(1)} | ${r.rounding.toFixed(1)} | ${r.secondsPerLayer.toFixed(2)} | ${r.ortForward.toFixed(2)} | ${r.roundingVsForward.toFixed(0)} |`);
  console.log(`\nresnet56-like / resnet20-like: layers ${depthRatio.layers.toFixed(2)}x, rounding ${depthRatio.rounding.toFixed(2)}x, ORT forward ${depthRatio.ortForward.toFixed(2)}x (target: rounding <= 3.5x)`);
  writeFileSync('bench-results/speed.json', JSON.stringify({ backend: backend.name, images: nImages, iters, wbits, abits, rounding, forward, rows, depthRatio }, null, 2));
  if (!skipMobilenet) await mobilenetRow();
}

void main();
