/**
 * The rounding stage with reconstruction 'block': blocks found in the graph (ir/blocks.ts) are rounded
 * one after another, each on the quantized model's output of the blocks before it (BRECQ), matching the
 * float model's block output (algos/blockReconstruction.ts). The same float and quantized value streams
 * as the layer-wise stage carry the calibration batches from block to block, so the cost of the forward
 * walk stays linear in depth; a block's values over all images are gathered once for its optimisation.
 */
import * as tf from '@tensorflow/tfjs';
import { reconstructBlock, type BlockLayer, type BlockValue, type LogitTerm } from '../algos/blockReconstruction.js';
import type { SecondMoments } from '../algos/adaptiveRounding.js';
import { quantizeLayerWeights, weightLayout } from '../algos/layerWeights.js';
import { cancelledError, LocalQuantError, throwIfCancelled } from '../errors.js';
import type { QuantizationPlan } from '../exporters/qdq/qdqOnnxExporter.js';
import { reconstructionBlocks, type ReconstructionBlock } from '../ir/blocks.js';
import { producerOf } from '../ir/graph.js';
import type { Graph, TensorData } from '../ir/types.js';
import type { QuantConfig } from '../quant/config.js';
import { dequantizedWeight } from '../quant/fakeQuant.js';
import type { ActivationQParams } from '../quant/observers.js';
import { qrange } from '../quant/primitives.js';
import type { QuantLayer } from '../quant/quantPoints.js';
import type { GraphExecutor } from '../runtime/executor.js';
import type { ValueStream } from '../runtime/valueStream.js';
import { fakeQuantTensor } from '../quant/fakeQuant.js';
import type { CapturedTensor } from '../runtime/types.js';
import { biasPerChannel } from './biasInputs.js';
import { LayerInputStats } from './layerInputStats.js';
import type { LayerReport } from './quantizeGraph.js';
import type { BlockReport, PipelineEvent } from './types.js';

/** Images per optimisation step (BRECQ and QDrop use 32). */
export const BLOCK_BATCH = 32;
/**
 * Block reconstruction runs far fewer iterations than layer-wise rounding (each one is a forward and
 * backward pass of the block), so Adam's step on V is the layer-wise rate times this. Measured on the
 * first residual block of ResNet-20 (W4A4, 200 iterations, block output error; nearest 0.700):
 * lr 0.01 -> 0.677, 0.04 -> 0.662, 0.1 -> 0.660.
 */
export const BLOCK_LR_FACTOR = 4;
/** QDrop's drop probability. */
export const QDROP_PROBABILITY = 0.5;
/**
 * Images of each mini-batch the logit term is taken on (adaround.blockLogitWeight): the float rest of the
 * network runs forward and backward for them, up to ~9x a block's cost in ResNet-20's first block, so a
 * quarter of the batch keeps the term's cost near the block's own.
 */
export const LOGIT_BATCH = 8;

export interface BlockStageInput {
  folded: Graph;
  exec: GraphExecutor;
  qlayers: QuantLayer[];
  bitsOf: Map<string, { weightBits: number; activationBits: number } | null>;
  /** Bias initializer per layer (pipeline/biasInputs.ts), present when biases are learned. */
  biasNames: Map<string, string>;
  activations: Map<string, ActivationQParams>;
  floatStreams: ValueStream[];
  quantStreams: ValueStream[];
  /** Weight overrides of the quantized streams: each block's dequantized weights are added here. */
  overrides: Map<string, tf.Tensor>;
  cfg: QuantConfig;
  onEvent: (e: PipelineEvent) => void;
  signal?: AbortSignal;
}

export interface BlockStageResult {
  planLayers: QuantizationPlan['layers'];
  /** One per quantizable layer, in execution order. */
  reports: LayerReport[];
  blocks: BlockReport[];
  /** For the report's notes: what the blocks changed beyond the rounding. */
  notes: string[];
}

