/**
 * The quantization stage: BN-folded graph + calibration images -> QuantizationPlan (integer weights,
 * activation grids) and its QDQ ONNX graph. Layer by layer in execution order, each layer's rounding is
 * chosen on inputs from the already-quantized layers before it (x~) against the float inputs (x), through
 * the second moments G, C, H of the sampled im2col columns (docs/method.md, step 2); grouped and
 * depthwise convs get one moment set per group. With bias correction, each layer's bias is then
 * corrected on the same batches before the next layer's inputs are computed.
 *
 * Cost is linear in depth: per batch, a float stream and a quantized stream (runtime/valueStream.ts)
 * advance through the schedule once, each step running only the nodes up to the next layer's input.
 */
import * as tf from '@tensorflow/tfjs';
import { quantizeLayerWeights, weightLayout, type LayerScaleMethod } from '../algos/layerWeights.js';
import { correctedLayerBias } from '../algos/biasCorrection.js';
import { addBiasInputs, biasPerChannel } from './biasInputs.js';
import { LocalQuantError } from '../errors.js';
import { buildQdqGraph, type QdqOptions, type QuantizationPlan } from '../exporters/qdq/qdqOnnxExporter.js';
import { deploymentTargetNotes, floatWeightNote, qdqOptionsForTarget } from '../exporters/qdq/deploymentTargets.js';
import { compactNames } from '../ir/passes/compactNames.js';
import { inferenceForm } from '../ir/passes/inferenceForm.js';
import type { Graph, TensorData } from '../ir/types.js';
import { weightAsRows } from '../quant/weightScale.js';
import { depthwiseInputKeeps8bit, depthwiseKeeps8bit, layerBits, type QuantConfig } from '../quant/config.js';
import { dequantizedWeight, fakeQuantTensor } from '../quant/fakeQuant.js';
import { RangeHistogram, type ActivationQParams } from '../quant/observers.js';
import { quantizableLayers, type QuantLayer } from '../quant/quantPoints.js';
import { activationGrids, activationPlacement, placeActivationGrids } from '../quant/activationGrids.js';
import { GraphExecutor } from '../runtime/executor.js';
import { asOutOfMemory, chooseBatch, memoryBudget, tryActivationBytesPerImage } from '../runtime/memoryBudget.js';
import type { CapturedTensor } from '../runtime/types.js';
import { GraphWalk, ValueStream } from '../runtime/valueStream.js';
import { activationFallback, floatOutputChains, type ActivationFallback } from './activationFallback.js';
import { FLOAT_ACTIVATIONS_BELOW_DB, hasEightBitGrids } from './defaults.js';
import { disposeTapped, executorTap, ortTap } from './floatValueTap.js';
import { LayerInputStats } from './layerInputStats.js';
import { equalizeGraph, type EqualizationReport } from './equalize.js';
import { quantizeByBlocks } from './quantizeBlocks.js';
import type { BlockReport, PipelineEvent } from './types.js';
import type { OrtLike } from '../verify/ortLike.js';

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
  /** Bias correction was applied to this layer (its exported bias is the corrected one). */
  biasCorrected?: boolean;
  /** Reconstruction 'block': the block whose joint optimisation chose this layer's rounding. */
  block?: string;
  /** How the weight scales were clipped: 'output' = by the layer's output error on the calibration moments (algos/outputErrorScales.ts). */
  weightScale?: LayerScaleMethod;
  seconds: number;
}

export interface QuantizeGraphResult {
  folded: Graph;
  plan: QuantizationPlan;
  qdq: Graph;
  layers: LayerReport[];
  activations: Record<string, ActivationQParams>;
  /** ranges: the range pass (histograms, grids); channelNoise: the channel-noise rule's pass (activationFallback.ts). */
  seconds: { ranges: number; channelNoise: number; rounding: number; equalization?: number };
  /** Images per batch actually used (the memory budget may lower the requested one). */
  batch: number;
  /** What the run applied differently from what was asked (for the report's notes). */
  notes: string[];
  /** Reconstruction 'block': the blocks as optimised. */
  blocks?: BlockReport[];
  /** Activations kept float by the channel-noise rule (pipeline/activationFallback.ts) and the detector-output rule (quant/outputChains.ts), and every point's figure. */
  activationFallback: ActivationFallback;
  /** What ran the forward-only float passes (activation ranges, channel-noise rule). */
  forwardEngine: string;
  /** Cross-layer equalization as applied (quant config `equalization`). */
  equalization?: EqualizationReport;
}

