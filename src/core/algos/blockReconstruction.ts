/**
 * Block reconstruction (BRECQ, with QDrop as an option): the rounding of every weight layer of a block is
 * optimised jointly so that the block's output on the quantized model's inputs matches the float model's
 * output:
 *
 *   W~_l = s_l * clamp(floor(W_l / s_l) + h(V_l), qmin, qmax),   h(V) = clip(sigmoid(V) * 1.2 - 0.1, 0, 1)
 *   minimize  E[ sum_c (f~(x~) - f(x))^2 ]  +  lambda * sum_l sum(1 - |2 h(V_l) - 1|^beta)
 *
 * where f is the block run by the executor (its differentiable ops, the weights as overrides), f~ the same
 * block with its activation grids applied by fake quantization with a straight-through gradient, x~ the
 * quantized model's block input and f(x) the float model's block output; the error is summed over
 * channels and averaged over batch and positions (BRECQ's loss, so lambda = 0.01 means what it means
 * there). beta anneals 20 -> 2 after a warm start without the regulariser (adaptiveRounding.ts: betaAt).
 * QDrop: during optimisation each activation element inside the block keeps its float value with
 * probability p, and the block input is the float model's input for a random half of its elements
 * (QDrop's implementation mixes the quantized and the float model's inputs the same way).
 *
 * V starts where h(V) equals the fractional part of W / s (BRECQ), or, when a layer brings `initial` codes
 * (layer-wise adaptive rounding), leaning towards them: h = 0.8 where the code rounds up, 0.2 where it
 * rounds down, so that the block refines a good layer-wise solution instead of starting from scratch
 * (few iterations are affordable here; BRECQ runs 20k).
 * Activation step sizes (activationLr > 0): the grids of the values the block produces (and no value
 * outside it shares) are learned jointly with the rounding, LSQ-style (quant/fakeQuant.ts fakeQuantLsq),
 * as QDrop does, starting from the calibrated grids; Adam on log(s), so that the rate is relative.
 * Logit term (`logits`, BRECQ-Fisher / Genie-style): beside the block output error, the KL divergence between
 * the float model's class distribution and the one the quantized block's output gives through the float
 * rest of the network, on the first `logits.batch` images of each mini-batch; the block's MSE weighs every
 * channel alike, while the rest of the network reads some far more than others and lets errors of several
 * channels cancel or add up. `logits.weight` is relative: the KL is scaled so that, for the nearest rounding
 * on all images, weight 1 makes it as large as the block output error (ResNet-20's block errors grow from
 * 0.03 to 8 along the network, so one absolute weight would mean nothing early or everything late).
 * Biases (biasLr > 0): each layer's bias, where it has one, is learned jointly with the rounding (AdaQuant-style),
 * from the float bias; Adam on the bias itself.
 * Weight step sizes (weightScaleLr > 0, Genie-M): each layer's per-channel weight scale is learned jointly with
 * the rounding, W~ = s' * clamp(floor(W / s) + h(V)), the floor fixed at the calibrated s and s' = s * exp(u)
 * with u from 0; Adam on u. The codes stay what they are; the export reads the learned scales.
 * At the end the hard rounding (h >= 0.5) with the learned and with the calibrated grids, the initial codes
 * and round-to-nearest (both on the calibrated grids) are compared on the block output over all images
 * (no dropping; with the logit term, on the same objective), and the best is kept; learned biases are a
 * candidate of their own, with the codes (and grids) they were learned with.
 */
import * as tf from '@tensorflow/tfjs';
import { throwIfCancelled } from '../errors.js';
import type { ActivationQParams } from '../quant/observers.js';
import type { GraphExecutor } from '../runtime/executor.js';
import type { CapturedTensor, TensorLayout } from '../runtime/types.js';
import { qrange } from '../quant/primitives.js';
import { betaAt, GAMMA, ZETA } from './adaptiveRounding.js';
import { BlockRunner, scaleShape } from './blockRunner.js';

export { logitKl } from './blockRunner.js';

function yieldNow(): Promise<void> {
  return new Promise((r) => setTimeout(r, 0));
}