/** The values `names` of every stream at its current point, cloned and concatenated along the batch. */
function gather(streams: ValueStream[], names: string[]): BlockValue[] {
  const parts = names.map(() => [] as tf.Tensor[]);
  const layouts = names.map(() => 'plain' as BlockValue['layout']);
  for (const s of streams) {
    const got = s.advanceTo(names);
    names.forEach((n, i) => {
      const c = got.get(n)!;
      parts[i].push(tf.clone(c.tensor));
      layouts[i] = c.layout;
    });
  }
  return names.map((name, i) => {
    const tensor = parts[i].length === 1 ? parts[i][0] : tf.concat(parts[i], 0);
    if (parts[i].length > 1) tf.dispose(parts[i]);
    return { name, tensor, layout: layouts[i] };
  });
}

/**
 * The value holding a classifier's logits (the single output, or the input of a final Softmax), for the
 * logit term; a model with several outputs is refused.
 */
function logitValue(graph: Graph): string {
  const outs = graph.outputs.filter((o) => !graph.initializers.has(o.name));
  if (outs.length !== 1) {
    throw new LocalQuantError('BAD_CONFIG', `adaround.blockLogitWeight compares class distributions: this model has ${outs.length} outputs (${outs.map((o) => o.name).join(', ')}), a classifier has one.`, 'Set blockLogitWeight to 0 for this model.');
  }
  const p = producerOf(graph, outs[0].name);
  return p?.opType === 'Softmax' ? p.inputs[0] : outs[0].name;
}

/**
 * The logit term of one block: the float rest of the network from the block's output (a cut: everything
 * later reads it alone) and the float logits on every calibration image. Undefined for a last block whose
 * output is past the logits (a final Softmax): its output error is already on the network's output.
 */
function logitTerm(s: BlockStageInput, block: ReconstructionBlock, targets: BlockValue[], logits: string, weight: number): LogitTerm | undefined {
  const graphOutputs = new Set(s.folded.outputs.map((o) => o.name));
  if (!block.outputs.includes(logits) && block.outputs.some((o) => graphOutputs.has(o))) return undefined;
  const logitsOf = (outs: Map<string, CapturedTensor>): tf.Tensor => {
    if (outs.has(logits)) return outs.get(logits)!.tensor;
    const r = s.exec.execute(new Map(), { start: outs, capture: [logits], stopAfterCaptures: true });
    tf.dispose([...r.outputs.values()]);
    return r.captured.get(logits)!.tensor;
  };
  const n = targets[0].tensor.shape[0];
  const floatLogits = tf.tidy(() => {
    const parts: tf.Tensor[] = [];
    for (let from = 0; from < n; from += MOMENT_CHUNK) {
      const count = Math.min(MOMENT_CHUNK, n - from);
      parts.push(logitsOf(new Map(targets.map((t) => [t.name, { tensor: tf.slice(t.tensor, from, count), layout: t.layout }]))));
    }
    return tf.concat(parts, 0);
  });
  if (floatLogits.rank !== 2) {
    floatLogits.dispose();
    throw new LocalQuantError('BAD_CONFIG', `adaround.blockLogitWeight compares class distributions: '${logits}' has rank ${floatLogits.rank}, not [N, classes].`, 'Set blockLogitWeight to 0 for this model.');
  }
  return { weight, floatLogits, logitsOf, batch: LOGIT_BATCH };
}

/** Per layer with a learned bias: how far it moved (RMS of the shift over channels), for the report. */
function biasShifts(names: string[], layers: BlockLayer[], learned: (Float32Array | undefined)[]): { layer: string; rmsShift: number; rmsBias: number }[] {
  const out: { layer: string; rmsShift: number; rmsBias: number }[] = [];
  layers.forEach((l, i) => {
    const b = learned[i];
    if (!b || !l.bias) return;
    let d = 0;
    let v = 0;
    for (let c = 0; c < b.length; c++) {
      d += (b[c] - l.bias.values[c]) ** 2;
      v += l.bias.values[c] ** 2;
    }
    out.push({ layer: names[i], rmsShift: Math.sqrt(d / b.length), rmsBias: Math.sqrt(v / b.length) });
  });
  return out;
}

/** Per layer with learned weight scales: the smallest and largest learned / calibrated ratio, for the report. */
function scaleRatios(names: string[], layers: BlockLayer[], learned: Float32Array[]): { layer: string; minRatio: number; maxRatio: number }[] {
  return layers.map((l, i) => {
    const r = Array.from(learned[i], (s, c) => s / l.scales[c]);
    return { layer: names[i], minRatio: Math.min(...r), maxRatio: Math.max(...r) };
  });
}

