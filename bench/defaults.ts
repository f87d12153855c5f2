/**
 * bench:defaults — ResNet-20 end to end with the defaults (pipeline/defaults.ts withBitWidths: what the CLI
 * and the app apply for the bit widths), then the export scored in onnxruntime-node on the CIFAR-10 test
 * images (FP32 91.73 on all 10,000). Targets (issue 12): W8A8 <= 60 s, W4A4 (first/last 8 bit) <= 180 s on
 * the 2-core machine, accuracy within 0.2 pt of bench:quant's rows (W8A8 91.69, W4A4 90.51).
 *
 * Each stage is timed in wall seconds and in this process's CPU seconds (all its threads): tfjs-wasm runs
 * on one thread; the forward-only passes run in onnxruntime-node on every core as in the CLI
 * (--forward-engine tfjs: our executor instead). CPU seconds stay comparable while other jobs load the
 * machine (the load average is recorded beside them); the targets are wall seconds on an idle machine.
 * Prints a table, writes bench-results/defaults.json.
 *
 * Run: npm run bench:defaults -- [--rows "w8a8|w4a4 --keep-first-last-8bit"] [--eval 10000] [--out FILE] [--forward-engine ort|tfjs]
 * Rows are separated by '|'; each is `wXaY` then overrides of the defaults: --keep-first-last-8bit,
 * --rounding R, --images N, --steps N, --iters N, --reconstruction layer|block, --qdrop (for exploring other settings).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { cliRunOptions } from '../cli/lib/runOptions.js';
import { cifar10Batch, parseCifar10 } from '../src/core/data/cifar10.js';
import { defaultPipelineConfig, withBitWidths } from '../src/core/pipeline/defaults.js';
import { runPipeline } from '../src/core/pipeline/run.js';
import type { PipelineConfig, PipelineEvent } from '../src/core/pipeline/types.js';
import { initBackend } from '../src/core/runtime/backends.js';
import { CIFAR_MEAN, CIFAR_STD, cifarFixture } from '../src/core/testing/fixtures.js';
import { arg, top1 } from './lib/resnet20Bench.js';

const rows = arg('rows', 'w8a8|w4a4 --keep-first-last-8bit').split('|').map((r) => r.trim()).filter(Boolean);
const nEval = Number(arg('eval', '10000'));
const outFile = arg('out', 'bench-results/defaults.json');
/** What runs the forward-only passes, as the CLI's --forward-engine (default ort: onnxruntime-node on every core). */
const forwardEngine = arg('forward-engine', 'ort');

const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** The defaults for the row's bit widths, with the row's overrides. */
function rowConfig(row: string): PipelineConfig {
  const [bits, ...extra] = row.split(/\s+/);
  const m = /^w(\d)a(\d+)$/.exec(bits);
  if (!m) throw new Error(`bad row ${row}: starts with wXaY`);
  const cfg = withBitWidths(defaultPipelineConfig(), Number(m[1]) as 8, Number(m[2]) as 8);
  cfg.normalization = { mean: [...CIFAR_MEAN], std: [...CIFAR_STD], pixelRange: 255 };
  cfg.quant.keepFirstLast8bit = false;
  for (let i = 0; i < extra.length; i++) {
    const v = extra[i + 1];
    if (extra[i] === '--keep-first-last-8bit') cfg.quant.keepFirstLast8bit = true;
    else if (extra[i] === '--rounding') cfg.quant.rounding = v as 'adaptive', i++;
    else if (extra[i] === '--images') cfg.calibration.images = Number(v), i++;
    else if (extra[i] === '--steps') cfg.calibration.steps = Number(v), i++;
    else if (extra[i] === '--iters') cfg.quant.adaroundIterations = Number(v), i++;
    else if (extra[i] === '--reconstruction') cfg.quant.reconstruction = v as 'block', i++;
    else if (extra[i] === '--qdrop') cfg.quant.qdrop = true;
    else throw new Error(`bad flag ${extra[i]} in row ${row}`);
  }
  return cfg;
}

interface StageTime {
  wall: number;
  cpu: number;
}