const BATCH = 64;

function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new LocalQuantError('CANCELLED', 'The run was cancelled.');
}

function batchesOf(cal: CalibrationSet, batch: number): tf.Tensor[] {
  const n = cal.shape[0];
  const per = cal.shape.slice(1).reduce((a, b) => a * b, 1);
  const out: tf.Tensor[] = [];
  for (let s = 0; s < n; s += batch) {
    const m = Math.min(batch, n - s);
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

export interface QuantizeGraphOptions {
  /** Images per batch for ranges and moments (default 64); lowered to fit the backend's memory budget. */
  batch?: number;
  /**
   * An activation whose 8-bit grid leaves some output channel of a conv reading it below this SQNR (dB)
   * keeps float (pipeline/activationFallback.ts); null: every activation point is quantized.
   * Default FLOAT_ACTIVATIONS_BELOW_DB.
   */
  floatActivationsBelowDb?: number | null;
  /**
   * A detector: the values its post-processing compares (graph outputs, the float tail's inputs) keep
   * float, with the activations that reach them through per-value ops (quant/outputChains.ts). Default false.
   */
  floatOutputs?: boolean;
  /**
   * Runs the forward-only float passes (activation ranges, the channel-noise rule) instead of our executor
   * (pipeline/floatValueTap.ts); the CLI passes onnxruntime-node. Rounding still runs our executor: it
   * needs the fake-quantized network.
   */
  forwardRuntime?: OrtLike;
  /**
   * Float layers keep int8 weights behind DequantizeLinear whatever the target (a size budget was planned on
   * those sizes); default: the target's form (qdqOptionsForTarget).
   */
  integerWeightsOnly?: boolean;
  /** Whether the ONNX export is written (default true); without it the target's notes are left out (a TF.js-only run has no ONNX target). */
  onnxExport?: boolean;
}

/**
 * Quantizes with the batch the memory budget allows (calibration and rounding hold one batch's
 * activations at a time; batches waiting at a layer move to host memory when they do not fit), and
 * turns a memory failure into OUT_OF_MEMORY with what to do.
 */
export async function quantizeGraph(
  graph: Graph,
  calibration: CalibrationSet,
  cfg: QuantConfig,
  onEvent: (e: PipelineEvent) => void = () => {},
  signal?: AbortSignal,
  options: QuantizeGraphOptions = {},
): Promise<QuantizeGraphResult> {
  const budget = memoryBudget();
  const perImage = tryActivationBytesPerImage(graph, { [graph.inputs[0].name]: calibration.shape.slice(1) });
  const choice = chooseBatch({ perImage, budget, purpose: 'calibration', requested: options.batch ?? BATCH });
  try {
    const floatBelowDb = options.floatActivationsBelowDb === undefined ? FLOAT_ACTIVATIONS_BELOW_DB : options.floatActivationsBelowDb;
    const r = await quantizeInBatches(graph, calibration, cfg, onEvent, signal, {
      batch: choice.batch,
      budgetBytes: budget.bytes,
      floatBelowDb,
      forwardRuntime: options.forwardRuntime,
      floatOutputs: options.floatOutputs ?? false,
      integerWeightsOnly: options.integerWeightsOnly ?? false,
      onnxExport: options.onnxExport ?? true,
    });
    if (choice.reduced) r.notes.unshift(`Calibration ${choice.reduced}.`);
    return r;
  } catch (e) {
    throw asOutOfMemory(e, 'calibration', choice.batch);
  }
}

/** QuantizeGraphOptions with the defaults applied, plus the batch and memory budget chosen. */
interface BatchRun {
  batch: number;
  budgetBytes: number;
  floatBelowDb: number | null;
  forwardRuntime: OrtLike | undefined;
  floatOutputs: boolean;
  integerWeightsOnly: boolean;
  onnxExport: boolean;
}

async function quantizeInBatches(
  graph: Graph,
  calibration: CalibrationSet,
  cfg: QuantConfig,
  onEvent: (e: PipelineEvent) => void,
  signal: AbortSignal | undefined,
  run: BatchRun,
): Promise<QuantizeGraphResult> {
  const { batch, budgetBytes, floatBelowDb, forwardRuntime, floatOutputs, integerWeightsOnly } = run;
  const t0 = performance.now();
  const inference = inferenceForm(graph);
  const layerPositions = quantizableLayers(inference);
  if (layerPositions.length === 0) throw new LocalQuantError('BAD_INPUT', 'The model has no Conv, Gemm or MatMul layer with constant weights: there is nothing to quantize.');
  const bitsOf = new Map(layerPositions.map((l) => [l.node.name, layerBits(cfg, l.node.name, l)]));
  // Which values get grids depends on the graph's structure alone, not on the weights equalization rewrites;
  // low-bit layers get their own copy of a value others read too (quant/layerInputSplit.ts).
  const placement = activationPlacement(cfg);
  const { graph: folded, copies, spec } = placeActivationGrids(inference, cfg, bitsOf, placement);
  const qlayers = quantizableLayers(folded);
  const floatLayers = new Set(qlayers.filter((l) => bitsOf.get(l.node.name) === null).map((l) => l.node.name));
  // bias correction and bias learning write a bias per layer: every quantized Conv/Gemm gets one
  const biasNames = cfg.biasCorrection || (cfg.reconstruction === 'block' && cfg.adaround.blockBiasLr > 0) ? addBiasInputs(folded, qlayers.filter((l) => !floatLayers.has(l.node.name))) : new Map<string, string>();
  onEvent({
    type: 'layers',
    layers: qlayers.map((l) => ({ name: l.node.name, opType: l.node.opType, weightBits: bitsOf.get(l.node.name)?.weightBits ?? 32, activationBits: bitsOf.get(l.node.name)?.activationBits ?? 32 })),
  });

  const inputName = folded.inputs[0].name;
  const batches = batchesOf(calibration, batch);
  // Equalization rewrites weights: it runs before the executor uploads them, on a float pass of its own.
  let equalization: EqualizationReport | undefined;
  try {
    equalization = cfg.equalization ? await equalizeBeforeQuantization(folded, batches, cfg, spec.owners, forwardRuntime, signal) : undefined;
  } catch (e) {
    tf.dispose(batches); // the try below, which frees them otherwise, has not begun
    throw e;
  }
  const tEqualized = performance.now();
  const exec = new GraphExecutor(folded);
  const tap = forwardRuntime ? ortTap(folded, forwardRuntime) : executorTap(exec, `LocalQuant executor (tfjs ${tf.getBackend()})`);
  const overrides = new Map<string, tf.Tensor>();
  const streams: ValueStream[] = [];
  const notes: string[] = [];
  if (equalization) notes.push(`Cross-layer equalization: ${equalization.rescaled} of ${equalization.groups} channel groups rescaled across ${equalization.layers} layers (largest factor ${equalization.maxFactor.toFixed(1)}); the float network computes the same function.`);
  try {
    // 1. Activation ranges on the float network (quant/activationGrids.ts: which values, how many bits).
    if (placement === 'layer-inputs' && cfg.activationBits < 32) notes.push(`Activation grids at layer inputs only (${cfg.activationBits < 8 ? `${cfg.activationBits}-bit activations have no integer kernel in ONNX Runtime` : 'target "smallest" is about size'}): fewer requantizations, so better accuracy; integer-kernel placement is used for 8-bit activations on the ort targets.`);
    if (copies.size) notes.push(`${copies.size} value(s) read by layers below 8 bits and by something else (a skip connection, a pool, an 8-bit layer) keep ${cfg.activationBits >= 32 ? 'float' : '8 bits'} for those other readers; the low-bit layers read a low-bit copy (activationBitsAt "layer-inputs").`);
    const hists = new Map(spec.owners.map((n) => [n, new RangeHistogram()]));
    for (const b of batches) {
      throwIfAborted(signal);
      const captured = await tap.values(b, spec.owners);
      try {
        for (const [n, v] of captured) hists.get(n)!.observe(await v.data());
      } finally {
        disposeTapped(captured);
      }
    }
    const actQ = activationGrids(spec, hists, cfg);
    const tGrids = performance.now();
    // the rule judges the 8-bit grids a config asks for; a rule's 8-bit grid at A4 (depthwise inputs) is not judged
    const fallback = await activationFallback(folded, tap, batches, actQ, spec.shareWith, hasEightBitGrids(cfg) ? floatBelowDb : null, signal);
    for (const f of fallback.float) actQ.delete(f.value);
    if (fallback.float.length) notes.push(`${fallback.float.length} activation(s) kept float: their 8-bit grid would drown a channel that a conv reads on its own (below ${floatBelowDb} dB at its worst output channel; report floatActivations).`);
    if (floatOutputs) {
      const outputs = floatOutputChains(folded, actQ);
      fallback.float.push(...outputs);
      if (outputs.length) notes.push(`${outputs.length} activation(s) on the way to the detector's outputs kept float: post-processing compares them (peak tests, score thresholds), and a grid makes ties and rounds scores across the threshold (report floatActivations).`);
    }
    const hook = actQ.size ? (name: string, v: CapturedTensor) => (actQ.has(name) ? fakeQuantTensor(v.tensor, actQ.get(name)!) : undefined) : undefined;
    const tRanges = performance.now();

    // 2. Weights, layer by layer, on inputs from the already-quantized network: per batch, a float and a
    // quantized stream wait at the current layer's input.
    const walk = new GraphWalk(folded);
    const inputLayout = (t: tf.Tensor) => (t.rank === 4 ? 'NCHW' : 'plain') as CapturedTensor['layout'];
    const floatStreams = batches.map((b) => new ValueStream(exec, walk, new Map([[inputName, { tensor: tf.clone(b), layout: inputLayout(b) }]])));
    streams.push(...floatStreams);
    const inputQ = actQ.get(inputName);
    const quantStreams = batches.map(
      (b) => new ValueStream(exec, walk, new Map([[inputName, { tensor: inputQ ? fakeQuantTensor(b, inputQ) : tf.clone(b), layout: inputLayout(b) }]]), { hook, hookValues: [...actQ.keys()], overrides }),
    );
    streams.push(...quantStreams);
    tf.dispose(batches); // the streams hold their own copies

    const plan: QuantizationPlan = { layers: [], activations: Object.fromEntries(actQ) };
    const reports: LayerReport[] = [];
    let blocks: BlockReport[] | undefined;
    if (cfg.reconstruction === 'block') {
      const r = await quantizeByBlocks({ folded, exec, qlayers, bitsOf, biasNames, activations: actQ, floatStreams, quantStreams, overrides, cfg, onEvent, signal });
      plan.layers.push(...r.planLayers);
      plan.activations = Object.fromEntries(actQ); // with the step sizes the blocks learned
      reports.push(...r.reports);
      notes.push(...r.notes);
      blocks = r.blocks;
    }
    for (const [li, ql] of cfg.reconstruction === 'block' ? [] : qlayers.entries()) {
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
      const biasName = biasNames.get(node.name);
      // Nearest rounding only reports errors from the moments: one batch is enough for that; bias
      // correction needs the means over every batch.
      const momentBatches = cfg.rounding === 'nearest' ? 1 : batches.length;
      const statBatches = biasName ? batches.length : momentBatches;
      const stats = new LayerInputStats(node, weight.dims, lay.k, lay.groups, Math.ceil(cfg.adaround.maxSamples / momentBatches), !!biasName);
      let inputs;
      try {
        for (let bi = 0; bi < statBatches; bi++) {
          throwIfAborted(signal);
          const xf = floatStreams[bi].advanceTo([node.inputs[0]]).get(node.inputs[0])!;
          const xq = quantStreams[bi].advanceTo([node.inputs[0]]).get(node.inputs[0])!;
          // the moments of the first momentBatches batches; later ones only feed the means
          stats.add(xf, xq, 1000 * li + bi + cfg.seed, bi < momentBatches);
          // batches waiting for the next layer leave the backend when they would crowd it
          if (batches.length > 1 && streams.reduce((a, st) => a + st.heldBytes(), 0) > budgetBytes) {
            await floatStreams[bi].offload();
            await quantStreams[bi].offload();
          }
        }
        inputs = await stats.result();
      } finally {
        stats.dispose();
      }
      const moments = inputs.moments;
      const res = await quantizeLayerWeights(node, weight, {
        bits: bits.weightBits,
        perChannel: cfg.perChannel,
        rounding: cfg.rounding,
        moments,
        adaround: cfg.adaround,
        signal,
        progressEvery: 50,
        onProgress: (p) => onEvent({ type: 'layer', name: node.name, status: 'running', iteration: p.iteration, iterations: cfg.adaround.iterations, loss: p.loss }),
      });
      const dq = dequantizedWeight(res.codes, res.scales, weight.dims, res.axis);
      overrides.set(ql.weightName, tf.tensor(dq, weight.dims));
      const layerPlan: QuantizationPlan['layers'][number] = { node: node.name, weightCodes: res.codes, weightScales: res.scales, weightBits: bits.weightBits, axis: res.axis };
      // the float weight as C_out x K rows, for bias correction and the SQNR (one transposed copy at most)
      const rows = biasName || moments ? weightAsRows(weight.data as Float32Array, weight.dims, lay.axis).rows : new Float32Array(0);
      if (biasName && inputs.meanXq) {
        const bias = correctedLayerBias({
          rows,
          quantRows: weightAsRows(dq, weight.dims, lay.axis).rows,
          cOut: lay.cOut,
          groups: lay.groups,
          inputMean: inputs.meanXq,
          bias: biasPerChannel(folded, biasName, lay.cOut),
          alpha: node.opType === 'Gemm' ? Number(node.attrs.alpha ?? 1) : 1,
          beta: node.opType === 'Gemm' ? Number(node.attrs.beta ?? 1) : 1,
        });
        overrides.get(biasName)?.dispose();
        overrides.set(biasName, tf.tensor(bias, [lay.cOut]));
        layerPlan.bias = bias;
      }
      plan.layers.push(layerPlan);
      let sqnrDb: number | undefined;
      if (moments && res.adaptiveLoss !== undefined) {
        const per = (lay.cOut / lay.groups) * lay.k;
        const signalEnergy = moments.reduce((a, m, g) => a + quadraticTrace(rows.subarray(g * per, (g + 1) * per), lay.cOut / lay.groups, lay.k, m.H), 0);
        if (res.adaptiveLoss > 0) sqnrDb = 10 * Math.log10(signalEnergy / res.adaptiveLoss);
      }
      const rep: LayerReport = {
        name: node.name,
        opType: node.opType,
        weightBits: bits.weightBits,
        activationBits: bits.activationBits,
        rounding: cfg.rounding,
        weightScale: res.scaleMethod,
        scales: Array.from(res.scales),
        nearestError: res.nearestLoss,
        adaptiveError: res.adaptiveLoss,
        flippedFraction: res.flippedFraction,
        sqnrDb,
        ...(cfg.biasCorrection ? { biasCorrected: !!layerPlan.bias } : {}),
        seconds: (performance.now() - lt0) / 1000,
      };
      reports.push(rep);
      onEvent({ type: 'layer', name: node.name, status: 'done', nearestError: res.nearestLoss, adaptiveError: res.adaptiveLoss });
    }
    // The report gives the grid each layer's input got, not the bits asked for: a value read by several layers
    // takes the narrowest of their bits, and the channel-noise rule may have kept it float.
    const inputOf = new Map(qlayers.map((l) => [l.node.name, l.node.inputs[0]]));
    for (const r of reports) if (r.weightBits !== null) r.activationBits = actQ.get(inputOf.get(r.name)!)?.bits ?? 32;
    notes.push(...depthwiseNotes(qlayers, bitsOf, reports, cfg));
    const uncorrected = reports.filter((r) => r.biasCorrected === false).map((r) => r.name);
    if (uncorrected.length) notes.push(`Bias correction not applied to ${uncorrected.join(', ')} (no bias input: MatMul, or a computed bias).`);
    const tRound = performance.now();
    // Short internal names: the size of an int8 file is mostly weights, names would add ~10%.
    // under a size budget float layers keep int8 weights: the budget was planned on those sizes (exportSizeTable.ts)
    const qdqOptions: QdqOptions = { ...qdqOptionsForTarget(cfg.target), ...(integerWeightsOnly ? { floatInputWeights: 'int8' as const } : {}) };
    const qdq = compactNames(buildQdqGraph(folded, plan, qdqOptions), new Set(qlayers.map((l) => l.node.name)));
    if (run.onnxExport) notes.push(...deploymentTargetNotes(cfg.target, plan, folded), ...floatWeightNote(plan, folded, qdqOptions));
    return {
      folded,
      plan,
      qdq,
      layers: reports,
      activations: Object.fromEntries(actQ),
      seconds: { ranges: (tGrids - tEqualized) / 1000, channelNoise: (tRanges - tGrids) / 1000, rounding: (tRound - tRanges) / 1000, ...(equalization ? { equalization: (tEqualized - t0) / 1000 } : {}) },
      batch,
      notes,
      activationFallback: fallback,
      forwardEngine: tap.engine,
      ...(equalization ? { equalization } : {}),
      ...(blocks ? { blocks } : {}),
    };
  } finally {
    for (const s of streams) s.dispose();
    await tap.dispose();
    exec.dispose();
    tf.dispose([...batches, ...overrides.values()]);
  }
}

/** Cross-layer equalization of `folded` in place, measured on a float pass of the unequalized graph. */
async function equalizeBeforeQuantization(
  folded: Graph,
  batches: tf.Tensor[],
  cfg: QuantConfig,
  points: string[],
  forwardRuntime: OrtLike | undefined,
  signal: AbortSignal | undefined,
): Promise<EqualizationReport> {
  const exec = forwardRuntime ? undefined : new GraphExecutor(folded);
  const tap = forwardRuntime ? ortTap(folded, forwardRuntime) : executorTap(exec!, 'equalization pass');
  try {
    return await equalizeGraph(folded, tap, batches, points, cfg, signal);
  } finally {
    await tap.dispose();
    exec?.dispose();
  }
}

/** Notes on the depthwise rules (quant/config.ts), naming the layers they applied to. */
function depthwiseNotes(qlayers: QuantLayer[], bitsOf: Map<string, { weightBits: number; activationBits: number } | null>, reports: LayerReport[], cfg: QuantConfig): string[] {
  const list = (names: string[]) => `${names.length} layer(s), ${names.slice(0, 3).join(', ')}${names.length > 3 ? ', ...' : ''}`;
  const notes: string[] = [];
  const dw8 = qlayers.filter((l) => depthwiseKeeps8bit(cfg.weightBits, l) && (bitsOf.get(l.node.name)?.weightBits ?? 0) >= 7).map((l) => l.node.name);
  if (dw8.length) notes.push(`Depthwise layers keep 8-bit weights (${cfg.weightBits}-bit grids cannot follow a filter of kh*kw taps per channel; quant/config.ts depthwiseKeeps8bit): ${list(dw8)}; a per-layer override sets them otherwise.`);
  const applied = new Map(reports.map((r) => [r.name, r.activationBits]));
  const in8 = qlayers.filter((l) => depthwiseInputKeeps8bit(cfg.activationBits, l) && bitsOf.get(l.node.name)?.activationBits === 8 && applied.get(l.node.name) === 8).map((l) => l.node.name);
  if (in8.length) notes.push(`Depthwise layers keep 8-bit inputs (each output channel reads one input channel, which a per-tensor ${cfg.activationBits}-bit grid leaves a few levels; quant/config.ts depthwiseInputKeeps8bit): ${list(in8)}; a per-layer activationBits override sets them otherwise.`);
  return notes;
}
