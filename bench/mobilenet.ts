/**
 * The real Keras MobileNetV2 that nsfwjs@4.4.0 ships (224x224, pixels / 255, 52 BatchNorms, 5 classes; see
 * src/core/testing/nsfwjsModels.ts), quantized data-free as a user would (64 synthetic images, no batch given)
 * and scored against the float model in onnxruntime-node on real photographs: CIFAR-10 test images upsampled
 * to 224 (bilinear). Figures: top-1 agreement and output SQNR 10 log10(sum y^2 / sum (y~ - y)^2) of the
 * model's output (its softmax) over all images and classes.
 *
 *   npx tsx bench/mobilenet.ts [--sections synth,real,sensitivity,quant] [--images 64] [--steps 40]
 *       [--eval 500] [--configs w8a8-nearest,w8a8-adaptive,w4a8-nearest,w4a8-adaptive] [--iters 1000]
 *       [--calibration synthetic|cifar] [--override-depthwise BITS] [--lr SYNTHESIS_LR] [--tag NAME]
 *
 * Sections:
 *  synth        synthesize --images images (--steps steps, seed 0) and cache them in
 *               bench-results/mnv2-synth-<images>x<steps>[-lr<lr>].f32 (+ .json: BN loss start/end, batch,
 *               time); later runs reuse the cache. The quant section synthesizes on demand the same way.
 *               --lr is the peak learning rate before the synthesizer's learningRateScale (0.226 for this
 *               model's pixels / 255), default 0.5: effective 0.113.
 *  real         BN-statistics loss of real images (upsampled CIFAR-10 training images, synthesis batch): the
 *               level a perfect synthetic batch would reach.
 *  sensitivity  per layer, only that layer's weights at 4 bit (per channel, MSE clip and min-max clip,
 *               nearest), everything else float: output SQNR; then groups (all depthwise, all others) at 4 bit.
 *  quant        the whole pipeline (runPipeline) per config, on the cached calibration images; the export and
 *               the float model run in onnxruntime-node on --eval test images.
 * Prints tables, writes bench-results/mobilenet-<tag|time>.json.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type * as ort from 'onnxruntime-node';
import { compareLogits } from '../cli/commands/compare.js';
import { createOrtSession, runOrtBatched } from '../cli/lib/ort.js';
import { weightLayout } from '../src/core/algos/layerWeights.js';
import { cifar10Batch, parseCifar10, type Cifar10Set } from '../src/core/data/cifar10.js';
import { writeOnnx } from '../src/core/exporters/onnx/onnxWriter.js';
import { importModel } from '../src/core/importers/index.js';
import { foldBatchNorm } from '../src/core/ir/passes/foldBatchNorm.js';
import type { Graph } from '../src/core/ir/types.js';
import { defaultPipelineConfig } from '../src/core/pipeline/defaults.js';
import { runPipeline } from '../src/core/pipeline/run.js';
import type { PipelineConfig, PipelineEvent } from '../src/core/pipeline/types.js';
import { dequantizedWeight } from '../src/core/quant/fakeQuant.js';
import { quantizableLayers } from '../src/core/quant/quantPoints.js';
import { fromRows, perChannelWeightScales, quantizeRowsNearest, weightAsRows, type WeightScaleMethod } from '../src/core/quant/weightScale.js';
import { initBackend } from '../src/core/runtime/backends.js';
import { collectBatchNormStats, findImageInput, graphSynthesisModel, makeBatchNormTargets, resolveSynthesisOptions, synthesisObjective, synthesizeImages } from '../src/core/synth/index.js';
import { fixturesDir } from '../src/core/testing/fixtures.js';
import { nsfwjsModelFiles } from '../src/core/testing/nsfwjsModels.js';
import { sqnrDb } from './lib/sqnr.js';

const argv = process.argv.slice(2);
const arg = (name: string, dflt: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const IMAGES = Number(arg('images', '64'));
const STEPS = Number(arg('steps', '40'));
const EVAL = Number(arg('eval', '500'));
const ITERS = Number(arg('iters', '1000'));
const LR = arg('lr', '');
const CALIBRATION = arg('calibration', 'synthetic') as 'synthetic' | 'cifar';
const OVERRIDE_DW = arg('override-depthwise', '');
const SECTIONS = arg('sections', 'synth,quant').split(',');
const CONFIGS = arg('configs', 'w8a8-nearest,w8a8-adaptive,w4a8-nearest,w4a8-adaptive').split(',');
const TAG = arg('tag', new Date().toISOString().replace(/[:.]/g, '-'));
const SIZE = 224;
/** nsfwjs feeds pixels / 255: no mean, no std. */
const NORMALIZATION = { mean: [0, 0, 0], std: [1, 1, 1], pixelRange: 255 };

