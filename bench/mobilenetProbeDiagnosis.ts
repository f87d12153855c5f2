/**
 * Where the MobileNetV2-224 CIFAR probe (bench:export's mobilenetv2-224-cifar) loses top-1 at W8A8: the
 * same pipeline exports (bench/lib/mobileNetV2CifarBench.ts: synthetic and real-image calibration), with the
 * head's input (the dequantized 1280 features the quantized backbone delivers) added as a second graph
 * output, run in onnxruntime-node on the same upsampled CIFAR-10 test images as the benchmark. Rows, each a
 * top-1 on the labels:
 *   float                     float backbone, float head (the float model)
 *   feature grid only         float features on the export's 8-bit grid for the head input, float head
 *   head weights only         float features, the export's int8 head weights
 *   head (grid + weights)     float backbone, the head as exported: the head's own share of the drop
 *   quantized features        the export's backbone (integer kernels), float head: the backbone's share
 *   export                    the export's own logits
 * plus the SQNR of the quantized features against float (dB) and of the logits. --w8a32 instead runs the
 * pipeline with 8-bit weights and float activations on the synthetic set (weights' share of the drop);
 * --bias-correction W8A8 with bias correction on it; both: W8A32 with bias correction. --weights-only max|mse:
 * no pipeline, every conv/dense weight of the folded float model rounded to nearest on a per-channel 8-bit
 * grid clipped at max |w| (or at the MSE-best clip), activations float: the plain weight-only baseline;
 * with --float-layers A,B those layers keep float weights.
 *
 *   npx tsx bench/mobilenetProbeDiagnosis.ts [--eval 2000] [--synthetic bench-results/mnv2-synth-64x20-lr0.1127.f32]
 *       [--w8a32] [--bias-correction] [--weights-only max|mse [--float-layers A,B]] [--out FILE]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { argmaxRows, parseCifar10 } from '../src/core/data/cifar10.js';
import { writeOnnx } from '../src/core/exporters/onnx/onnxWriter.js';
import { importModel } from '../src/core/importers/index.js';
import { importOnnx } from '../src/core/importers/onnx/importOnnx.js';
import type { Graph, TensorData } from '../src/core/ir/types.js';
import { weightLayout } from '../src/core/algos/layerWeights.js';
import { inferenceForm } from '../src/core/ir/passes/inferenceForm.js';
import { dequantizedWeight } from '../src/core/quant/fakeQuant.js';
import { quantizableLayers } from '../src/core/quant/quantPoints.js';
import { fromRows, perChannelWeightScales, quantizeRowsNearest, weightAsRows, type WeightScaleMethod } from '../src/core/quant/weightScale.js';
import { initBackend } from '../src/core/runtime/backends.js';
import { cifarFixture } from '../src/core/testing/fixtures.js';
import { mobileNetV2ProbeFiles, readProbeHead } from '../src/core/testing/mobileNetV2CifarProbe.js';
import { probeLogits } from '../scripts/probe/softmaxRegression.js';
import { cachedSynthetic, exportOf, mobileNetV2CifarExports, pipelineConfig, upsampledCifar } from './lib/mobileNetV2CifarBench.js';
import { ortOutputs } from './lib/ortOutputs.js';
import { sqnrDb } from './lib/sqnr.js';

const argv = process.argv.slice(2);
const arg = (name: string, dflt: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const EVAL = Number(arg('eval', '2000'));
const SYNTHETIC = arg('synthetic', 'bench-results/mnv2-synth-64x20-lr0.1127.f32');
const OUT = arg('out', 'bench-results/mobilenet-probe-diagnosis.json');
const D = 1280;
const K = 10;

const t0 = performance.now();
const log = (m: string) => console.log(`[${((performance.now() - t0) / 1000).toFixed(0)}s] ${m}`);


/** All named outputs of `model` on `images` (NHWC, n images), 25 images per run. */
const outputs = (model: Uint8Array, images: Float32Array, dims: number[], n: number, names: string[]) => ortOutputs(model, images, dims, n, names, 25);

const scalar = (t: TensorData) => Number((t.data as ArrayLike<number | bigint>)[0]);