export interface BlockLayer {
  /** The weight initializer the executor reads (replaced through `overrides`). */
  weightName: string;
  /** Float weights in the ONNX layout. */
  weights: Float32Array;
  dims: number[];
  /** Output-channel axis of `scales` (length dims[axis]), or any axis with one per-tensor scale. */
  axis: number;
  scales: Float32Array;
  qmin: number;
  qmax: number;
  /** Round-to-nearest codes in the ONNX layout (the flipped fraction's reference and a fallback). */
  nearest: Int8Array;
  /** Codes to start from (layer-wise adaptive rounding), ONNX layout; also a fallback. */
  initial?: Int8Array;
  /** The bias initializer the executor reads and its float values (one per output channel): learned with `biasLr`. */
  bias?: { name: string; values: Float32Array };
}

/** Which rounding a block kept: the jointly optimised one, the initial (layer-wise) codes, or nearest. */
export type KeptRounding = 'block' | 'initial' | 'nearest';

/** h(V) at the start where a layer brings initial codes: this far from 0.5 towards the code's side. */
const INITIAL_LEAN = 0.3;

export interface BlockValue {
  name: string;
  tensor: tf.Tensor;
  layout: TensorLayout;
}

export interface BlockData {
  /** Block inputs from the quantized model, all images, batch first, as the executor holds them. */
  quantizedInputs: BlockValue[];
  /** The same values from the float model (mixed in by QDrop). */
  floatInputs: BlockValue[];
  /** The float model's block outputs (the targets). */
  targets: BlockValue[];
}

/** The KL term on the network's logits through the float rest of the network (see the header). */
export interface LogitTerm {
  /** Weight of the mean KL(float || quantized) per image beside the block output error, relative (see the header). */
  weight: number;
  /** The float model's logits [images, classes] on the calibration images, in their order (the reference). */
  floatLogits: tf.Tensor;
  /** The logits [images, classes] the rest of the network, run in float, gives for the block's outputs (differentiable). */
  logitsOf: (outputs: Map<string, CapturedTensor>) => tf.Tensor;
  /** Images of each mini-batch the term is taken on (the first ones): the rest of the network costs more than the block. */
  batch: number;
}

export interface BlockReconstructionOptions {
  iterations: number;
  /** Images per iteration. */
  batch: number;
  lr: number;
  lambda: number;
  betaStart: number;
  betaEnd: number;
  warmup: number;
  /** Activation grids of the values the block produces (and of its inputs, already applied to them). */
  activations: Map<string, ActivationQParams>;
  /** QDrop: probability that an activation element skips its quantization during optimisation; 0 = off. */
  dropProbability: number;
  /** Adam rate on the log step size of the block's own activation grids; 0 keeps the calibrated grids. */
  activationLr?: number;
  /** KL on the logits beside the block output error; absent: the block output error alone. */
  logits?: LogitTerm;
  /** Adam rate on the biases of the layers that bring one, learned jointly with the rounding; 0 or absent keeps them. */
  biasLr?: number;
  /** Adam rate on the log of each layer's weight scales (Genie-M), learned jointly with the rounding; 0 or absent keeps them. */
  weightScaleLr?: number;
  seed: number;
  progressEvery?: number;
  onProgress?: (p: { iteration: number; loss: number; recLoss: number; roundLoss: number; beta: number }) => void;
  signal?: AbortSignal;
}

export interface BlockReconstructionResult {
  /** Per layer (order of `layers`), integer codes in the ONNX layout. */
  codes: Int8Array[];
  /** Per layer: fraction of codes that differ from round-to-nearest. */
  flippedFraction: number[];
  /**
   * Block output error (summed over channels, mean over images and positions) of the kept codes; with the
   * logit term, plus its weight times the mean KL of the logits (the objective; also for the others below).
   */
  blockError: number;
  nearestError: number;
  /** Block output error of the initial codes (when the layers brought them). */
  initialError?: number;
  /** The rounding kept: the one with the lowest block output error on the calibration images. */
  kept: KeptRounding;
  /**
   * Grids learned with the kept codes (value name -> grid, every value that shares one), when learned
   * grids won the comparison; the caller applies them to the values downstream and to the export.
   */
  learnedActivations?: Map<string, ActivationQParams>;
  /** Block output error of the kept codes on the calibrated grids, when learned grids were kept. */
  calibratedGridError?: number;
  /** With the logit term: the absolute weight the KL got (errors above = block output error + this x KL). */
  klWeight?: number;
  /**
   * Biases learned with the kept codes (order of `layers`; undefined for a layer without one), when they won
   * the comparison; the caller applies them downstream and to the export. `originalBiasError`: the kept
   * codes with the original biases.
   */
  learnedBiases?: (Float32Array | undefined)[];
  originalBiasError?: number;
  /**
   * Weight scales learned with the kept codes (order of `layers`, one per output channel as `scales`), when
   * they won the comparison; the caller dequantizes and exports with them. `calibratedWeightScaleError`: the
   * same candidate with the calibrated weight scales.
   */
  learnedWeightScales?: Float32Array[];
  calibratedWeightScaleError?: number;
  seconds: number;
}