const t0 = performance.now();
const log = (m: string) => console.log(`[${((performance.now() - t0) / 1000).toFixed(0)}s] ${m}`);

function cifarSet(file: 'test_batch.bin' | 'data_batch.bin'): Cifar10Set {
  return parseCifar10(new Uint8Array(readFileSync(join(fixturesDir(), 'cifar10', file))));
}

/** `n` records spread over the (class-sorted) file, upsampled to 224 (bilinear), pixels / 255, NCHW and NHWC. */
function upsampled(set: Cifar10Set, n: number, offset = 0): { nchw: Float32Array; nhwc: Float32Array } {
  const idx = Array.from({ length: n }, (_, i) => (offset + Math.floor((i * set.count) / n)) % set.count);
  const { images, dims } = cifar10Batch(set, idx, [0, 0, 0], [1, 1, 1]);
  return tf.tidy(() => {
    const nhwc = tf.image.resizeBilinear(tf.tensor4d(images, dims).transpose([0, 2, 3, 1]) as tf.Tensor4D, [SIZE, SIZE]);
    return { nhwc: nhwc.dataSync() as Float32Array, nchw: nhwc.transpose([0, 3, 1, 2]).dataSync() as Float32Array };
  });
}

interface CachedSynthesis {
  images: Float32Array;
  meta: { images: number; steps: number; batch: number; startBnLoss: number; endBnLoss: number; seconds: number; message?: string; bnLossHistory: number[][] };
}

async function synthetic(graph: Graph): Promise<CachedSynthesis> {
  const base = `bench-results/mnv2-synth-${IMAGES}x${STEPS}${LR ? `-lr${LR}` : ''}`;
  if (existsSync(`${base}.f32`)) {
    const meta = JSON.parse(readFileSync(`${base}.json`, 'utf8')) as CachedSynthesis['meta'];
    log(`cached synthetic images ${base}.f32 (BN loss ${meta.startBnLoss.toFixed(1)} -> ${meta.endBnLoss.toFixed(1)})`);
    const b = readFileSync(`${base}.f32`);
    return { images: new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4).slice(), meta };
  }
  log(`synthesizing ${IMAGES} images x ${STEPS} steps`);
  const r = await synthesizeImages(graph, { numImages: IMAGES, steps: STEPS, seed: 0, normalization: { mean: NORMALIZATION.mean, std: NORMALIZATION.std }, previewEvery: 0, ...(LR ? { learningRate: Number(LR) } : {}) }, (e) => {
    if (e.type === 'synth-step' && (e.step % 10 === 0 || e.step === e.steps - 1)) log(`batch ${e.batch + 1}/${e.batches} step ${e.step + 1}/${e.steps}: BN loss ${e.bnLoss.toFixed(1)}, prior ${e.priorLoss.toFixed(3)}`);
  });
  const meta = { images: IMAGES, steps: STEPS, batch: r.options.batchSize, startBnLoss: r.startBnLoss, endBnLoss: r.endBnLoss, seconds: r.seconds, message: r.message, bnLossHistory: r.bnLossHistory };
  mkdirSync('bench-results', { recursive: true });
  writeFileSync(`${base}.f32`, Buffer.from(r.images.buffer, r.images.byteOffset, r.images.byteLength));
  writeFileSync(`${base}.json`, JSON.stringify(meta));
  log(`synthesis: BN loss ${r.startBnLoss.toFixed(1)} -> ${r.endBnLoss.toFixed(1)} in ${r.seconds.toFixed(0)} s (batch ${meta.batch}${r.message ? `; ${r.message}` : ''})`);
  return { images: r.images, meta };
}