/** Images per executor run when the block's layer inputs are captured for their second moments. */
const MOMENT_CHUNK = 64;

/**
 * Second moments of each layer's input inside the block (float x from the float model's block inputs,
 * x~ from the quantized model's through the block with its weights still float and its activation grids
 * on, as layer-wise rounding sees a block's first layer): they choose each layer's weight scales by its
 * output error, as in layer-wise quantization (algos/outputErrorScales.ts).
 */
async function blockLayerMoments(s: BlockStageInput, layers: string[], quantizedInputs: BlockValue[], floatInputs: BlockValue[], seed: number): Promise<Map<string, SecondMoments[]>> {
  const byName = new Map(s.qlayers.map((l) => [l.node.name, l]));
  const n = quantizedInputs[0].tensor.shape[0];
  const chunks = Math.ceil(n / MOMENT_CHUNK);
  const stats = layers.map((name) => {
    const ql = byName.get(name)!;
    const w = s.folded.initializers.get(ql.weightName)!;
    const lay = weightLayout(ql.node, w);
    return new LayerInputStats(ql.node, w.dims, lay.k, lay.groups, Math.ceil(s.cfg.adaround.maxSamples / chunks), false);
  });
  const inputsOf = layers.map((name) => byName.get(name)!.node.inputs[0]);
  const hook = (name: string, v: CapturedTensor) => (s.activations.has(name) ? fakeQuantTensor(v.tensor, s.activations.get(name)!) : undefined);
  const run = (values: BlockValue[], from: number, count: number, quantized: boolean) => {
    const start = new Map(values.map((v) => [v.name, { tensor: tf.slice(v.tensor, from, count), layout: v.layout }] as const));
    try {
      const r = s.exec.execute(new Map(), { start, capture: inputsOf, stopAfterCaptures: true, ...(quantized ? { hook, hookValues: [...s.activations.keys()] } : {}) });
      tf.dispose([...r.outputs.values()]);
      return r.captured;
    } finally {
      for (const c of start.values()) c.tensor.dispose();
    }
  };
  try {
    for (let c = 0; c < chunks; c++) {
      const from = c * MOMENT_CHUNK;
      const count = Math.min(MOMENT_CHUNK, n - from);
      const xf = run(floatInputs, from, count, false);
      const xq = run(quantizedInputs, from, count, true);
      try {
        stats.forEach((st, i) => st.add(xf.get(inputsOf[i])!, xq.get(inputsOf[i])!, seed + 1000 * i + c));
      } finally {
        tf.dispose([...xf.values(), ...xq.values()].map((v) => v.tensor));
      }
    }
    const out = new Map<string, SecondMoments[]>();
    for (const [i, st] of stats.entries()) out.set(layers[i], (await st.result()).moments!);
    return out;
  } finally {
    for (const st of stats) st.dispose();
  }
}