/**
 * The grids the block may learn: those of values it produces that no value outside it shares (a shared
 * grid already applied upstream must stay as it is). One entry per grid, with every value using it.
 */
function learnableGrids(acts: Map<string, ActivationQParams>, produced: Set<string>): { grid: ActivationQParams; values: string[] }[] {
  const byGrid = new Map<ActivationQParams, string[]>();
  for (const [v, p] of acts) byGrid.set(p, [...(byGrid.get(p) ?? []), v]);
  return [...byGrid].filter(([, vs]) => vs.some((v) => produced.has(v)) && vs.every((v) => produced.has(v))).map(([grid, values]) => ({ grid, values }));
}

/** A grid with step size `scale` (zero point, bits and sign kept). */
function withScale(p: ActivationQParams, scale: number): ActivationQParams {
  const { qmin, qmax } = qrange(p.bits, p.signed);
  return { ...p, scale, min: (qmin - p.zeroPoint) * scale, max: (qmax - p.zeroPoint) * scale };
}

function codesToWeights(layers: BlockLayer[], codes: Int8Array[], biases?: (Float32Array | undefined)[], scales?: Float32Array[]): Map<string, tf.Tensor> {
  const m = new Map(layers.map((l, i) => [l.weightName, tf.tidy(() => tf.mul(tf.tensor(Float32Array.from(codes[i]), l.dims), tf.tensor(scales?.[i] ?? l.scales, scaleShape(l))))]));
  layers.forEach((l, i) => {
    const b = biases?.[i];
    if (l.bias && b) m.set(l.bias.name, tf.tensor1d(b));
  });
  return m;
}