async function main(): Promise<void> {
  const backend = await initBackend('wasm');
  const modelBytes = new Uint8Array(readFileSync(cifarFixture('resnet20_bn.onnx')));
  const set = parseCifar10(new Uint8Array(readFileSync(cifarFixture('test_batch.bin'))));
  const evalIdx = Array.from({ length: Math.min(nEval, set.count) }, (_, i) => Math.floor((i * set.count) / Math.min(nEval, set.count)));
  const evalSet = cifar10Batch(set, evalIdx, CIFAR_MEAN, CIFAR_STD);
  const floatTop1 = await top1(modelBytes, evalSet.images, evalSet.labels);
  console.log(`float top-1 ${floatTop1.toFixed(2)} on ${evalIdx.length} test images (onnxruntime-node); backend ${backend.name}`);
  const results = [];
  for (const row of rows) {
    const cfg = rowConfig(row);
    const stages: Record<string, StageTime> = {};
    const started: Record<string, StageTime> = {};
    const onEvent = (e: PipelineEvent) => {
      if (e.type !== 'stage') return;
      if (e.status === 'start') started[e.stage] = { wall: performance.now() / 1000, cpu: cpuSeconds() };
      else stages[e.stage] = { wall: performance.now() / 1000 - started[e.stage].wall, cpu: cpuSeconds() - started[e.stage].cpu };
    };
    const load0 = loadavg()[0];
    const t0 = { wall: performance.now() / 1000, cpu: cpuSeconds() };
    // the CLI's run options: forward-only passes on --forward-engine, synthesis batches on a worker thread per core
    const r = await runPipeline([{ name: 'resnet20_bn.onnx', bytes: modelBytes }], cfg, onEvent, undefined, cliRunOptions({ forwardEngine: forwardEngine as 'ort' | 'tfjs', backend: 'wasm' }));
    const total = { wall: performance.now() / 1000 - t0.wall, cpu: cpuSeconds() - t0.cpu };
    const q = await top1(r.onnx!, evalSet.images, evalSet.labels);
    const c = r.report.config;
    const rec = {
      row, total, stages, loadavg: [load0, loadavg()[0]],
      applied: { images: c.calibration.images, steps: c.calibration.steps, batch: c.calibration.batch, rounding: c.quant.rounding, iterations: c.quant.adaroundIterations, keepFirstLast8bit: c.quant.keepFirstLast8bit, reconstruction: c.quant.reconstruction ?? 'layer', qdrop: !!c.quant.qdrop },
      endBnLoss: r.report.calibration.endBnLoss, ranges: r.report.seconds.ranges, forwardEngine: r.report.forwardEngine, top1: q, drop: floatTop1 - q,
    };
    results.push(rec);
    console.log(`${row}: ${total.cpu.toFixed(0)} CPU s (${total.wall.toFixed(0)} s wall, load ${load0.toFixed(1)}), top-1 ${q.toFixed(2)} (drop ${rec.drop.toFixed(2)})`);
  }
  const names = ['import', 'synthesis', 'rounding', 'export', 'evaluation'];
  console.log(`\nCPU seconds of the one pipeline thread (wall seconds in brackets, machine load average beside); top-1 in onnxruntime-node on ${evalIdx.length} test images, float ${floatTop1.toFixed(2)}\n`);
  console.log(`| run | applied | total CPU s (wall) | ${names.join(' | ')} | load | BN loss | top-1 | drop |`);
  console.log(`|---|---|---|${names.map(() => '---|').join('')}---|---|---|---|`);
  for (const r of results) {
    const a = r.applied;
    const st = (s: string) => (r.stages[s] ? `${r.stages[s].cpu.toFixed(1)} (${r.stages[s].wall.toFixed(0)})` : '-');
    console.log(`| ${r.row} | ${a.images} x ${a.steps}, ${a.rounding}${a.rounding === 'adaptive' ? ` ${a.iterations} it.` : ''}${a.keepFirstLast8bit ? ', first/last 8 bit' : ''}${a.reconstruction === 'block' ? `, block${a.qdrop ? ' + QDrop' : ''}` : ''} | ${r.total.cpu.toFixed(1)} (${r.total.wall.toFixed(0)}) | ${names.map(st).join(' | ')} | ${r.loadavg.map((l) => l.toFixed(1)).join('-')} | ${r.endBnLoss?.toFixed(2) ?? '-'} | ${r.top1.toFixed(2)} | ${r.drop.toFixed(2)} |`);
  }
  console.log(`\n(rounding includes the activation ranges; evaluation is top-1 agreement on the calibration images; forward-only passes: ${results[0]?.forwardEngine})`);
  mkdirSync('bench-results', { recursive: true });
  writeFileSync(outFile, JSON.stringify({ float: floatTop1, evalImages: evalIdx.length, backend: backend.name, results }, null, 2));
}

void main();
