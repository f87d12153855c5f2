/**
 * Why 8-bit weights alone cost so much on nsfwjs's MobileNetV2 (+ CIFAR probe): per layer of the folded float
 * model (inferenceForm: BN folded), with every other layer float, in onnxruntime-node on upsampled CIFAR-10
 * test images:
 *   - the weight itself: per-channel SQNR ||w||^2 / ||w - q(w)||^2 (min / median over channels), max/RMS per
 *     channel, the per-channel axis and group count, channels whose weights are all ~0, the folded BN scale
 *     a = gamma / sqrt(var + eps) (max / median), and the source manifest's storage (uint8 per tensor?);
 *   - the layer's own output SQNR with only this layer's weights on the 8-bit grid, measured, and the figure
 *     predicted from independent rounding noise: noise_o = sum_{c,t} dW[o,c,t]^2 E[x_c^2] (diagonal model);
 *   - the logits' SQNR with only this layer quantized, and all layers together (does the noise add?);
 *   - how sensitive the FLOAT network is on these images: logits SQNR with white noise added to the input
 *     pixels at 80 / 60 / 40 dB (no quantization at all).
 * --relu6-grid: instead, the whole-net figures with every ReLU6 output on a uint8 grid [0, 6] (step 6/255, what
 * an 8-bit activation grid of the export does there): float weights, 8-bit weights, and the input-noise test.
 * --tfjs-reference: instead, the same input-noise test on nsfwjs's ORIGINAL model in tf.loadLayersModel (no
 * LocalQuant import, executor or export): SQNR of its flatten_1 features, on the chosen images and on uniform-noise images.
 * --float-layers A,B: the all-layers figure with these layers' weights left float (what finer weights there would buy).
 * --images cifar: CIFAR-10 test images upsampled 32 -> 224 (the probe's evaluation images); photos: the 17 real
 * photographs of @vladmandic/human's assets that bench/detectors.ts uses (8 thumbnails + 9 crops/screenshots).
 *
 *   npx tsx bench/mobilenetWeightAudit.ts [--images cifar|photos] [--eval 32] [--clip max|mse] [--layers N] [--out FILE]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { parseCifar10 } from '../src/core/data/cifar10.js';
import { writeOnnx } from '../src/core/exporters/onnx/onnxWriter.js';
import { qdqOptionsForTarget } from '../src/core/exporters/qdq/deploymentTargets.js';
import { buildQdqGraph, type QuantizationPlan } from '../src/core/exporters/qdq/qdqOnnxExporter.js';
import { importModel } from '../src/core/importers/index.js';
import type { Graph, TensorData } from '../src/core/ir/types.js';
import { weightLayout } from '../src/core/algos/layerWeights.js';
import { inferenceForm } from '../src/core/ir/passes/inferenceForm.js';
import { dequantizedWeight } from '../src/core/quant/fakeQuant.js';
import { quantizableLayers } from '../src/core/quant/quantPoints.js';
import { fromRows, perChannelWeightScales, quantizeRowsNearest, weightAsRows, type WeightScaleMethod } from '../src/core/quant/weightScale.js';
import { initBackend } from '../src/core/runtime/backends.js';
import { cifarFixture } from '../src/core/testing/fixtures.js';
import { nsfwjsModelFiles } from '../src/core/testing/nsfwjsModels.js';
import { mobileNetV2ProbeFiles, readProbeHead } from '../src/core/testing/mobileNetV2CifarProbe.js';
import { photos } from './lib/detectorBench.js';
import { upsampledCifar } from './lib/mobileNetV2CifarBench.js';
import { ortOutputs } from './lib/ortOutputs.js';
import { sqnrDb } from './lib/sqnr.js';

const argv = process.argv.slice(2);
const arg = (name: string, dflt: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const IMAGES = arg('images', 'cifar');
let EVAL = Number(arg('eval', '32'));
const CLIP = arg('clip', 'max') as WeightScaleMethod;
const MAX_LAYERS = Number(arg('layers', '1000'));
const OUT = arg('out', `bench-results/mobilenet-weight-audit-${IMAGES}-${CLIP}.json`);
const t0 = performance.now();
const log = (m: string) => console.log(`[${((performance.now() - t0) / 1000).toFixed(0)}s] ${m}`);

/** The named values of `g` (made graph outputs) on the evaluation images, 8 images per run. */
const run = (g: Graph, images: Float32Array, dims: number[], names: string[]) =>
  ortOutputs(writeOnnx({ ...g, outputs: names.map((name) => ({ name, dtype: 'float32' as const, shape: null })) }), images, dims, EVAL, names, 8);