/** BN-statistics loss of real images (upsampled CIFAR-10 training images) in batches of `batch`. */
function realBnLoss(graph: Graph, batch: number, batches: number) {
  const stats = collectBatchNormStats(graph);
  const model = graphSynthesisModel(graph, stats, findImageInput(graph));
  const o = resolveSynthesisOptions({ normalization: { mean: NORMALIZATION.mean, std: NORMALIZATION.std } });
  const targets = makeBatchNormTargets(stats, o.bnWeight, o.firstBnMultiplier);
  const set = cifarSet('data_batch.bin');
  const losses: number[] = [];
  for (let b = 0; b < batches; b++) {
    const { nchw } = upsampled(set, batch, 977 * b);
    losses.push(tf.tidy(() => synthesisObjective(model, targets, o, tf.tensor4d(nchw, [batch, 3, SIZE, SIZE])).parts.dataSync()[0]));
  }
  model.dispose();
  targets.dispose();
  const mean = losses.reduce((a, b) => a + b, 0) / losses.length;
  log(`real images (upsampled CIFAR-10, batches of ${batch}): BN loss ${mean.toFixed(1)} (${losses.map((l) => l.toFixed(1)).join(', ')})`);
  return { batch, losses, mean };
}

class OrtEval {
  private floatOut?: Float32Array;
  constructor(private readonly x: Float32Array, private readonly n: number) {}
  async outputs(model: Uint8Array): Promise<Float32Array> {
    const s: ort.InferenceSession = await createOrtSession(model, { threads: 1 });
    const out = await runOrtBatched(s, this.x, [this.n, SIZE, SIZE, 3], { batch: 50 });
    await s.release();
    return out.data;
  }
  async float(graph: Graph): Promise<Float32Array> {
    this.floatOut ??= await this.outputs(writeOnnx(graph));
    return this.floatOut;
  }
}

const isDepthwise = (g: Graph, name: string) => {
  const n = g.nodes.find((x) => x.name === name)!;
  const w = g.initializers.get(n.inputs[1])!;
  return n.opType === 'Conv' && Number(n.attrs.group ?? 1) > 1 && w.dims[1] === 1;
};

/** Output SQNR with only `layers` at `bits` (per channel, nearest, `method` clip), the rest float. */
async function weightOnlySqnr(folded: Graph, layers: string[], bits: number, method: WeightScaleMethod, ev: OrtEval, ref: Float32Array): Promise<number> {
  const inits = new Map(folded.initializers);
  for (const name of layers) {
    const node = folded.nodes.find((n) => n.name === name)!;
    const w = folded.initializers.get(node.inputs[1])!;
    const lay = weightLayout(node, w);
    const { rows, cOut } = weightAsRows(w.data as Float32Array, w.dims, lay.axis);
    const scales = perChannelWeightScales(rows, cOut, { bits, method });
    const codes = fromRows(quantizeRowsNearest(rows, scales, bits), w.dims, lay.axis);
    inits.set(node.inputs[1], { ...w, data: dequantizedWeight(codes, scales, w.dims, lay.axis) });
  }
  return sqnrDb(ref, await ev.outputs(writeOnnx({ ...folded, initializers: inits })));
}

