/**
 * bench:export — what the QDQ export buys in onnxruntime-node (CPU EP): images/s of the float model and of
 * each export at 1 and 2 intra-op threads, timed in alternating rounds in the same run (batch 256); op
 * counts after ORT's graph optimizer (integer kernels, float Conv/Gemm/MatMul left, Transposes); file size;
 * top-1 on the CIFAR-10 test file (ResNet-20) or, for the MobileNetV2-style net (random weights, normalized
 * LSUV-style on 64 training images so that its outputs depend on the input: testing/normalizeRandomNet.ts),
 * top-1 agreement with the float model; and the SQNR of the logits against float (dB). Such a random net
 * amplifies any perturbation (8-bit weights alone: ~18 dB, 87 % agreement), so its fidelity column measures
 * the net more than the export; the export's own fidelity is 'vs QDQ': top-1 agreement of ORT's integer
 * kernels with the same QDQ graph run unoptimized (DequantizeLinear -> float op -> QuantizeLinear).
 *
 * Quantization: quantizeGraph (the pipeline's stage) with round-to-nearest weights, MSE activation ranges,
 * on calibration images from the CIFAR-10 training file (real images, to measure the export form rather than
 * synthesis; the data-free path is bench:quant), once per target: ort-cpu (8-bit weights in a 7-bit range, exact
 * on every x86-64 CPU) and ort-cpu-vnni (full 8-bit range, exact only with VNNI/AMX: on an AVX2-only CPU its
 * 'vs QDQ' column shows ORT's U8S8 saturation). W4 rows keep the first and last layer at 8 bit and are also
 * exported as smallest (packed int4).
 *
 * mobilenetv2-224 is the trained Keras MobileNetV2 that nsfwjs ships (224x224 NHWC, pixels / 255, 5 classes that are
 * not CIFAR's): calibrated on 64 upsampled CIFAR-10 training images, scored as agreement with float on at most 500
 * upsampled test images, timed at batch 32.
 *
 * mobilenetv2-224-cifar is that backbone with the committed CIFAR-10 linear probe in place of nsfwjs's classifier
 * (models/mobilenetv2-cifar-probe/): a labelled top-1 on --eval-224 upsampled CIFAR-10 test images; quantized by
 * the whole pipeline with the W8A8 defaults on synthetic images (data-free; --synthetic names a cached set) and,
 * as a reference row, on 64 real training images (bench/lib/mobileNetV2CifarBench.ts); the JSON holds each
 * export's per-layer SQNR (--calib-224 N: fewer calibration images, for a quick check). 'vs QDQ' is measured on the first 500 images
 * for the 224-px models.
 *
 * A model given as a path ending in .onnx is a CIFAR-10 classifier with the fixtures' normalization (e.g.
 * models/ghostnet-cifar/ghostnet_cifar_w1_bn.onnx), scored and timed like ResNet-20.
 *
 * Run: npm run bench:export -- [--models resnet20,mobilenetv2,mobilenetv2-224,mobilenetv2-224-cifar,PATH.onnx] [--calib 128]
 *        [--eval 10000] [--eval-224 2000] [--calib-224 64] [--synthetic bench-results/mnv2-synth-64x20-lr0.1127.f32] [--rounds 3] [--out FILE]
 * Writes bench-results/export.json (or --out).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { kernelSummary, optimizedOpCounts, type OpCounts } from '../cli/lib/ortKernels.js';
import { imagesPerSecond } from '../cli/lib/ortSpeed.js';
import { hostCpuFeatures } from '../cli/lib/cpuFeatures.js';
import { cifar10RecordRgba } from '../cli/lib/calibrationImages.js';
import { argmaxRows, cifar10Batch, parseCifar10, type Cifar10Set } from '../src/core/data/cifar10.js';
import { evaluationImages } from '../src/core/data/evaluationImages.js';
import { writeOnnx } from '../src/core/exporters/onnx/onnxWriter.js';
import { qdqOptionsForTarget } from '../src/core/exporters/qdq/deploymentTargets.js';
import { buildQdqGraph } from '../src/core/exporters/qdq/qdqOnnxExporter.js';
import { importModel } from '../src/core/importers/index.js';
import { importOnnx } from '../src/core/importers/onnx/importOnnx.js';
import type { Graph } from '../src/core/ir/types.js';
import { quantizeGraph } from '../src/core/pipeline/quantizeGraph.js';
import { defaultQuantConfig, type DeploymentTarget, type QuantConfig } from '../src/core/quant/config.js';
import { initBackend } from '../src/core/runtime/backends.js';
import { CIFAR_MEAN, CIFAR_STD, cifarFixture, fixturesDir } from '../src/core/testing/fixtures.js';
import { mobileNetV2Like } from '../src/core/testing/mobileNetV2Like.js';
import { mobileNetV2ProbeFiles, readProbeHead } from '../src/core/testing/mobileNetV2CifarProbe.js';
import { nsfwjsModelFiles } from '../src/core/testing/nsfwjsModels.js';
import { mobileNetV2CifarExports, upsampledCifar, type PipelineExport } from './lib/mobileNetV2CifarBench.js';
import { normalizeRandomNet } from '../src/core/testing/normalizeRandomNet.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}
const models = arg('models', 'resnet20,mobilenetv2').split(',');
const nCalib = Number(arg('calib', '128'));
const nEval = Number(arg('eval', '10000'));
const rounds = Number(arg('rounds', '3'));
const nEval224 = Number(arg('eval-224', '2000'));
const nCalib224 = Number(arg('calib-224', '64'));
const syntheticCache = arg('synthetic', 'bench-results/mnv2-synth-64x20-lr0.1127.f32');
const outFile = arg('out', 'bench-results/export.json');

interface Row {
  model: string;
  variant: string;
  target: DeploymentTarget | 'float';
  bytes: number;
  ops: OpCounts;
  integerKernels: number;
  floatConvGemm: number;
  transposes: number;
  imagesPerSecond: Record<string, number>;
  speedup: Record<string, number>;
  /** Top-1 on labels (ResNet-20) or agreement with float (random-weight net), in percent. */
  top1: number;
  metric: 'top-1' | 'agreement';
  /** SQNR of the logits against float, dB. */
  logitSqnrDb: number;
  /** Top-1 agreement (percent) of the optimized (integer-kernel) run with the unoptimized QDQ graph. */
  vsQdqGraph: number;
  /** Images scored, and images per timed run. */
  evalImages: number;
  batch: number;
  /** Pipeline exports (mobilenetv2-224-cifar): calibration, stage seconds, per-layer SQNR, float activations, notes. */
  pipeline?: Omit<PipelineExport, 'bytes' | 'variant' | 'target'>;
}