/** Per-channel E[x_c^2] of an NCHW tensor [n, c, ...]. */
function channelSecondMoment(x: Float32Array, c: number): Float64Array {
  const hw = x.length / c / EVAL;
  const m = new Float64Array(c);
  for (let i = 0; i < x.length; i++) {
    const ch = Math.floor(i / hw) % c;
    m[ch] += x[i] * x[i];
  }
  for (let ch = 0; ch < c; ch++) m[ch] /= EVAL * hw;
  return m;
}

/** Per output channel sum of (y - ref)^2 and ref^2 over an NCHW tensor; the bias is not subtracted. */
function channelNoise(ref: Float32Array, y: Float32Array, c: number): { noise: Float64Array; signal: Float64Array } {
  const hw = ref.length / c / EVAL;
  const noise = new Float64Array(c);
  const signal = new Float64Array(c);
  for (let i = 0; i < ref.length; i++) {
    const ch = Math.floor(i / hw) % c;
    noise[ch] += (y[i] - ref[i]) ** 2;
    signal[ch] += ref[i] ** 2;
  }
  for (let ch = 0; ch < c; ch++) {
    noise[ch] /= EVAL * hw;
    signal[ch] /= EVAL * hw;
  }
  return { noise, signal };
}

const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
};
const db = (x: number) => 10 * Math.log10(x);

/** How the source manifest stores each weight: dtype and quantization dtype, by name prefix (layer). */
function manifestStorage(): Map<string, string> {
  const { json } = nsfwjsModelFiles('mobilenet_v2');
  const m = new Map<string, string>();
  for (const g of json.weightsManifest ?? []) for (const w of g.weights) m.set(w.name, w.quantization ? `${w.quantization.dtype} per tensor (scale ${w.quantization.scale?.toExponential(2)}, min ${w.quantization.min?.toFixed(3)})` : w.dtype);
  return m;
}

/** `g` with a uint8 grid on [0, 6] after every Clip (ReLU6): QuantizeLinear -> DequantizeLinear, consumers rewired. */
function withRelu6Grids(g: Graph): Graph {
  const initializers = new Map(g.initializers);
  initializers.set('relu6_grid_scale', { dtype: 'float32', dims: [], data: Float32Array.of(6 / 255) });
  initializers.set('relu6_grid_zero', { dtype: 'uint8', dims: [], data: Uint8Array.of(0) });
  const renamed = new Map<string, string>();
  const nodes = g.nodes.flatMap((n) => {
    const m = { ...n, inputs: n.inputs.map((v) => renamed.get(v) ?? v) };
    if (n.opType !== 'Clip' || g.outputs.some((o) => o.name === n.outputs[0])) return [m];
    const v = n.outputs[0];
    renamed.set(v, `${v}_grid`);
    return [m, { name: `${n.name}_q`, opType: 'QuantizeLinear', inputs: [v, 'relu6_grid_scale', 'relu6_grid_zero'], outputs: [`${v}_q`], attrs: {} },
      { name: `${n.name}_dq`, opType: 'DequantizeLinear', inputs: [`${v}_q`, 'relu6_grid_scale', 'relu6_grid_zero'], outputs: [`${v}_grid`], attrs: {} }];
  });
  return { ...g, nodes, initializers };
}

/** The input-noise test on the original nsfwjs model in tf.loadLayersModel: flatten_1 features, clean vs noisy input. */
async function tfjsReference(images: Float32Array, shape: number[]): Promise<Record<string, Record<string, number>>> {
  const { json, weightData } = nsfwjsModelFiles('mobilenet_v2');
  const weightSpecs = (json.weightsManifest ?? []).flatMap((g) => g.weights) as tf.io.WeightsManifestEntry[];
  const ref = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs, weightData, format: json.format }));
  const features = tf.model({ inputs: ref.inputs, outputs: ref.getLayer('flatten_1').output as tf.SymbolicTensor });
  const out: Record<string, Record<string, number>> = {};
  for (const [name, x] of [[IMAGES, tf.tensor(images, shape)], ['uniform noise images', tf.randomUniform(shape, 0, 1, 'float32', 3)]] as const) {
    const clean = features.predict(x) as tf.Tensor;
    const rms = Math.sqrt(tf.tidy(() => tf.mean(tf.square(x)).dataSync()[0]));
    out[name] = {};
    for (const noiseDb of [80, 60, 40]) {
      const noisy = tf.tidy(() => features.predict(tf.add(x, tf.randomNormal(x.shape, 0, rms * 10 ** (-noiseDb / 20), 'float32', 7))) as tf.Tensor);
      out[name][`${noiseDb}dB`] = sqnrDb(clean.dataSync(), noisy.dataSync());
      noisy.dispose();
    }
    tf.dispose([x, clean]);
  }
  ref.dispose(); // disposes the layers `features` shares with it
  return out;
}