async function sensitivity(graph: Graph, ev: OrtEval) {
  const folded = foldBatchNorm(graph).graph;
  const ref = await ev.outputs(writeOnnx(folded));
  log(`folded float vs imported float: ${sqnrDb(await ev.float(graph), ref).toFixed(1)} dB`);
  const rows: Record<string, unknown>[] = [];
  for (const { node } of quantizableLayers(folded)) {
    const w = folded.initializers.get(node.inputs[1])!;
    const lay = weightLayout(node, w);
    const { rows: r, cOut } = weightAsRows(w.data as Float32Array, w.dims, lay.axis);
    const maxAbs = Array.from({ length: cOut }, (_, o) => r.subarray(o * lay.k, (o + 1) * lay.k).reduce((a, v) => Math.max(a, Math.abs(v)), 0));
    const sorted = [...maxAbs].sort((a, b) => a - b);
    const row = {
      name: node.name, depthwise: isDepthwise(folded, node.name), k: lay.k, cOut,
      channelRangeSpread: sorted[cOut - 1] / Math.max(sorted[Math.floor(cOut / 2)], 1e-12),
      mse4: await weightOnlySqnr(folded, [node.name], 4, 'mse', ev, ref),
      max4: await weightOnlySqnr(folded, [node.name], 4, 'max', ev, ref),
    };
    rows.push(row);
    log(`${row.name}${row.depthwise ? ' (dw)' : ''} k=${row.k}: W4 only here: mse clip ${row.mse4.toFixed(1)} dB, min-max ${row.max4.toFixed(1)} dB; max|w| largest/median channel ${row.channelRangeSpread.toFixed(1)}`);
  }
  const names = quantizableLayers(folded).map((l) => l.node.name);
  const dw = names.filter((n) => isDepthwise(folded, n));
  const inner = names.slice(1, -1);
  const groups = {
    allDepthwise: await weightOnlySqnr(folded, dw, 4, 'mse', ev, ref),
    allButDepthwise: await weightOnlySqnr(folded, inner.filter((n) => !dw.includes(n)), 4, 'mse', ev, ref),
    allInner: await weightOnlySqnr(folded, inner, 4, 'mse', ev, ref),
  };
  log(`W4 weight-only groups (mse clip, nearest): all depthwise ${groups.allDepthwise.toFixed(1)} dB, all other inner layers ${groups.allButDepthwise.toFixed(1)} dB, all inner layers ${groups.allInner.toFixed(1)} dB`);
  return { layers: rows, groups };
}

function pipelineConfig(name: string, cal: { images: number; steps: number }, layerNames: string[], folded: Graph): PipelineConfig {
  const m = /^w(\d)a(\d+)-(nearest|adaptive)$/.exec(name);
  if (!m) throw new Error(`config ${name}: expected wXaY-nearest|adaptive`);
  const d = defaultPipelineConfig();
  const overrides: PipelineConfig['quant']['overrides'] = {};
  if (OVERRIDE_DW) for (const n of layerNames.filter((l) => isDepthwise(folded, l))) overrides[n] = { weightBits: Number(OVERRIDE_DW) };
  return {
    ...d,
    backend: 'wasm',
    normalization: NORMALIZATION,
    calibration: { source: 'synthetic', images: cal.images, steps: cal.steps, batch: d.calibration.batch },
    quant: { ...d.quant, weightBits: Number(m[1]) as 4 | 8, activationBits: Number(m[2]) as 8, rounding: m[3] as 'nearest' | 'adaptive', adaroundIterations: ITERS, overrides },
  };
}