async function logitsOf(model: Uint8Array, images: Float32Array, imageDims: number[], n: number, optimize = true): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(model, { graphOptimizationLevel: optimize ? 'all' : 'disabled' });
  const per = imageDims.reduce((a, b) => a * b, 1);
  const step = Math.max(1, Math.floor(2_000_000 / per));
  const parts: Float32Array[] = [];
  for (let s = 0; s < n; s += step) {
    const m = Math.min(step, n - s);
    const r = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', images.subarray(s * per, (s + m) * per), [m, ...imageDims]) });
    parts.push(Float32Array.from(r[session.outputNames[0]].data as Float32Array));
  }
  await session.release();
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  parts.reduce((off, p) => (out.set(p, off), off + p.length), 0);
  return out;
}

/** One benchmarked model: its float ONNX, and evaluation/calibration batches in its own input form. */
interface BenchModel {
  floatBytes: Uint8Array;
  graph: Graph;
  imageDims: number[];
  evalImages: Float32Array;
  evalN: number;
  /** CIFAR-10 labels when the model is a CIFAR-10 classifier; else top-1 is agreement with float. */
  labels: Uint8Array | Int32Array | null;
  calib: { images: Float32Array; shape: number[] };
  /** Images per timed run. */
  speedBatch: number;
  /** The exports when not the default W8A8 / W4A8 quantizeGraph rows on `calib`. */
  exports?: () => Promise<PipelineExport[]>;
  /** Images the optimized export is compared with its unoptimized QDQ graph on (default all). */
  qdqCheckN?: number;
}