/** Optimises the rounding of `layers` jointly on the block output; the executor runs the block. */
export async function reconstructBlock(exec: GraphExecutor, layers: BlockLayer[], data: BlockData, o: BlockReconstructionOptions): Promise<BlockReconstructionResult> {
  const t0 = performance.now();
  const n = data.targets[0].tensor.shape[0];
  const runner = new BlockRunner(exec, data, o);
  const S = layers.map((l) => tf.tensor(l.scales, scaleShape(l)));
  const F = layers.map((l, i) => tf.tidy(() => tf.floor(tf.div(tf.tensor(l.weights, l.dims), S[i]))));
  // V starts where h(V) equals the fractional part of W / s (the float weight itself)
  const V = layers.map((l, i) => {
    const init = tf.tidy(() => {
      const frac = tf.sub(tf.div(tf.tensor(l.weights, l.dims), S[i]), F[i]);
      const h0 = l.initial ? tf.add(tf.mul(tf.sub(tf.tensor(Float32Array.from(l.initial), l.dims), F[i]).clipByValue(0, 1), 2 * INITIAL_LEAN), 0.5 - INITIAL_LEAN) : frac;
      const sig = tf.clipByValue(tf.div(tf.sub(h0, GAMMA), ZETA - GAMMA), 1e-6, 1 - 1e-6);
      return tf.log(tf.div(sig, tf.sub(1, sig)));
    });
    const v = tf.variable(init, true);
    init.dispose(); // the variable holds its own reference to the data
    return v;
  });
  const nearest = layers.map((l) => l.nearest);
  if (o.logits) {
    // the relative weight becomes absolute on the nearest rounding: weight 1 = as large as the block output error
    const w = codesToWeights(layers, nearest);
    try {
      const p = await runner.fullParts(w);
      runner.klWeight = p.kl > 0 ? (o.logits.weight * p.rec) / p.kl : 0;
    } finally {
      tf.dispose([...w.values()]);
    }
  }
  const learnLr = o.activationLr ?? 0;
  const learnable = learnLr > 0 ? learnableGrids(o.activations, runner.producedPoints(new Map())) : [];
  const logS = learnable.map(({ grid }) => {
    const init = tf.scalar(Math.log(grid.scale));
    const v = tf.variable(init, true);
    init.dispose();
    return v;
  });
  const biasLr = o.biasLr ?? 0;
  // learned bias offsets (zero at the start), for the layers that bring a bias
  const dB = layers.map((l) => {
    if (!(biasLr > 0 && l.bias)) return undefined;
    const zero = tf.zeros([l.bias.values.length]);
    const v = tf.variable(zero, true);
    zero.dispose(); // the variable holds its own reference
    return v;
  });
  const B0 = layers.map((l) => (biasLr > 0 && l.bias ? tf.tensor1d(l.bias.values) : undefined));
  const biasVars = dB.filter((v): v is tf.Variable => !!v);
  const weightScaleLr = o.weightScaleLr ?? 0;
  // learned log factors on the weight scales (Genie-M), zero at the start
  const U = weightScaleLr > 0 ? layers.map((_, i) => {
    const zero = tf.zerosLike(S[i]);
    const v = tf.variable(zero, true);
    zero.dispose();
    return v;
  }) : [];
  const optimizer = tf.train.adam(o.lr);
  const scaleOptimizer = logS.length ? tf.train.adam(learnLr) : undefined;
  const biasOptimizer = biasVars.length ? tf.train.adam(biasLr) : undefined;
  const weightScaleOptimizer = U.length ? tf.train.adam(weightScaleLr) : undefined;
  const every = Math.max(1, o.progressEvery ?? 50);
  const hOf = (i: number) => tf.clipByValue(tf.add(tf.mul(tf.sigmoid(V[i]), ZETA - GAMMA), GAMMA), 0, 1);
  const gradsOf = (grads: tf.NamedTensorMap, vars: tf.Variable[]) => vars.filter((v) => grads[v.name]).map((v) => ({ name: v.name, tensor: grads[v.name] }));
  let lastYield = Date.now();
  try {
    for (let t = 0; t < o.iterations; t++) {
      throwIfCancelled(o.signal);
      const beta = betaAt(t, o.iterations, o);
      const withReg = t >= o.warmup * o.iterations;
      const report = !!o.onProgress && (t % every === 0 || t === o.iterations - 1);
      const idx = runner.sample(n);
      let rec: tf.Scalar | undefined;
      let reg: tf.Scalar | undefined;
      const { value: cost, grads } = tf.variableGrads(() => {
        const weights = new Map(layers.map((l, i) => [l.weightName, tf.mul(tf.clipByValue(tf.add(F[i], hOf(i)), l.qmin, l.qmax), U.length ? tf.mul(S[i], tf.exp(U[i])) : S[i])]));
        layers.forEach((l, i) => {
          if (l.bias && dB[i]) weights.set(l.bias.name, tf.add(B0[i]!, dB[i]!));
        });
        const scales = new Map<string, tf.Scalar>();
        learnable.forEach(({ values }, g) => {
          const s = tf.exp(logS[g]) as tf.Scalar;
          for (const v of values) scales.set(v, s);
        });
        const r = runner.error(weights, { idx, train: true, scales });
        let loss = r;
        if (withReg) {
          let sum: tf.Scalar = tf.scalar(0);
          for (let i = 0; i < layers.length; i++) sum = tf.add(sum, tf.sum(tf.sub(1, tf.pow(tf.abs(tf.sub(tf.mul(hOf(i), 2), 1)), beta))));
          loss = tf.add(r, tf.mul(sum, o.lambda));
          if (report) reg = tf.keep(sum);
        }
        if (report) rec = tf.keep(r);
        return loss;
      }, [...V, ...logS, ...biasVars, ...U]);
      optimizer.applyGradients(gradsOf(grads, V));
      scaleOptimizer?.applyGradients(gradsOf(grads, logS));
      biasOptimizer?.applyGradients(gradsOf(grads, biasVars));
      weightScaleOptimizer?.applyGradients(gradsOf(grads, U));
      tf.dispose(Object.values(grads));
      idx.dispose();
      if (report && rec) {
        const recLoss = (await rec.data())[0];
        const roundLoss = reg ? (await reg.data())[0] : 0;
        o.onProgress!({ iteration: t, loss: (await cost.data())[0], recLoss, roundLoss, beta });
      }
      for (const x of [cost, rec, reg]) x?.dispose();
      if (Date.now() - lastYield > 100) {
        await yieldNow(); // let a worker receive a cancel message
        lastYield = Date.now();
      }
    }
    const adaptive = await Promise.all(
      layers.map(async (l, i) => {
        const q = tf.tidy(() => tf.clipByValue(tf.add(F[i], tf.cast(tf.greaterEqual(V[i], 0), 'float32')), l.qmin, l.qmax));
        const d = await q.data();
        q.dispose();
        return Int8Array.from(d);
      }),
    );
    const learned = new Map<string, ActivationQParams>();
    for (const [g, { grid, values }] of learnable.entries()) {
      const p = withScale(grid, Math.exp((await logS[g].data())[0]));
      for (const v of values) learned.set(v, p);
    }
    const learnedGrids = learned.size ? new Map([...o.activations].map(([v, p]) => [v, learned.get(v) ?? p])) : undefined;
    const learnedBiases = biasVars.length
      ? await Promise.all(layers.map(async (l, i) => {
        if (!l.bias || !dB[i]) return undefined;
        const b = tf.add(B0[i]!, dB[i]!);
        const d = Float32Array.from(await b.data());
        b.dispose();
        return d;
      }))
      : undefined;
    const learnedWeightScales = U.length
      ? await Promise.all(layers.map(async (l, i) => {
        const f = await U[i].data();
        return Float32Array.from(l.scales, (sc, c) => sc * Math.exp(f[f.length === 1 ? 0 : c]));
      }))
      : undefined;
    const evalCodes = async (codes: Int8Array[], grids?: Map<string, ActivationQParams>, biases?: (Float32Array | undefined)[], scales?: Float32Array[]) => {
      const w = codesToWeights(layers, codes, biases, scales);
      try {
        return await runner.fullError(w, grids);
      } finally {
        tf.dispose([...w.values()]);
      }
    };
    type Candidate = { kept: KeptRounding; codes: Int8Array[]; grids?: Map<string, ActivationQParams>; biases?: (Float32Array | undefined)[]; scales?: Float32Array[] };
    const candidates: Candidate[] = [{ kept: 'block', codes: adaptive }, { kept: 'nearest', codes: nearest }];
    if (layers.every((l) => l.initial)) candidates.push({ kept: 'initial', codes: layers.map((l) => l.initial!) });
    if (learnedGrids) candidates.push({ kept: 'block', codes: adaptive, grids: learnedGrids });
    // the learned biases go with what they were learned with: the adaptive codes (and the learned grids)
    if (learnedBiases) candidates.push({ kept: 'block', codes: adaptive, grids: learnedGrids, biases: learnedBiases });
    // the learned weight scales likewise, with everything else learned alongside them
    const learnedAll = candidates.findIndex((c) => c.kept === 'block' && c.grids === learnedGrids && c.biases === learnedBiases);
    if (learnedWeightScales) candidates.push({ ...candidates[learnedAll], scales: learnedWeightScales });
    const errors: number[] = [];
    for (const c of candidates) errors.push(await evalCodes(c.codes, c.grids, c.biases, c.scales));
    const best = errors.indexOf(Math.min(...errors));
    const { kept, codes, grids, biases, scales } = candidates[best];
    const flippedFraction = codes.map((c, i) => {
      let f = 0;
      for (let j = 0; j < c.length; j++) if (c[j] !== nearest[i][j]) f++;
      return f / c.length;
    });
    const initialAt = candidates.findIndex((c) => c.kept === 'initial');
    return {
      codes, flippedFraction, blockError: errors[best], nearestError: errors[1], ...(initialAt >= 0 ? { initialError: errors[initialAt] } : {}), kept,
      ...(grids ? { learnedActivations: learned, calibratedGridError: errors[0] } : {}),
      ...(biases ? { learnedBiases: biases, originalBiasError: errors[candidates.findIndex((c) => c.codes === codes && c.grids === grids && !c.biases)] } : {}),
      ...(scales ? { learnedWeightScales: scales, calibratedWeightScaleError: errors[learnedAll] } : {}),
      ...(o.logits ? { klWeight: runner.klWeight } : {}),
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    optimizer.dispose();
    scaleOptimizer?.dispose();
    biasOptimizer?.dispose();
    weightScaleOptimizer?.dispose();
    tf.dispose([...S, ...F, ...V, ...logS, ...biasVars, ...U, ...B0.filter((b): b is tf.Tensor1D => !!b)]);
  }
}