async function main(): Promise<void> {
  await initBackend('wasm');
  const { files } = nsfwjsModelFiles('mobilenet_v2');
  const graph = importModel(files);
  const out: Record<string, unknown> = { model: 'nsfwjs@4.4.0 mobilenet_v2', images: IMAGES, steps: STEPS, eval: EVAL, calibration: CALIBRATION, overrideDepthwise: OVERRIDE_DW || null };
  const needEval = SECTIONS.includes('sensitivity') || SECTIONS.includes('quant');
  const ev = needEval ? new OrtEval(upsampled(cifarSet('test_batch.bin'), EVAL).nhwc, EVAL) : undefined;
  let synth: CachedSynthesis | undefined;
  if (SECTIONS.includes('synth') || (SECTIONS.includes('quant') && CALIBRATION === 'synthetic')) {
    synth = await synthetic(graph);
    out.synthesis = { ...synth.meta, bnLossHistory: undefined };
  }
  if (SECTIONS.includes('real')) out.real = realBnLoss(graph, synth?.meta.batch ?? 8, 3);
  if (SECTIONS.includes('sensitivity')) out.sensitivity = await sensitivity(graph, ev!);
  if (SECTIONS.includes('quant')) {
    const cal = CALIBRATION === 'synthetic'
      ? { images: synth!.images, method: 'bn-statistics (cached)' }
      : { images: upsampled(cifarSet('data_batch.bin'), IMAGES, 5).nchw, method: 'cifar10 training images, upsampled' };
    const folded = foldBatchNorm(graph).graph;
    const layerNames = quantizableLayers(folded).map((l) => l.node.name);
    const ref = await ev!.float(graph);
    const runs: Record<string, unknown>[] = [];
    for (const name of CONFIGS) {
      // steps are unused with supplied images (the pipeline validates them as >= 1)
      const cfg = pipelineConfig(name, { images: IMAGES, steps: STEPS }, layerNames, folded);
      const tq = performance.now();
      const onEvent = (e: PipelineEvent) => {
        if (e.type === 'stage' && e.status === 'end') log(`${name}: ${e.stage} ${e.seconds?.toFixed(0)} s`);
        if (e.type === 'layer' && e.status === 'done' && e.nearestError !== undefined) log(`${name}: ${e.name} output error nearest ${e.nearestError.toExponential(2)} -> ${e.adaptiveError?.toExponential(2)}`);
      };
      const r = await runPipeline(files, cfg, onEvent, undefined, { calibration: { images: cal.images, shape: [IMAGES, 3, SIZE, SIZE], method: cal.method } });
      const seconds = (performance.now() - tq) / 1000;
      const y = await ev!.outputs(r.onnx!);
      const cmp = compareLogits(ref, y, EVAL, ref.length / EVAL);
      const worst = [...r.report.layers].filter((l) => l.sqnrDb !== undefined).sort((a, b) => a.sqnrDb! - b.sqnrDb!).slice(0, 5);
      const run = {
        config: name, agreement: cmp.agreement, outputSqnrDb: cmp.logitSqnrDb, seconds, quantizeSeconds: r.report.seconds,
        batch: r.config.calibration.batch, calibrationAgreement: r.agreement, notes: r.report.notes,
        layers: r.report.layers.map((l) => ({ name: l.name, weightBits: l.weightBits, rounding: l.rounding, weightScale: l.weightScale, nearestError: l.nearestError, adaptiveError: l.adaptiveError, sqnrDb: l.sqnrDb })),
      };
      runs.push(run);
      log(`${name}: agreement ${(100 * cmp.agreement).toFixed(1)}% on ${EVAL} upsampled CIFAR-10 test images, output SQNR ${cmp.logitSqnrDb.toFixed(1)} dB, ${seconds.toFixed(0)} s; lowest layer SQNR ${worst.map((l) => `${l.name} ${l.sqnrDb!.toFixed(1)}`).join(', ')}`);
      writeFileSync(`bench-results/mobilenet-${TAG}-partial.json`, JSON.stringify({ ...out, runs }, null, 2));
    }
    out.runs = runs;
    console.log(`\n| config | calibration | agreement | output SQNR (dB) | time (s) |\n|---|---|---|---|---|`);
    for (const r of runs as { config: string; agreement: number; outputSqnrDb: number; seconds: number }[]) {
      console.log(`| ${r.config}${OVERRIDE_DW ? ` (depthwise W${OVERRIDE_DW})` : ''} | ${cal.method} ${IMAGES}${CALIBRATION === 'synthetic' ? ` x ${STEPS} steps, BN loss ${synth!.meta.endBnLoss.toFixed(1)}` : ''} | ${(100 * r.agreement).toFixed(1)}% | ${r.outputSqnrDb.toFixed(1)} | ${r.seconds.toFixed(0)} |`);
    }
  }
  mkdirSync('bench-results', { recursive: true });
  writeFileSync(`bench-results/mobilenet-${TAG}.json`, JSON.stringify(out, null, 2));
  log(`wrote bench-results/mobilenet-${TAG}.json`);
}

void main();