/** The models: ResNet-20 (fixture) or another CIFAR-10 ONNX classifier by path, a random-weight MobileNetV2-style 32 px net, and nsfwjs's trained Keras MobileNetV2 at 224 px (CIFAR-10 images upsampled, pixels / 255). */
async function benchModel(name: string, test: Cifar10Set, train: Cifar10Set): Promise<BenchModel> {
  if (name === 'mobilenetv2-224-cifar') {
    const files = mobileNetV2ProbeFiles(readProbeHead());
    const graph = importModel(files);
    const evalN = Math.min(nEval224, test.count);
    const idx = Array.from({ length: evalN }, (_, i) => Math.floor((i * test.count) / evalN));
    const ev = upsampledCifar(graph, test, idx);
    return {
      floatBytes: writeOnnx(graph), graph, imageDims: ev.shape.slice(1), evalImages: ev.images, evalN, labels: Uint8Array.from(idx, (r) => test.labels[r]),
      calib: { images: new Float32Array(0), shape: [] }, speedBatch: 32, exports: () => mobileNetV2CifarExports(files, train, syntheticCache, nCalib224), qdqCheckN: Math.min(evalN, 500),
    };
  }
  if (name === 'mobilenetv2-224') {
    const graph = importModel(nsfwjsModelFiles('mobilenet_v2').files);
    const unit = { mean: [0, 0, 0], std: [1, 1, 1], pixelRange: 255 };
    const evalN = Math.min(nEval, 500);
    const spread = (set: Cifar10Set, n: number) => Array.from({ length: n }, (_, i) => cifar10RecordRgba(set.bytes, Math.floor((i * set.count) / n)));
    const ev = evaluationImages(graph, spread(test, evalN), unit);
    const calib = evaluationImages(graph, spread(train, Math.min(nCalib, 64)), unit);
    return { floatBytes: writeOnnx(graph), graph, imageDims: ev.shape.slice(1), evalImages: ev.images, evalN, labels: null, calib, speedBatch: 32 };
  }
  const evalN = Math.min(nEval, test.count);
  const evalSet = cifar10Batch(test, Array.from({ length: evalN }, (_, i) => Math.floor((i * test.count) / evalN)), CIFAR_MEAN, CIFAR_STD);
  const calib = cifar10Batch(train, Array.from({ length: nCalib }, (_, i) => Math.floor((i * train.count) / nCalib)), CIFAR_MEAN, CIFAR_STD);
  // a path ending in .onnx: a trained CIFAR-10 classifier of our own (e.g. a GhostNet checkpoint's export), labelled like ResNet-20
  const labelled = name === 'resnet20' || name.endsWith('.onnx');
  const floatBytes =
    labelled
      ? new Uint8Array(readFileSync(name === 'resnet20' ? cifarFixture('resnet20_bn.onnx') : name))
      : writeOnnx(await normalizeRandomNet(importOnnx(mobileNetV2Like({ seed: 7 })), calib.images.subarray(0, 64 * 3 * 32 * 32), [64, 3, 32, 32]));
  return {
    floatBytes, graph: importOnnx(floatBytes), imageDims: [3, 32, 32], evalImages: evalSet.images, evalN,
    labels: labelled ? evalSet.labels : null, calib: { images: calib.images, shape: [nCalib, 3, 32, 32] }, speedBatch: 256,
  };
}