export async function quantizeByBlocks(s: BlockStageInput): Promise<BlockStageResult> {
  const { cfg, onEvent, folded } = s;
  const quantized = s.qlayers.filter((l) => s.bitsOf.get(l.node.name));
  const byName = new Map(s.qlayers.map((l) => [l.node.name, l]));
  const blocks = reconstructionBlocks(folded, quantized.map((l) => l.node.name));
  onEvent({ type: 'blocks', version: 1, blocks: blocks.map((b) => ({ name: b.name, layers: b.layers })) });
  const planLayers: QuantizationPlan['layers'] = [];
  const reports = new Map<string, LayerReport>();
  const blockReports: BlockReport[] = [];
  const dropProbability = cfg.qdrop ? QDROP_PROBABILITY : 0;
  const logitWeight = cfg.adaround.blockLogitWeight;
  const logits = logitWeight > 0 ? logitValue(folded) : undefined;
  for (const [bi, block] of blocks.entries()) {
    throwIfCancelled(s.signal);
    const bt0 = performance.now();
    onEvent({ type: 'block', version: 1, name: block.name, index: bi, status: 'running', iteration: 0, iterations: cfg.adaround.iterations });
    for (const name of block.layers) onEvent({ type: 'layer', name, status: 'running', iteration: 0, iterations: cfg.adaround.iterations });
    const quantizedInputs = gather(s.quantStreams, block.inputs);
    const floatInputs = gather(s.floatStreams, block.inputs);
    const targets = gather(s.floatStreams, block.outputs);
    const layers: BlockLayer[] = [];
    let term: LogitTerm | undefined;
    const scaleMethods: LayerReport['weightScale'][] = [];
    try {
      const moments = await blockLayerMoments(s, block.layers, quantizedInputs, floatInputs, cfg.seed + 100_000 * bi);
      for (const name of block.layers) {
        const ql = byName.get(name)!;
        const weight = folded.initializers.get(ql.weightName) as TensorData;
        const bits = s.bitsOf.get(name)!.weightBits;
        // scales (clip chosen as layer-wise quantization chooses it), nearest codes, and the layer-wise
        // adaptive codes the block starts from
        const own = { bits, perChannel: cfg.perChannel, moments: moments.get(name) };
        const near = await quantizeLayerWeights(ql.node, weight, { ...own, rounding: 'nearest' });
        // (0 iterations: start from the float weights, as BRECQ)
        const startIterations = cfg.adaround.blockStartIterations;
        const layerWise = startIterations > 0 ? await quantizeLayerWeights(ql.node, weight, { ...own, rounding: 'adaptive', adaround: { ...cfg.adaround, iterations: startIterations }, signal: s.signal }) : undefined;
        scaleMethods.push(near.scaleMethod);
        const { qmin, qmax } = qrange(bits, true);
        const biasName = cfg.adaround.blockBiasLr > 0 ? s.biasNames.get(name) : undefined;
        const bias = biasName ? { name: biasName, values: biasPerChannel(folded, biasName, weight.dims[near.axis]) } : undefined;
        layers.push({ weightName: ql.weightName, weights: weight.data as Float32Array, dims: weight.dims, axis: near.axis, scales: near.scales, qmin, qmax, nearest: near.codes, ...(layerWise ? { initial: layerWise.codes } : {}), ...(bias ? { bias } : {}) });
      }
      term = logits ? logitTerm(s, block, targets, logits, logitWeight) : undefined;
      const res = await reconstructBlock(s.exec, layers, { quantizedInputs, floatInputs, targets }, {
        iterations: cfg.adaround.iterations,
        batch: BLOCK_BATCH,
        lr: cfg.adaround.lr * BLOCK_LR_FACTOR,
        lambda: cfg.adaround.lambda,
        betaStart: cfg.adaround.betaStart,
        betaEnd: cfg.adaround.betaEnd,
        warmup: cfg.adaround.warmup,
        activations: s.activations,
        dropProbability,
        activationLr: cfg.adaround.blockActivationLr,
        biasLr: cfg.adaround.blockBiasLr,
        weightScaleLr: cfg.adaround.blockWeightScaleLr,
        ...(term ? { logits: term } : {}),
        seed: cfg.seed * 1000 + bi,
        signal: s.signal,
        onProgress: (p) => {
          onEvent({ type: 'block', version: 1, name: block.name, index: bi, status: 'running', iteration: p.iteration, iterations: cfg.adaround.iterations, loss: p.loss, recLoss: p.recLoss });
          // the block's layers advance with it (layer rows and the stage's time estimate)
          for (const name of block.layers) onEvent({ type: 'layer', name, status: 'running', iteration: p.iteration, iterations: cfg.adaround.iterations, loss: p.loss });
        },
      });
      const seconds = (performance.now() - bt0) / 1000;
      // learned grids: the values downstream (quantized streams) and the export read them from here
      const learnedScales = res.learnedActivations ? [...res.learnedActivations].map(([value, p]) => ({ value, calibrated: s.activations.get(value)!.scale, learned: p.scale })) : undefined;
      for (const [value, p] of res.learnedActivations ?? []) s.activations.set(value, p);
      block.layers.forEach((name, li) => {
        const l = layers[li];
        const bits = s.bitsOf.get(name)!;
        const scales = res.learnedWeightScales?.[li] ?? l.scales;
        const dq = dequantizedWeight(res.codes[li], scales, l.dims, l.axis);
        s.overrides.get(l.weightName)?.dispose();
        s.overrides.set(l.weightName, tf.tensor(dq, l.dims));
        const learnedBias = res.learnedBiases?.[li];
        if (learnedBias && l.bias) {
          s.overrides.get(l.bias.name)?.dispose();
          s.overrides.set(l.bias.name, tf.tensor1d(learnedBias));
        }
        planLayers.push({ node: name, weightCodes: res.codes[li], weightScales: scales, weightBits: bits.weightBits, axis: l.axis, ...(learnedBias ? { bias: learnedBias } : {}) });
        reports.set(name, {
          name, opType: byName.get(name)!.node.opType, weightBits: bits.weightBits, activationBits: bits.activationBits,
          rounding: res.kept === 'nearest' ? 'nearest' : 'adaptive', scales: Array.from(scales), weightScale: scaleMethods[li], flippedFraction: res.flippedFraction[li], block: block.name,
          seconds: seconds / block.layers.length,
        });
        onEvent({ type: 'layer', name, status: 'done' });
      });
      blockReports.push({
        name: block.name, layers: block.layers, inputs: block.inputs, outputs: block.outputs, iterations: cfg.adaround.iterations, batch: BLOCK_BATCH,
        qdrop: dropProbability, ...(term ? { logitTerm: { weight: term.weight, klWeight: res.klWeight ?? 0, batch: term.batch } } : {}), nearestError: res.nearestError, blockError: res.blockError, ...(res.initialError !== undefined ? { layerWiseError: res.initialError } : {}), kept: res.kept, seconds,
        ...(learnedScales ? { activationScales: learnedScales, calibratedGridError: res.calibratedGridError } : {}),
        ...(res.learnedBiases ? { learnedBiases: biasShifts(block.layers, layers, res.learnedBiases), originalBiasError: res.originalBiasError } : {}),
        ...(res.learnedWeightScales ? { learnedWeightScales: scaleRatios(block.layers, layers, res.learnedWeightScales), calibratedWeightScaleError: res.calibratedWeightScaleError } : {}),
      });
      onEvent({ type: 'block', version: 1, name: block.name, index: bi, status: 'done', nearestError: res.nearestError, blockError: res.blockError });
    } catch (e) {
      // layer-wise rounding throws the signal's reason when cancelled
      throw s.signal?.aborted ? cancelledError() : e;
    } finally {
      tf.dispose([...quantizedInputs, ...floatInputs, ...targets].map((v) => v.tensor));
      term?.floatLogits.dispose();
    }
  }
  const ordered = s.qlayers.map(
    (l) => reports.get(l.node.name) ?? { name: l.node.name, opType: l.node.opType, weightBits: null, activationBits: 32, rounding: 'float' as const, scales: [], seconds: 0 },
  );
  const learned = blockReports.filter((b) => b.activationScales);
  const notes = learned.length
    ? [`Block reconstruction learned the step sizes of ${learned.reduce((a, b) => a + b.activationScales!.length, 0)} activation grid(s) in ${learned.length} of ${blockReports.length} blocks, where they fit the block output better than the calibrated grids; the export uses them (report blocks[].activationScales).`]
    : [];
  const biased = blockReports.filter((b) => b.learnedBiases);
  if (cfg.adaround.blockBiasLr > 0) {
    notes.push(`Block reconstruction learned the biases of ${biased.reduce((a, b) => a + b.learnedBiases!.length, 0)} layer(s) in ${biased.length} of ${blockReports.length} blocks, where they fit the block output better than the float biases (report blocks[].learnedBiases); the export uses them.`);
  }
  if (cfg.adaround.blockWeightScaleLr > 0) {
    const scaled = blockReports.filter((b) => b.learnedWeightScales);
    notes.push(`Block reconstruction learned the weight scales of ${scaled.reduce((a, b) => a + b.learnedWeightScales!.length, 0)} layer(s) in ${scaled.length} of ${blockReports.length} blocks, where they fit the block output better than the calibrated scales (report blocks[].learnedWeightScales); the export uses them.`);
  }
  return { planLayers, reports: ordered, blocks: blockReports, notes };
}
