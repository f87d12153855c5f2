/**
 * bench:quant — the data-free pipeline on the shared ResNet-20 (or --model PATH: another CIFAR-10 ONNX model
 * with BatchNorm kept, e.g. models/ghostnet-cifar), scored in onnxruntime-node on the full CIFAR-10 test
 * file (ResNet-20 FP32 91.73). Rows: setting x rounding x calibration source. Prints a table, writes
 * bench-results/quant.json.
 *
 * Run: npm run bench:quant -- [--model PATH] [--rows w8a8-nearest,w4a8-adaptive,w4a4-adaptive,...] [--calib synthetic,noise,real,cc0.1]
 *      [--images 256] [--steps 80] [--iters 1000] [--eval 10000] [--observer minmax|percentile|mse] [--out bench-results/quant.json]
 * Row names: w{8,4}a{8,4}-{nearest,adaptive}[-all4][-bc][-block[N]][-qdrop][-everyact] (first/last layer kept at 8 bit
 * unless -all4; -bc: bias correction on; -block: block reconstruction, N iterations per block instead of
 * --iters; -qdrop: with QDrop; -klW: block reconstruction with the logit term of weight W, adaround.blockLogitWeight; -biasR: biases learned in block reconstruction at Adam rate R, adaround.blockBiasLr; -wsR: weight scales learned in block reconstruction at Adam rate R, adaround.blockWeightScaleLr; -dw4: depthwise layers at 4-bit weights by override, their per-layer output errors in the JSON; -dwa4: depthwise inputs at the row's activation bits by override (below 8 bits they keep 8 by default, quant/config.ts depthwiseInputKeeps8bit); -eq: cross-layer equalization, quant.equalization, with what it did in the JSON; -everyact: activation bits below 8 on every activation, skip paths included, quant.activationBitsAt "every-activation", instead of on layer inputs only; -lasta8: the last layers' inputs at 8 bit by override, BRECQ's first/last convention; -vnni: target ort-cpu-vnni, 8-bit weights at the full 8-bit range instead of ort-cpu's 7-bit one, as rows measured before 2026-12-02 had them; its ORT scores are exact only on a CPU with VNNI or where no 8-bit-activation layer runs an integer kernel with full-range weights). Each row records the machine's load average (1 min) at its start and end.
 * The JSON is rewritten after every row, so a long run keeps its finished rows.
 * --cache: reuse synthetic images from bench-results/synth-cache-*.f32 (written
 * on the first run with the same --images/--steps; a larger --images extends the largest smaller cache
 * with the same steps), so that rows of several runs share one calibration set.
 * --seeds 0,1,2: every row once per seed (config seed: mini-batches and sample choices of the rounding; the
 * calibration images stay the same), to know the run-to-run spread; the table gives mean and spread.
 */
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { basename } from 'node:path';
import { defaultPipelineConfig } from '../src/core/pipeline/defaults.js';
import { runPipeline } from '../src/core/pipeline/run.js';
import { initBackend } from '../src/core/runtime/backends.js';
import { importModel } from '../src/core/importers/index.js';
import { quantizableLayers } from '../src/core/quant/quantPoints.js';
import { CIFAR_MEAN, CIFAR_STD } from '../src/core/testing/fixtures.js';
import { arg, benchCalibration, calibrationArgs, predictTop1, resnet20Setup, type BenchCalibration } from './lib/resnet20Bench.js';

const rows = arg('rows', 'w8a8-nearest,w4a8-adaptive,w4a4-nearest,w4a4-adaptive').split(',');
const { calibs, nImages, steps, iters, nEval, cache } = calibrationArgs();
const seeds = arg('seeds', '0').split(',').map(Number);
/** --observer minmax|percentile|mse: the activation observer (default: the config's, mse). */
const observer = arg('observer', '');