async function main(): Promise<void> {
  await initBackend('wasm');
  const test = parseCifar10(new Uint8Array(readFileSync(cifarFixture('test_batch.bin'))));
  const train = parseCifar10(new Uint8Array(readFileSync(`${fixturesDir()}/cifar10/data_batch.bin`)));
  const rows: Row[] = [];
  for (const name of models) {
    const { floatBytes, graph, imageDims, evalImages, evalN, labels, calib, speedBatch, exports: pipelineExports, qdqCheckN = evalN } = await benchModel(name, test, train);
    const labelled = labels !== null;
    const floatLogits = await logitsOf(floatBytes, evalImages, imageDims, evalN);
    const classes = floatLogits.length / evalN;
    const floatPred = argmaxRows(floatLogits, evalN, classes);
    const score = (logits: Float32Array) => {
      const pred = argmaxRows(logits, evalN, classes);
      let ok = 0;
      for (let i = 0; i < evalN; i++) if (pred[i] === (labels ? labels[i] : floatPred[i])) ok++;
      let sig = 0;
      let err = 0;
      for (let i = 0; i < logits.length; i++) {
        sig += floatLogits[i] ** 2;
        err += (logits[i] - floatLogits[i]) ** 2;
      }
      return { top1: (100 * ok) / evalN, logitSqnrDb: err === 0 ? Infinity : 10 * Math.log10(sig / err) };
    };
    const exports: { variant: string; target: DeploymentTarget; bytes: Uint8Array; pipeline?: Row['pipeline'] }[] = [];
    if (pipelineExports) for (const { variant, target, bytes, ...pipeline } of await pipelineExports()) exports.push({ variant, target, bytes, pipeline });
    for (const [variant, over] of pipelineExports ? [] : [
      ['W8A8', { weightBits: 8 }],
      ['W4A8 (first/last 8)', { weightBits: 4, keepFirstLast8bit: true }],
    ] as const) {
      // each target quantized for itself: ort-cpu gives 8-bit weights a 7-bit range (quant/config.ts portableWeightBits)
      const targets: DeploymentTarget[] = over.weightBits === 8 ? ['ort-cpu', 'ort-cpu-vnni'] : ['ort-cpu', 'ort-cpu-vnni', 'smallest'];
      for (const target of targets) {
        const cfg: QuantConfig = { ...defaultQuantConfig(), activationBits: 8, rounding: 'nearest', ...over, target };
        const t0 = performance.now();
        const q = await quantizeGraph(graph, calib, cfg);
        console.log(`${name} ${variant} ${target}: quantized in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
        exports.push({ variant, target, bytes: writeOnnx(buildQdqGraph(q.folded, q.plan, qdqOptionsForTarget(target))) });
      }
    }
    const speeds: Record<number, { imagesPerSecond: number }[]> = {};
    for (const threads of [1, 2]) speeds[threads] = await imagesPerSecond([floatBytes, ...exports.map((e) => e.bytes)], evalImages, imageDims, { threads, rounds, batch: speedBatch });
    const all = [{ variant: 'float', target: 'float' as const, bytes: floatBytes }, ...exports];
    for (const [i, e] of all.entries()) {
      const ops = await optimizedOpCounts(e.bytes);
      const logits = e.target === 'float' ? floatLogits : await logitsOf(e.bytes, evalImages, imageDims, evalN);
      const reference = e.target === 'float' ? floatLogits : await logitsOf(e.bytes, evalImages, imageDims, qdqCheckN, false);
      const [pa, pb] = [argmaxRows(logits, qdqCheckN, classes), argmaxRows(reference, qdqCheckN, classes)];
      const k = kernelSummary(ops);
      const ips = { '1': speeds[1][i].imagesPerSecond, '2': speeds[2][i].imagesPerSecond };
      rows.push({
        model: name,
        variant: e.variant,
        target: e.target,
        bytes: e.bytes.byteLength,
        ops,
        integerKernels: k.integer,
        floatConvGemm: k.floatCompute,
        transposes: k.transposes,
        imagesPerSecond: ips,
        speedup: { '1': ips['1'] / speeds[1][0].imagesPerSecond, '2': ips['2'] / speeds[2][0].imagesPerSecond },
        ...score(logits),
        vsQdqGraph: (100 * pa.filter((p, j) => p === pb[j]).length) / qdqCheckN,
        metric: labelled ? 'top-1' : 'agreement',
        evalImages: evalN,
        batch: speedBatch,
        ...('pipeline' in e && e.pipeline ? { pipeline: e.pipeline } : {}),
      });
    }
  }
  const head = ['model', 'variant', 'target', 'size KB', 'int kernels', 'float conv/gemm', 'Transpose', 'img/s 1t', 'x float', 'img/s 2t', 'x float', 'top-1 / agree %', 'logit SQNR dB', 'vs QDQ %'];
  const lines = rows.map((r) => [r.model, r.variant, r.target, (r.bytes / 1024).toFixed(0), r.integerKernels, r.floatConvGemm, r.transposes, r.imagesPerSecond['1'].toFixed(0), r.speedup['1'].toFixed(2), r.imagesPerSecond['2'].toFixed(0), r.speedup['2'].toFixed(2), `${r.top1.toFixed(2)} (${r.metric})`, r.logitSqnrDb.toFixed(1), r.vsQdqGraph.toFixed(2)].map(String));
  const widths = head.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c].length)));
  const fmt = (cells: string[]) => `| ${cells.map((x, c) => x.padEnd(widths[c])).join(' | ')} |`;
  console.log(fmt(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const l of lines) console.log(fmt(l));
  for (const r of rows) console.log(`${r.model} ${r.variant} ${r.target} ops: ${JSON.stringify(r.ops)}`);
  for (const r of rows.filter((x) => x.pipeline)) {
    const p = r.pipeline!;
    console.log(`${r.model} ${r.variant}: ${p.calibration}; lowest layer SQNR ${p.layers.slice(0, 6).map((l) => `${l.name} ${l.sqnrDb?.toFixed(1)}`).join(', ')} dB; ${p.floatActivations.length} activations float; stage seconds ${JSON.stringify(p.seconds)}`);
  }
  mkdirSync('bench-results', { recursive: true });
  const out = { date: new Date().toISOString(), ort: 'onnxruntime-node 1.30 CPU EP', calibrationImages: nCalib, cpu: hostCpuFeatures(), rows };
  writeFileSync(outFile, JSON.stringify(out, null, 2));
  console.log(`wrote ${outFile}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
