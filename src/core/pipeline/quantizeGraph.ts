/**
 * The quantization stage: BN-folded graph + calibration images -> QuantizationPlan (integer weights,
 * activation grids) and its QDQ ONNX graph. Layer by layer in execution order, each layer's rounding is
 * chosen on inputs from the already-quantized layers before it (x~) against the float inputs (x), through
 * the second moments G, C, H of the sampled im2col columns (docs/method.md, step 2).
 */
import * as tf from '@tensorflow/tfjs';
import { quantizeLayerWeights, weightLayout } from '../algos/layerWeights.js';
import { convGeometry, im2colNHWC, sampleRowIndices, SecondMomentAccumulator } from '../algos/secondMoments.js';
import { LocalQuantError } from '../errors.js';
import { buildQdqGraph, type QuantizationPlan } from '../exporters/qdq/qdqOnnxExporter.js';
import { compactNames } from '../ir/passes/compactNames.js';
import { foldBatchNorm } from '../ir/passes/foldBatchNorm.js';
import type { Graph, TensorData } from '../ir/types.js';
import { weightAsRows } from '../quant/weightScale.js';
import { layerBits, type QuantConfig } from '../quant/config.js';
import { dequantizedWeight, fakeQuantTensor } from '../quant/fakeQuant.js';
import { activationQParams, RangeHistogram, type ActivationQParams } from '../quant/observers.js';
import { activationPoints, quantizableLayers } from '../quant/quantPoints.js';
import { GraphExecutor } from '../runtime/executor.js';
import type { CapturedTensor } from '../runtime/types.js';
import type { PipelineEvent } from './types.js';

export interface CalibrationSet {
  /** Normalized images in the graph input's layout, batch first. */
  images: Float32Array;
  /** [N, ...] */
  shape: number[];
}

export interface LayerReport {
  name: string;
  opType: string;
  weightBits: number | null;
  activationBits: number;
  rounding: 'adaptive' | 'nearest' | 'float';
  scales: number[];
  nearestError?: number;
  adaptiveError?: number;
  flippedFraction?: number;
  /** 10 log10(E||Wx||^2 / E||W~x~ - Wx||^2) over the calibration columns. */
  sqnrDb?: number;
  seconds: number;
}

export interface QuantizeGraphResult {
  folded: Graph;
  plan: QuantizationPlan;
  qdq: Graph;
  layers: LayerReport[];
  activations: Record<string, ActivationQParams>;
  seconds: { ranges: number; rounding: number };
}

const BATCH = 64;

function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new LocalQuantError('CANCELLED', 'The run was cancelled.');
}

function batchesOf(cal: CalibrationSet): tf.Tensor[] {
  const n = cal.shape[0];
  const per = cal.shape.slice(1).reduce((a, b) => a * b, 1);
  const out: tf.Tensor[] = [];
  for (let s = 0; s < n; s += BATCH) {
    const m = Math.min(BATCH, n - s);
    out.push(tf.tensor(cal.images.subarray(s * per, (s + m) * per), [m, ...cal.shape.slice(1)]));
  }
  return out;
}

/** tr(W M W^T) for W [cOut, k] row-major and M [k, k]: the layer's output energy. */
function quadraticTrace(w: Float32Array, cOut: number, k: number, m: Float32Array): number {
  let total = 0;
  const tmp = new Float64Array(k);
  for (let o = 0; o < cOut; o++) {
    const row = w.subarray(o * k, (o + 1) * k);
    tmp.fill(0);
    for (let i = 0; i < k; i++) {
      const wi = row[i];
      if (wi === 0) continue;
      const mi = i * k;
      for (let j = 0; j < k; j++) tmp[j] += wi * m[mi + j];
    }
    for (let j = 0; j < k; j++) total += tmp[j] * row[j];
  }
  return total;
}