async function main(): Promise<void> {
  const backend = await initBackend('wasm');
  const model = arg('model', '');
  const { modelPath, modelBytes, files, evalSet, evalImages, floatTop1 } = await resnet20Setup(nEval, model || undefined);
  console.log(`${basename(modelPath)}: float top-1 ${floatTop1.toFixed(2)} on ${evalImages} images; backend ${backend.name}`);

  const graph = importModel(files);
  const depthwiseLayers = quantizableLayers(graph).filter((l) => l.depthwise).map((l) => l.node.name);
  const lastLayers = quantizableLayers(graph).filter((l) => l.last).map((l) => l.node.name);
  const calSets = new Map<string, BenchCalibration>();
  for (const c of calibs) calSets.set(c, await benchCalibration(c, graph, nImages, steps, cache, model ? basename(model, '.onnx') : ''));

  const results: Record<string, unknown>[] = [];
  const floatPred = await predictTop1(modelBytes, evalSet.images, evalSet.labels.length);
  const out = arg('out', 'bench-results/quant.json');
  const save = () => {
    mkdirSync('bench-results', { recursive: true });
    writeFileSync(out, JSON.stringify({ model: basename(modelPath), float: floatTop1, evalImages, images: nImages, steps, iters, backend: backend.name, floatBytes: statSync(modelPath).size, results }, null, 2));
  };
  for (const c of calibs) {
    for (const row of rows) for (const seed of seeds) {
      const m = /^w(\d)a(\d+)-(nearest|adaptive)(-all4)?(-bc)?(-block(\d+)?)?(-qdrop)?(-kl([\d.]+))?(-bias([\d.e-]+))?(-dw4)?(-eq)?(-dwa4)?(-ws([\d.e-]+))?(-everyact)?(-lasta8)?(-vnni)?$/.exec(row);
      if (!m) throw new Error(`bad row ${row}`);
      const cfg = defaultPipelineConfig();
      cfg.seed = seed;
      cfg.quant = {
        ...cfg.quant, weightBits: Number(m[1]) as 8, activationBits: Number(m[2]) as 8, rounding: m[3] as 'adaptive', keepFirstLast8bit: !m[4], biasCorrection: !!m[5],
        ...(m[13] || m[15] ? { overrides: Object.fromEntries(depthwiseLayers.map((n) => [n, { ...(m[13] ? { weightBits: 4 } : {}), ...(m[15] ? { activationBits: Number(m[2]) } : {}) }])) } : {}),
        ...(m[19] ? { overrides: Object.fromEntries(lastLayers.map((n) => [n, { activationBits: 8 }])) } : {}),
        adaroundIterations: m[7] ? Number(m[7]) : iters, reconstruction: m[6] ? 'block' : 'layer', qdrop: !!m[8], equalization: !!m[14], ...(m[10] ? { blockLogitWeight: Number(m[10]) } : {}), ...(m[12] ? { blockBiasLr: Number(m[12]) } : {}), ...(m[17] ? { blockWeightScaleLr: Number(m[17]) } : {}),
        activationBitsAt: m[18] ? 'every-activation' : 'layer-inputs',
        ...(m[20] ? { target: 'ort-cpu-vnni' as const } : {}),
      };
      if (observer) cfg.quant.activationObserver = observer as 'mse';
      const loadStart = loadavg()[0];
      const cpu0 = process.cpuUsage();
      cfg.normalization = { mean: [...CIFAR_MEAN], std: [...CIFAR_STD], pixelRange: 255 };
      const t0 = performance.now();
      const cal = calSets.get(c)!;
      const r = await runPipeline(files, cfg, () => {}, undefined, { calibration: cal });
      const seconds = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0); // before the onnxruntime evaluation, which uses its own threads
      const pred = await predictTop1(r.onnx!, evalSet.images, evalSet.labels.length);
      const q = (100 * pred.filter((p, i) => p === evalSet.labels[i]).length) / pred.length;
      // top-1 agreement with the float model on the test images: how close to float, less jittery than top-1
      const agreement = (100 * pred.filter((p, i) => p === floatPred[i]).length) / pred.length;
      const rec = {
        row, calibration: c, seed, top1: q, drop: floatTop1 - q, agreement, sizeRatio: r.sizeAfter / modelBytes.byteLength, sizeBytes: r.sizeAfter,
        seconds: { calibration: cal.seconds, quantize: seconds, ...r.report.seconds }, peakRssMB: Math.round(process.memoryUsage().rss / 2 ** 20),
        // CPU seconds of this process: on a shared, loaded machine the wall time says more about the load
        iterations: cfg.quant.adaroundIterations, load1: [loadStart, loadavg()[0]], cpuSeconds: (cpu.user + cpu.system) / 1e6,
        ...(r.report.equalization ? { equalization: r.report.equalization } : {}),
        ...(m[13] ? { depthwiseLayers: r.report.layers.filter((l) => depthwiseLayers.includes(l.name)).map((l) => ({ name: l.name, weightBits: l.weightBits, rounding: l.rounding, nearestError: l.nearestError, adaptiveError: l.adaptiveError })) } : {}),
        ...(r.report.blocks ? { blocks: r.report.blocks.map((b) => ({ name: b.name, logitTerm: b.logitTerm, nearestError: b.nearestError, blockError: b.blockError, layerWiseError: b.layerWiseError, kept: b.kept, calibratedGridError: b.calibratedGridError, activationScales: b.activationScales, learnedBiases: b.learnedBiases, originalBiasError: b.originalBiasError, learnedWeightScales: b.learnedWeightScales, calibratedWeightScaleError: b.calibratedWeightScaleError, seconds: b.seconds })) } : {}),
      };
      results.push(rec);
      save();
      console.log(`${row.padEnd(20)} ${c.padEnd(10)} seed ${seed} top-1 ${q.toFixed(2)} (drop ${(floatTop1 - q).toFixed(2)})  size ${(100 * rec.sizeRatio).toFixed(1)}%  quantize ${seconds.toFixed(0)} s (+ calibration ${cal.seconds.toFixed(0)} s)  rss ${rec.peakRssMB} MB`);
    }
  }
  type Rec = { row: string; calibration: string; seed: number; iterations: number; top1: number; drop: number; agreement: number; sizeRatio: number; seconds: { calibration: number; quantize: number }; cpuSeconds: number; load1: number[]; peakRssMB: number };
  const recs = results as Rec[];
  console.log('\n| row | calibration | seed | iters | top-1 | drop | agreement with float | size vs FP32 | calib s | quantize s | quantize CPU s | load (1 min) | rss MB |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of recs)
    console.log(`| ${r.row} | ${r.calibration} | ${r.seed} | ${r.iterations} | ${r.top1.toFixed(2)} | ${r.drop.toFixed(2)} | ${r.agreement.toFixed(2)} | ${(100 * r.sizeRatio).toFixed(1)}% | ${r.seconds.calibration.toFixed(0)} | ${r.seconds.quantize.toFixed(0)} | ${r.cpuSeconds.toFixed(0)} | ${r.load1.map((l) => l.toFixed(1)).join(' -> ')} | ${r.peakRssMB} |`);
  if (seeds.length > 1) {
    console.log('\n| row | calibration | seeds | top-1 mean | min..max | drop (mean) | quantize CPU s (mean) |\n|---|---|---|---|---|---|---|');
    for (const c of calibs) for (const row of rows) {
      const g = recs.filter((r) => r.row === row && r.calibration === c);
      const t = g.map((r) => r.top1);
      const mean = t.reduce((a, b) => a + b, 0) / t.length;
      console.log(`| ${row} | ${c} | ${g.map((r) => r.seed).join(',')} | ${mean.toFixed(2)} | ${Math.min(...t).toFixed(2)}..${Math.max(...t).toFixed(2)} | ${(floatTop1 - mean).toFixed(2)} | ${(g.reduce((a, r) => a + r.cpuSeconds, 0) / g.length).toFixed(0)} |`);
    }
  }
}

void main();