async function main(): Promise<void> {
  await initBackend('wasm'); // image resizing only
  const test = parseCifar10(new Uint8Array(readFileSync(cifarFixture('test_batch.bin'))));
  const graph = importModel(mobileNetV2ProbeFiles(readProbeHead()));
  const folded = inferenceForm(graph);
  const idx = Array.from({ length: EVAL }, (_, i) => Math.floor((i * test.count) / EVAL));
  let ev: { images: Float32Array; shape: number[] };
  if (IMAGES === 'photos') {
    const a = photos(graph.inputs[0], 1 / 255, 'held-out');
    const b = photos(graph.inputs[0], 1 / 255, 'calibration');
    const images = new Float32Array(a.images.length + b.images.length);
    images.set(a.images);
    images.set(b.images, a.images.length);
    ev = { images, shape: [a.shape[0] + b.shape[0], ...a.shape.slice(1)] };
    EVAL = ev.shape[0];
  } else ev = upsampledCifar(graph, test, idx);
  const dims = ev.shape.slice(1);
  const logitsName = folded.outputs[0].name;
  const storage = manifestStorage();
  // folded BN scale per layer: the unfolded graph's BN that reads the layer's output
  const bnScale = new Map<string, Float32Array>();
  for (const bn of graph.nodes.filter((n) => n.opType === 'BatchNormalization')) {
    const layer = graph.nodes.find((n) => n.outputs.includes(bn.inputs[0]));
    if (!layer) continue;
    const [gamma, , , variance] = bn.inputs.slice(1, 5).map((v) => graph.initializers.get(v)!.data as Float32Array);
    const eps = typeof bn.attrs.epsilon === 'number' ? bn.attrs.epsilon : 1e-5;
    bnScale.set(layer.name, gamma.map((g, i) => g / Math.sqrt(variance[i] + eps)));
  }
  const layers = quantizableLayers(folded).slice(0, MAX_LAYERS);
  const quantized = new Map<string, TensorData>();
  const plan: QuantizationPlan = { layers: [], activations: {} };
  for (const { node } of layers) {
    const w = folded.initializers.get(node.inputs[1])!;
    const lay = weightLayout(node, w);
    const { rows } = weightAsRows(w.data as Float32Array, w.dims, lay.axis);
    const scales = perChannelWeightScales(rows, lay.cOut, { bits: 8, method: CLIP });
    const codes = fromRows(quantizeRowsNearest(rows, scales, 8), w.dims, lay.axis);
    quantized.set(node.name, { ...w, data: dequantizedWeight(codes, scales, w.dims, lay.axis) });
    plan.layers.push({ node: node.name, weightCodes: codes, weightScales: scales, weightBits: 8, axis: lay.axis });
  }
  const [floatLogits] = await run(folded, ev.images, dims, [logitsName]);
  const floatLayers = new Set(arg('float-layers', '').split(',').filter(Boolean));
  const allInits = new Map(folded.initializers);
  for (const { node } of layers) if (!floatLayers.has(node.name)) allInits.set(node.inputs[1], quantized.get(node.name)!);
  const [allLogits] = await run({ ...folded, initializers: allInits }, ev.images, dims, [logitsName]);
  const allDb = sqnrDb(floatLogits, allLogits);
  log(`float vs all ${layers.length - floatLayers.size} layers W8 (${CLIP} clip${floatLayers.size ? `; float: ${[...floatLayers].join(', ')}` : ''}): logits SQNR ${allDb.toFixed(2)} dB`);
  if (floatLayers.size) return;
  // the same codes through the QDQ exporter (DequantizeLinear with the plan's axis): must equal the fake-quantized weights
  const qdq = buildQdqGraph(folded, plan, qdqOptionsForTarget('ort-cpu'));
  const [qdqLogits] = await run(qdq, ev.images, dims, [qdq.outputs[0].name]);
  const qdqVsFakeDb = sqnrDb(allLogits, qdqLogits);
  log(`QDQ export of the same codes vs fake-quantized weights: logits SQNR ${qdqVsFakeDb.toFixed(1)} dB (vs float ${sqnrDb(floatLogits, qdqLogits).toFixed(2)} dB)`);

  if (argv.includes('--tfjs-reference')) {
    const r = await tfjsReference(ev.images.slice(0, 8 * dims.reduce((a, b) => a * b, 1)), [8, ...dims]);
    log(`tf.loadLayersModel(nsfwjs mobilenet_v2), flatten_1 features SQNR under white input noise: ${JSON.stringify(r)}`);
    mkdirSync('bench-results', { recursive: true });
    writeFileSync(OUT.replace(/\.json$/, '-tfjs-reference.json'), JSON.stringify({ date: new Date().toISOString(), images: IMAGES, evalImages: 8, featureSqnrDbUnderInputNoise: r }, null, 2));
    return;
  }
  if (argv.includes('--relu6-grid')) {
    const clips = folded.nodes.filter((n) => n.opType === 'Clip').length;
    const gridded = withRelu6Grids(folded);
    const [gl] = await run(gridded, ev.images, dims, [logitsName]);
    const [gwl] = await run(withRelu6Grids({ ...folded, initializers: allInits }), ev.images, dims, [logitsName]);
    const noisy = (noiseDb: number) => {
      let sq = 0;
      for (const v of ev.images) sq += v * v;
      const sd = Math.sqrt(sq / ev.images.length) * 10 ** (-noiseDb / 20) * Math.sqrt(12);
      let seed = 12345;
      return ev.images.map((v) => v + sd * (((seed = (seed * 16807) % 2147483647) / 2147483647) - 0.5));
    };
    const [nf] = await run(folded, noisy(60), dims, [logitsName]);
    const [ng] = await run(gridded, noisy(60), dims, [logitsName]);
    const r = {
      relu6Grids: clips,
      logitsSqnrDb: { gridsFloatWeights: sqnrDb(floatLogits, gl), gridsW8: sqnrDb(floatLogits, gwl), w8NoGrids: allDb },
      // the weights' share with the grids in place: W8 + grids against float weights + the same grids
      w8VsFloatWeightsBothGridded: sqnrDb(gl, gwl),
      inputNoise60dB: { noGrids: sqnrDb(floatLogits, nf), gridsVsGridsClean: sqnrDb(gl, ng) },
    };
    log(JSON.stringify(r));
    mkdirSync('bench-results', { recursive: true });
    writeFileSync(OUT.replace(/\.json$/, '-relu6grid.json'), JSON.stringify({ date: new Date().toISOString(), images: IMAGES, evalImages: EVAL, clip: CLIP, ...r }, null, 2));
    return;
  }
  // the float network's own sensitivity: white noise on the input pixels, no quantization
  let pixelSq = 0;
  for (const v of ev.images) pixelSq += v * v;
  const pixelRms = Math.sqrt(pixelSq / ev.images.length);
  const inputNoise: Record<string, number> = {};
  let seed = 12345;
  const uniform = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) - 0.5;
  for (const noiseDb of [80, 60, 40]) {
    const sd = pixelRms * 10 ** (-noiseDb / 20) * Math.sqrt(12);
    const noisy = ev.images.map((v) => v + sd * uniform());
    const [l] = await run(folded, noisy, dims, [logitsName]);
    inputNoise[`${noiseDb}dB`] = sqnrDb(floatLogits, l);
    log(`float network, white noise on the input at ${noiseDb} dB (rms ${(sd / Math.sqrt(12) * 255).toFixed(3)} of 255): logits SQNR ${inputNoise[`${noiseDb}dB`].toFixed(2)} dB`);
  }

  const rows: Record<string, unknown>[] = [];
  let logitNoiseSum = 0;
  let logitSignal = 0;
  for (const v of floatLogits) logitSignal += v * v;
  for (const { node, depthwise } of layers) {
    const w = folded.initializers.get(node.inputs[1])!;
    const lay = weightLayout(node, w);
    const { rows: wr } = weightAsRows(w.data as Float32Array, w.dims, lay.axis);
    const { rows: qr } = weightAsRows(quantized.get(node.name)!.data as Float32Array, w.dims, lay.axis);
    const chanSqnr: number[] = [];
    const maxOverRms: number[] = [];
    let zeroRows = 0;
    let maxAbsAll = 0;
    for (let o = 0; o < lay.cOut; o++) {
      let s = 0;
      let e = 0;
      let mx = 0;
      for (let k = 0; k < lay.k; k++) {
        const v = wr[o * lay.k + k];
        s += v * v;
        e += (v - qr[o * lay.k + k]) ** 2;
        mx = Math.max(mx, Math.abs(v));
      }
      maxAbsAll = Math.max(maxAbsAll, mx);
      if (mx < 1e-12) zeroRows++;
      chanSqnr.push(e === 0 ? 200 : db(s / e));
      maxOverRms.push(s === 0 ? 0 : mx / Math.sqrt(s / lay.k));
    }
    const inits = new Map(folded.initializers);
    inits.set(node.inputs[1], quantized.get(node.name)!);
    const [xF, yF] = await run(folded, ev.images, dims, [node.inputs[0], node.outputs[0]]);
    const [yQ, lQ] = await run({ ...folded, initializers: inits }, ev.images, dims, [node.outputs[0], logitsName]);
    const cin = lay.cinPerGroup * lay.groups;
    const ex2 = channelSecondMoment(xF, cin);
    const { noise, signal } = channelNoise(yF, yQ, lay.cOut);
    // predicted noise per output channel from independent rounding errors: sum dW^2 E[x_c^2]
    const perGroup = lay.cOut / lay.groups;
    let predNoise = 0;
    let measNoise = 0;
    let sig = 0;
    const chanOutDb: number[] = [];
    for (let o = 0; o < lay.cOut; o++) {
      const g = Math.floor(o / perGroup);
      let p = 0;
      for (let c = 0; c < lay.cinPerGroup; c++) for (let t = 0; t < lay.kernelSize; t++) {
        const i = o * lay.k + c * lay.kernelSize + t;
        p += (wr[i] - qr[i]) ** 2 * ex2[g * lay.cinPerGroup + c];
      }
      predNoise += p;
      measNoise += noise[o];
      sig += signal[o];
      chanOutDb.push(noise[o] === 0 ? 200 : db(signal[o] / noise[o]));
    }
    const lNoise = lQ.reduce((a, v, i) => a + (v - floatLogits[i]) ** 2, 0);
    logitNoiseSum += lNoise;
    const a = bnScale.get(node.name.replace(/\/conv$/, '')) ?? bnScale.get(node.name);
    const srcName = [...storage.keys()].find((k) => k.startsWith(`${node.name.split('/')[0]}/`) && /kernel$/.test(k));
    const row = {
      layer: node.name,
      op: node.opType,
      depthwise,
      groups: lay.groups,
      weightDims: w.dims,
      axis: lay.axis,
      cOut: lay.cOut,
      k: lay.k,
      storage: srcName ? storage.get(srcName) : null,
      zeroRows,
      maxAbs: maxAbsAll,
      weightSqnrDb: { min: Math.min(...chanSqnr), median: median(chanSqnr) },
      maxOverRms: { median: median(maxOverRms), max: Math.max(...maxOverRms) },
      bnScale: a ? { max: Math.max(...a), median: median([...a]), min: Math.min(...a) } : null,
      outputSqnrDb: { measured: db(sig / measNoise), predicted: db(sig / predNoise), minChannel: Math.min(...chanOutDb), medianChannel: median(chanOutDb) },
      logitSqnrDb: db(logitSignal / lNoise),
    };
    rows.push(row);
    log(`${node.name.padEnd(40)} ${depthwise ? 'dw' : '  '} K=${String(lay.k).padStart(4)} wSQNR min/med ${row.weightSqnrDb.min.toFixed(1)}/${row.weightSqnrDb.median.toFixed(1)} max/rms ${row.maxOverRms.median.toFixed(2)} a max ${a ? Math.max(...a).toFixed(1) : '-'} out meas/pred ${row.outputSqnrDb.measured.toFixed(1)}/${row.outputSqnrDb.predicted.toFixed(1)} (min ch ${row.outputSqnrDb.minChannel.toFixed(1)}) logits ${row.logitSqnrDb.toFixed(1)}`);
  }
  const sumDb = db(logitSignal / logitNoiseSum);
  log(`logits: all layers together ${allDb.toFixed(2)} dB; sum of the single-layer noises ${sumDb.toFixed(2)} dB`);
  mkdirSync('bench-results', { recursive: true });
  writeFileSync(OUT, JSON.stringify({ date: new Date().toISOString(), images: IMAGES, evalImages: EVAL, clip: CLIP, inputNoiseLogitSqnrDb: inputNoise, logitsAllLayersDb: allDb, qdqExportVsFakeQuantDb: qdqVsFakeDb, logitsSumOfSingleLayerNoiseDb: sumDb, rows }, null, 2));
  log(`wrote ${OUT}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
