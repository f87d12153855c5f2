/**
 * Trains a GhostNet or MobileNetV2-style net on CIFAR-10 (data_batch.bin, 50,000 images) with tfjs on the
 * wasm backend (one thread in Node), resumably.
 *
 *   npx tsx scripts/train/train.ts --model ghostnet --width 1 --epochs 30 --run-dir .train/ghostnet-w1 --resume
 *   npx tsx scripts/train/train.ts --model ghostnet --width 0.5 --bench 5     # speed only: bench-results/train-speed-*.json
 *
 * Recipe (../shared/docs/ghostnet-cifar.md): SGD Nesterov momentum 0.9, weight decay 5e-4 on conv/linear
 * weights, batch 128, one-cycle LR, label smoothing 0.1, random crop (pad 4) + flip, ImageNet mean/std.
 * The run directory gets latest.ckpt (every epoch and every --ckpt-minutes mid-epoch, atomically),
 * train.log (a line every --log-every steps and the test accuracy after each epoch) and, when done,
 * final.ckpt. --resume continues from latest.ckpt exactly (same batches, crops, masks), or starts fresh
 * when there is none; the settings then come from the checkpoint and differing flags are refused.
 * SIGINT/SIGTERM save a checkpoint after the current step and exit.
 */
import * as tf from '@tensorflow/tfjs';
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend } from '../../src/core/runtime/backends.js';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { cifarBatch, loadCifar } from './cifarData.js';
import { predictLogits, top1 } from './evaluate.js';
import { buildNet } from './models.js';
import { countParameters } from './netSpec.js';
import { STREAM, permutation, stream } from './rng.js';
import { oneCycleLr } from './schedule.js';
import { Trainer } from './trainer.js';

export interface RunConfig {
  model: string;
  width: number;
  epochs: number;
  batch: number;
  peakLr: number;
  momentum: number;
  weightDecay: number;
  labelSmoothing: number;
  dropout: number;
  seed: number;
}

export interface RunMeta {
  config: RunConfig;
  /** Epochs finished. */
  epoch: number;
  /** Steps finished inside epoch `epoch` (0 at an epoch boundary). */
  stepInEpoch: number;
  /** Steps finished in the whole run (drives the LR schedule). */
  globalStep: number;
  /** Training seconds so far, over all sessions. */
  seconds: number;
  history: { epoch: number; testTop1: number; trainLoss: number; trainTop1: number; seconds: number }[];
  /** The random streams are pure functions of (seed, epoch, step); this records that, for the reader. */
  rng: string;
  savedAt: string;
}

const DEFAULTS: RunConfig = {
  model: 'ghostnet', width: 1, epochs: 30, batch: 128, peakLr: 0.15, momentum: 0.9, weightDecay: 5e-4,
  labelSmoothing: 0.1, dropout: 0.2, seed: 1,
};
const CONFIG_FLAGS: Record<string, keyof RunConfig> = {
  '--model': 'model', '--width': 'width', '--epochs': 'epochs', '--batch': 'batch', '--peak-lr': 'peakLr',
  '--momentum': 'momentum', '--weight-decay': 'weightDecay', '--label-smoothing': 'labelSmoothing',
  '--dropout': 'dropout', '--seed': 'seed',
};

interface Args {
  given: Partial<RunConfig>;
  runDir?: string;
  resume: boolean;
  bench: number;
  logEvery: number;
  ckptMinutes: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { given: {}, resume: false, bench: 0, logEvery: 20, ckptMinutes: 10 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--resume') { a.resume = true; continue; }
    const v = argv[++i];
    if (v === undefined) throw new Error(`${k} needs a value`);
    if (k in CONFIG_FLAGS) {
      const key = CONFIG_FLAGS[k];
      (a.given as Record<string, unknown>)[key] = key === 'model' ? v : Number(v);
      if (key !== 'model' && !Number.isFinite(Number(v))) throw new Error(`${k} ${v} is not a number`);
    } else if (k === '--run-dir') a.runDir = resolve(v);
    else if (k === '--bench') a.bench = Number(v);
    else if (k === '--log-every') a.logEvery = Number(v);
    else if (k === '--ckpt-minutes') a.ckptMinutes = Number(v);
    else throw new Error(`unknown flag ${k}`);
  }
  if (!a.bench && !a.runDir) throw new Error('--run-dir DIR is required (or --bench N to time N steps)');
  return a;
}

function log(runDir: string | undefined, line: string): void {
  const stamped = `${new Date().toISOString()} ${line}`;
  console.log(stamped);
  if (runDir) appendFileSync(join(runDir, 'train.log'), `${stamped}\n`);
}