/** The export's head: MatMul on DequantizeLinear(features) and DequantizeLinear(int8 weight), bias Add after. */
function exportedHead(g: Graph): { features: string; grid: { scale: number; zeroPoint: number }; kernel: Float32Array; logits: string } {
  const mm = g.nodes.filter((n) => n.opType === 'MatMul').at(-1)!;
  const producer = (v: string) => g.nodes.find((n) => n.outputs.includes(v))!;
  const dqx = producer(mm.inputs[0]);
  const dqw = producer(mm.inputs[1]);
  const init = (name: string) => g.initializers.get(name)!;
  const codes = init(dqw.inputs[0]);
  const scales = init(dqw.inputs[1]).data as Float32Array;
  const axis = Number(dqw.attrs.axis ?? 1);
  const [rows, cols] = codes.dims;
  const kernel = new Float32Array(rows * cols);
  const c = codes.data as Int8Array;
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) kernel[i * cols + j] = c[i * cols + j] * (scales.length === 1 ? scales[0] : scales[axis === 1 ? j : i]);
  if (rows !== D || cols !== K) throw new Error(`head weight is [${rows}, ${cols}], expected [${D}, ${K}]`);
  return { features: mm.inputs[0], grid: { scale: scalar(init(dqx.inputs[1])), zeroPoint: scalar(init(dqx.inputs[2])) }, kernel, logits: g.outputs[0].name };
}