export async function quantizeGraph(
  graph: Graph,
  calibration: CalibrationSet,
  cfg: QuantConfig,
  onEvent: (e: PipelineEvent) => void = () => {},
  signal?: AbortSignal,
): Promise<QuantizeGraphResult> {
  const t0 = performance.now();
  const { graph: folded } = foldBatchNorm(graph);
  const qlayers = quantizableLayers(folded);
  if (qlayers.length === 0) throw new LocalQuantError('BAD_INPUT', 'The model has no Conv, Gemm or MatMul layer with constant weights: there is nothing to quantize.');
  const bitsOf = new Map(qlayers.map((l) => [l.node.name, layerBits(cfg, l.node.name, l)]));
  const floatLayers = new Set(qlayers.filter((l) => bitsOf.get(l.node.name) === null).map((l) => l.node.name));
  onEvent({
    type: 'layers',
    layers: qlayers.map((l) => ({ name: l.node.name, opType: l.node.opType, weightBits: bitsOf.get(l.node.name)?.weightBits ?? 32, activationBits: bitsOf.get(l.node.name)?.activationBits ?? 32 })),
  });

  const inputName = folded.inputs[0].name;
  const batches = batchesOf(calibration);
  const exec = new GraphExecutor(folded);
  const overrides = new Map<string, tf.Tensor>();
  try {
    // 1. Activation ranges on the float network; the network input is always 8 bit.
    const points = cfg.activationBits < 32 ? activationPoints(folded, { floatLayers }) : [];
    const hists = new Map(points.map((n) => [n, new RangeHistogram()]));
    for (const b of batches) {
      throwIfAborted(signal);
      const r = exec.execute({ [inputName]: b }, { capture: points });
      for (const [n, c] of r.captured) {
        hists.get(n)!.observe((await c.tensor.data()) as Float32Array);
        c.tensor.dispose();
      }
      tf.dispose([...r.outputs.values()]);
    }
    const actQ = new Map<string, ActivationQParams>();
    for (const [n, h] of hists) actQ.set(n, activationQParams(h, { bits: n === inputName ? 8 : cfg.activationBits, method: cfg.activationObserver, percentile: cfg.percentile }));
    const hook = actQ.size ? (name: string, v: CapturedTensor) => (actQ.has(name) ? fakeQuantTensor(v.tensor, actQ.get(name)!) : undefined) : undefined;
    const tRanges = performance.now();

    // 2. Weights, layer by layer, on inputs from the already-quantized network.
    const plan: QuantizationPlan = { layers: [], activations: Object.fromEntries(actQ) };
    const reports: LayerReport[] = [];
    for (const [li, ql] of qlayers.entries()) {
      throwIfAborted(signal);
      const node = ql.node;
      const lt0 = performance.now();
      const bits = bitsOf.get(node.name);
      const weight = folded.initializers.get(ql.weightName) as TensorData;
      if (!bits) {
        reports.push({ name: node.name, opType: node.opType, weightBits: null, activationBits: 32, rounding: 'float', scales: [], seconds: 0 });
        onEvent({ type: 'layer', name: node.name, status: 'done' });
        continue;
      }
      onEvent({ type: 'layer', name: node.name, status: 'running', iteration: 0, iterations: cfg.adaround.iterations });
      const lay = weightLayout(node, weight);
      const group = Number(node.attrs.group ?? 1);
      const isConv = node.opType === 'Conv';
      // Grouped/depthwise convs would need one moment set per group: those use nearest rounding for now.
      const momentsUsable = group === 1 && (isConv || node.opType === 'Gemm' || node.opType === 'MatMul');
      const inp = node.inputs[0];
      let moments;
      if (momentsUsable) {
        const acc = new SecondMomentAccumulator(lay.k);
        // Nearest rounding only reports errors from the moments: one batch is enough for that.
        const momentBatches = cfg.rounding === 'nearest' ? batches.slice(0, 1) : batches;
        for (const [bi, b] of momentBatches.entries()) {
          const xf = exec.execute({ [inputName]: b }, { capture: [inp], stopAfterCaptures: true }).captured.get(inp)!;
          const xq = exec.execute({ [inputName]: b }, { capture: [inp], stopAfterCaptures: true, hook, overrides }).captured.get(inp)!;
          const cols = (c: CapturedTensor): tf.Tensor2D =>
            tf.tidy(() => {
              if (!isConv) return c.tensor.reshape([-1, lay.k]) as tf.Tensor2D;
              const nhwc = (c.layout === 'NHWC' ? c.tensor : c.tensor.transpose([0, 2, 3, 1])) as tf.Tensor4D;
              return im2colNHWC(nhwc, convGeometry(node.attrs, weight.dims));
            });
          const cf = cols(xf);
          const cq = cols(xq);
          const idx = sampleRowIndices(cf.shape[0], Math.ceil(cfg.adaround.maxSamples / momentBatches.length), 1000 * li + bi + cfg.seed);
          const [sf, sq] = tf.tidy(() => [tf.gather(cf, idx), tf.gather(cq, idx)] as tf.Tensor2D[]);
          acc.add(sq, sf);
          tf.dispose([xf.tensor, xq.tensor, cf, cq, sf, sq]);
        }
        moments = await acc.result();
        acc.dispose();
      }
      const rounding = momentsUsable ? cfg.rounding : 'nearest';
      const res = await quantizeLayerWeights(node, weight, {
        bits: bits.weightBits,
        perChannel: cfg.perChannel,
        rounding,
        moments: moments ? [moments] : undefined,
        adaround: cfg.adaround,
        signal,
        progressEvery: 50,
        onProgress: (p) => onEvent({ type: 'layer', name: node.name, status: 'running', iteration: p.iteration, iterations: cfg.adaround.iterations, loss: p.loss }),
      });
      const dq = dequantizedWeight(res.codes, res.scales, weight.dims, res.axis);
      overrides.set(ql.weightName, tf.tensor(dq, weight.dims));
      plan.layers.push({ node: node.name, weightCodes: res.codes, weightScales: res.scales, weightBits: bits.weightBits, axis: res.axis });
      let sqnrDb: number | undefined;
      if (moments && res.adaptiveLoss !== undefined) {
        const { rows } = weightAsRows(weight.data as Float32Array, weight.dims, lay.axis);
        const signalEnergy = quadraticTrace(rows, lay.cOut, lay.k, moments.H);
        if (res.adaptiveLoss > 0) sqnrDb = 10 * Math.log10(signalEnergy / res.adaptiveLoss);
      }
      const rep: LayerReport = {
        name: node.name,
        opType: node.opType,
        weightBits: bits.weightBits,
        activationBits: bits.activationBits,
        rounding,
        scales: Array.from(res.scales),
        nearestError: res.nearestLoss,
        adaptiveError: res.adaptiveLoss,
        flippedFraction: res.flippedFraction,
        sqnrDb,
        seconds: (performance.now() - lt0) / 1000,
      };
      reports.push(rep);
      onEvent({ type: 'layer', name: node.name, status: 'done', nearestError: res.nearestLoss, adaptiveError: res.adaptiveLoss });
    }
    const tRound = performance.now();
    // Short internal names: the size of an int8 file is mostly weights, names would add ~10%.
    const qdq = compactNames(buildQdqGraph(folded, plan), new Set(qlayers.map((l) => l.node.name)));
    return {
      folded,
      plan,
      qdq,
      layers: reports,
      activations: Object.fromEntries(actQ),
      seconds: { ranges: (tRanges - t0) / 1000, rounding: (tRound - tRanges) / 1000 },
    };
  } finally {
    exec.dispose();
    tf.dispose([...batches, ...overrides.values()]);
  }
}