async function bench(config: RunConfig, steps: number): Promise<void> {
  const spec = buildNet(config.model, config.width, config.dropout);
  const trainer = new Trainer(spec, config.seed, config, config.labelSmoothing);
  const data = loadCifar('data_batch.bin');
  const order = permutation(data.count, stream(config.seed, STREAM.shuffle, 0));
  const times: number[] = [];
  const cpuTimes: number[] = [];
  for (let s = 0; s <= steps; s++) {
    const batch = cifarBatch(data, order.subarray(s * config.batch, (s + 1) * config.batch), stream(config.seed, STREAM.augment, 0, s));
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const r = trainer.step(batch, 0.01, stream(config.seed, STREAM.dropout, 0, s));
    const dt = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    const cpu = (c.user + c.system) / 1e6;
    // step 0 warms up kernels and allocations
    if (s > 0) { times.push(dt); cpuTimes.push(cpu); }
    console.log(`step ${s}: ${dt.toFixed(2)} s wall, ${cpu.toFixed(2)} s cpu, loss ${r.loss.toFixed(3)}, ${(config.batch / dt).toFixed(1)} images/s, tensors ${tf.memory().numTensors}`);
  }
  // On this shared machine wall time depends on the others' load; CPU seconds are what one free core would take.
  const avg = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const stepsPerEpoch = Math.floor(data.count / config.batch);
  const result = {
    model: spec.name, parameters: countParameters(spec), batch: config.batch, steps,
    wallSecondsPerStep: +avg(times).toFixed(3), cpuSecondsPerStep: +avg(cpuTimes).toFixed(3),
    imagesPerCpuSecond: +(config.batch / avg(cpuTimes)).toFixed(1), imagesPerWallSecond: +(config.batch / avg(times)).toFixed(1),
    cpuMinutesPerEpoch: +((stepsPerEpoch * avg(cpuTimes)) / 60).toFixed(1),
  };
  console.log(JSON.stringify(result));
  const dir = join(dirname(fileURLToPath(import.meta.url)), '../../bench-results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `train-speed-${spec.name}-b${config.batch}.json`), `${JSON.stringify({ ...result, date: new Date().toISOString() }, null, 2)}\n`);
  trainer.dispose();
}

async function train(args: Args): Promise<void> {
  const runDir = args.runDir!;
  mkdirSync(runDir, { recursive: true });
  // the node process to signal (npx/tsx wrappers have their own pids): kill -TERM $(cat RUN_DIR/pid)
  writeFileSync(join(runDir, 'pid'), `${process.pid}\n`);
  const latest = join(runDir, 'latest.ckpt');
  let meta: RunMeta;
  let ckpt: ReturnType<typeof loadCheckpoint<RunMeta>> | null = null;
  if (args.resume && existsSync(latest)) {
    ckpt = loadCheckpoint<RunMeta>(latest);
    meta = ckpt.meta;
    for (const [k, v] of Object.entries(args.given)) {
      if (meta.config[k as keyof RunConfig] !== v) throw new Error(`--resume: the checkpoint was trained with ${k} = ${meta.config[k as keyof RunConfig]}, not ${v}; drop the flag or use another --run-dir`);
    }
  } else {
    if (existsSync(latest)) throw new Error(`${latest} exists: pass --resume to continue it, or choose another --run-dir`);
    const config = { ...DEFAULTS, ...args.given };
    meta = { config, epoch: 0, stepInEpoch: 0, globalStep: 0, seconds: 0, history: [], rng: 'mulberry32(mix(seed, stream, epoch, step)); streams: shuffle per epoch, augment and dropout per step', savedAt: '' };
  }
  const config = meta.config;
  const spec = buildNet(config.model, config.width, config.dropout);
  const trainer = new Trainer(spec, config.seed, config, config.labelSmoothing);
  if (ckpt) trainer.loadTensors(ckpt.tensors);
  ckpt = null;
  const data = loadCifar('data_batch.bin');
  const test = loadCifar('test_batch.bin');
  const stepsPerEpoch = Math.floor(data.count / config.batch);
  const totalSteps = stepsPerEpoch * config.epochs;
  log(runDir, `${meta.globalStep > 0 ? 'resumed' : 'started'} ${spec.name}: ${countParameters(spec)} parameters, epoch ${meta.epoch}, step ${meta.stepInEpoch}/${stepsPerEpoch}, config ${JSON.stringify(config)}`);

  let stop = false;
  const onSignal = (sig: string) => { log(runDir, `${sig}: saving after this step`); stop = true; };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));

  let sessionStart = performance.now();
  const save = (file = latest) => {
    meta.seconds += (performance.now() - sessionStart) / 1000;
    sessionStart = performance.now();
    meta.savedAt = new Date().toISOString();
    saveCheckpoint(file, { meta, tensors: trainer.toTensors() });
  };
  let lastSave = performance.now();

  while (meta.epoch < config.epochs) {
    const order = permutation(data.count, stream(config.seed, STREAM.shuffle, meta.epoch));
    let window = { loss: 0, correct: 0, seen: 0, t0: performance.now() };
    let epochLoss = 0;
    let epochCorrect = 0;
    let epochSeen = 0;
    for (let s = meta.stepInEpoch; s < stepsPerEpoch; s++) {
      const batch = cifarBatch(data, order.subarray(s * config.batch, (s + 1) * config.batch), stream(config.seed, STREAM.augment, meta.epoch, s));
      const lr = oneCycleLr(meta.globalStep, totalSteps, config.peakLr);
      const r = trainer.step(batch, lr, stream(config.seed, STREAM.dropout, meta.epoch, s));
      if (!Number.isFinite(r.loss)) throw new Error(`loss became ${r.loss} at epoch ${meta.epoch} step ${s}; the last good checkpoint is ${latest}`);
      meta.stepInEpoch = s + 1;
      meta.globalStep++;
      window.loss += r.loss * batch.n; window.correct += r.correct; window.seen += batch.n;
      epochLoss += r.loss * batch.n; epochCorrect += r.correct; epochSeen += batch.n;
      if (meta.stepInEpoch % args.logEvery === 0) {
        const dt = (performance.now() - window.t0) / 1000;
        log(runDir, `epoch ${meta.epoch + 1}/${config.epochs} step ${meta.stepInEpoch}/${stepsPerEpoch} lr ${lr.toFixed(4)} loss ${(window.loss / window.seen).toFixed(4)} train-top1 ${(100 * window.correct / window.seen).toFixed(1)}% ${(window.seen / dt).toFixed(1)} images/s`);
        window = { loss: 0, correct: 0, seen: 0, t0: performance.now() };
      }
      // the loop is synchronous: yield so that queued SIGINT/SIGTERM handlers run
      await new Promise((r) => setImmediate(r));
      if (stop || (performance.now() - lastSave) / 60000 >= args.ckptMinutes) {
        save();
        lastSave = performance.now();
        log(runDir, `checkpoint: epoch ${meta.epoch}, step ${meta.stepInEpoch}`);
        if (stop) return;
      }
    }
    const t0 = performance.now();
    const { logits, labels } = predictLogits(spec, trainer.params, test);
    const { correct, accuracy } = top1(logits, labels);
    meta.epoch++;
    meta.stepInEpoch = 0;
    meta.history.push({
      epoch: meta.epoch, testTop1: accuracy, trainLoss: epochSeen ? epochLoss / epochSeen : NaN,
      trainTop1: epochSeen ? epochCorrect / epochSeen : NaN, seconds: meta.seconds + (performance.now() - sessionStart) / 1000,
    });
    save();
    lastSave = performance.now();
    log(runDir, `epoch ${meta.epoch}/${config.epochs} done: test top-1 ${(100 * accuracy).toFixed(2)}% (${correct}/${labels.length}, eval ${((performance.now() - t0) / 1000).toFixed(0)} s), train loss ${(epochLoss / Math.max(1, epochSeen)).toFixed(4)}, checkpoint saved`);
  }
  save(join(runDir, 'final.ckpt'));
  log(runDir, `finished: ${config.epochs} epochs, test top-1 ${(100 * meta.history[meta.history.length - 1].testTop1).toFixed(2)}%, ${(meta.seconds / 3600).toFixed(2)} h; export with scripts/train/export.ts --checkpoint ${join(runDir, 'final.ckpt')}`);
  trainer.dispose();
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const info = await initBackend('wasm');
  if (info.name !== 'wasm') throw new Error(`wasm backend unavailable: ${info.reason}`);
  console.log(`backend: ${info.reason}`);
  if (args.bench) await bench({ ...DEFAULTS, ...args.given }, args.bench);
  else await train(args);
}

main().catch((e) => {
  console.error(e);
  // tfjs-wasm's heap is capped at 4 GB; running past it aborts the wasm module with no more detail
  if (/Aborted|memory access out of bounds|enlarge memory/.test(String((e as Error)?.message ?? e))) {
    console.error('The wasm backend aborted, most likely out of its 4 GB memory: try a smaller --batch (MobileNetV2-style nets need 64).');
  }
  process.exitCode = 1;
});