async function main(): Promise<void> {
  await initBackend('wasm');
  const test = parseCifar10(new Uint8Array(readFileSync(cifarFixture('test_batch.bin'))));
  const train = parseCifar10(new Uint8Array(readFileSync(cifarFixture('data_batch.bin'))));
  const files = mobileNetV2ProbeFiles(readProbeHead());
  const graph = importModel(files);
  const idx = Array.from({ length: EVAL }, (_, i) => Math.floor((i * test.count) / EVAL));
  const labels = idx.map((r) => test.labels[r]);
  const ev = upsampledCifar(graph, test, idx);
  const dims = ev.shape.slice(1);
  log(`${EVAL} test images upsampled`);
  const backbone = importModel(mobileNetV2ProbeFiles(null));
  const [features] = await outputs(writeOnnx(backbone), ev.images, dims, EVAL, [backbone.outputs[0].name]);
  log('float features');
  const head = readProbeHead();
  const top1 = (logits: Float32Array) => (100 * argmaxRows(logits, EVAL, K).reduce((a, p, i) => a + (p === labels[i] ? 1 : 0), 0)) / EVAL;
  const floatLogits = probeLogits(head, features, EVAL, D);
  const rows: Record<string, unknown>[] = [];
  const weightsOnly = arg('weights-only', '') as WeightScaleMethod | '';
  if (weightsOnly) {
    const folded = inferenceForm(graph);
    const inits = new Map(folded.initializers);
    const floatLayers = new Set(arg('float-layers', '').split(',').filter(Boolean));
    for (const { node } of quantizableLayers(folded)) {
      if (floatLayers.has(node.name)) continue;
      const w = folded.initializers.get(node.inputs[1])!;
      const lay = weightLayout(node, w);
      const { rows: r, cOut } = weightAsRows(w.data as Float32Array, w.dims, lay.axis);
      const scales = perChannelWeightScales(r, cOut, { bits: 8, method: weightsOnly });
      inits.set(node.inputs[1], { ...w, data: dequantizedWeight(fromRows(quantizeRowsNearest(r, scales, 8), w.dims, lay.axis), scales, w.dims, lay.axis) });
    }
    const [logitsQ] = await outputs(writeOnnx({ ...folded, initializers: inits }), ev.images, dims, EVAL, [folded.outputs[0].name]);
    const row = { calibration: `W8 weights only, nearest, ${weightsOnly} clip (no pipeline, no images)${floatLayers.size ? `; float: ${[...floatLayers].join(', ')}` : ''}`, top1: { float: top1(floatLogits), export: top1(logitsQ) }, sqnrDb: { logitsExport: sqnrDb(floatLogits, logitsQ) } };
    log(JSON.stringify(row));
    writeFileSync(OUT, JSON.stringify({ date: new Date().toISOString(), evalImages: EVAL, rows: [row] }, null, 2));
    return;
  }
  const [a32, bc] = [argv.includes('--w8a32'), argv.includes('--bias-correction')];
  if (a32 || bc) {
    const { images, n, steps, method } = cachedSynthetic(SYNTHETIC);
    const cfg = pipelineConfig(n, steps);
    const variant = `${a32 ? 'W8A32' : 'W8A8'} synthetic${bc ? ', bias correction' : ''}`;
    const e = await exportOf(files, variant, { ...cfg, quant: { ...cfg.quant, activationBits: a32 ? 32 : 8, biasCorrection: bc } }, { images, shape: [n, 3, 224, 224], method });
    const [logitsQ] = await outputs(e.bytes, ev.images, dims, EVAL, [importOnnx(e.bytes).outputs[0].name]);
    const row = { calibration: e.variant, top1: { float: top1(floatLogits), export: top1(logitsQ) }, sqnrDb: { logitsExport: sqnrDb(floatLogits, logitsQ) } };
    log(JSON.stringify(row));
    mkdirSync('bench-results', { recursive: true });
    writeFileSync(OUT, JSON.stringify({ date: new Date().toISOString(), evalImages: EVAL, synthetic: SYNTHETIC, rows: [row] }, null, 2));
    return;
  }
  for (const e of await mobileNetV2CifarExports(files, train, SYNTHETIC)) {
    const g = importOnnx(e.bytes);
    const h = exportedHead(g);
    g.outputs.push({ name: h.features, dtype: 'float32', shape: null });
    const [logitsQ, featuresQ] = await outputs(writeOnnx(g), ev.images, dims, EVAL, [h.logits, h.features]);
    const onGrid = features.map((v) => (Math.min(255, Math.max(0, Math.round(v / h.grid.scale) + h.grid.zeroPoint)) - h.grid.zeroPoint) * h.grid.scale);
    const int8Head = { kernel: h.kernel, bias: head.bias };
    const row = {
      calibration: e.variant,
      featureGrid: { ...h.grid, clipsAt: (255 - h.grid.zeroPoint) * h.grid.scale, maxFloatFeature: features.reduce((a, v) => Math.max(a, v), 0) },
      top1: {
        float: top1(floatLogits),
        featureGridOnly: top1(probeLogits(head, onGrid, EVAL, D)),
        headWeightsOnly: top1(probeLogits(int8Head, features, EVAL, D)),
        headGridAndWeights: top1(probeLogits(int8Head, onGrid, EVAL, D)),
        quantizedFeaturesFloatHead: top1(probeLogits(head, featuresQ, EVAL, D)),
        export: top1(logitsQ),
      },
      sqnrDb: {
        featuresOnGrid: sqnrDb(features, onGrid),
        quantizedFeatures: sqnrDb(features, featuresQ),
        logitsHeadOnly: sqnrDb(floatLogits, probeLogits(int8Head, onGrid, EVAL, D)),
        logitsQuantizedFeaturesFloatHead: sqnrDb(floatLogits, probeLogits(head, featuresQ, EVAL, D)),
        logitsExport: sqnrDb(floatLogits, logitsQ),
      },
    };
    rows.push(row);
    log(`${e.variant}: ${JSON.stringify(row)}`);
  }
  console.log('\n| calibration | float | feature grid only | head weights only | head (grid + weights) | quantized features, float head | export | feature SQNR dB | logit SQNR dB |\n|---|---|---|---|---|---|---|---|---|');
  for (const r of rows as { calibration: string; top1: Record<string, number>; sqnrDb: Record<string, number> }[]) {
    const t = r.top1;
    console.log(`| ${r.calibration} | ${[t.float, t.featureGridOnly, t.headWeightsOnly, t.headGridAndWeights, t.quantizedFeaturesFloatHead, t.export].map((v) => v.toFixed(2)).join(' | ')} | ${r.sqnrDb.quantizedFeatures.toFixed(1)} | ${r.sqnrDb.logitsExport.toFixed(1)} |`);
  }
  mkdirSync('bench-results', { recursive: true });
  writeFileSync(OUT, JSON.stringify({ date: new Date().toISOString(), evalImages: EVAL, synthetic: SYNTHETIC, rows }, null, 2));
  log(`wrote ${OUT}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
