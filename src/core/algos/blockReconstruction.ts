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
 * At the end the hard rounding (h >= 0.5), the initial codes and round-to-nearest are compared on the block
 * output over all images (no dropping), and the best is kept.
 */
import * as tf from '@tensorflow/tfjs';
import { throwIfCancelled } from '../errors.js';
import { fakeQuantSte, fakeQuantTensor } from '../quant/fakeQuant.js';
import type { ActivationQParams } from '../quant/observers.js';
import { channelAxis, type GraphExecutor } from '../runtime/executor.js';
import type { CapturedTensor, TensorLayout } from '../runtime/types.js';
import { SeededRandom } from '../synth/prng.js';
import { betaAt, GAMMA, ZETA } from './adaptiveRounding.js';

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
  /** Block output error (summed over channels, mean over images and positions) of the kept codes. */
  blockError: number;
  nearestError: number;
  /** Block output error of the initial codes (when the layers brought them). */
  initialError?: number;
  /** The rounding kept: the one with the lowest block output error on the calibration images. */
  kept: KeptRounding;
  seconds: number;
}

/** Shape that broadcasts a per-output-channel vector along `axis` of a weight. */
function scaleShape(l: BlockLayer): number[] {
  return l.scales.length === 1 ? [] : l.dims.map((d, i) => (i === l.axis ? d : 1));
}

function yieldNow(): Promise<void> {
  return new Promise((r) => setTimeout(r, 0));
}

/** Squared error summed over the channel axis, mean over everything else. */
function outputError(out: CapturedTensor, target: tf.Tensor): tf.Scalar {
  const ax = out.tensor.rank > 1 ? channelAxis(out) : 0;
  return tf.mean(tf.sum(tf.squaredDifference(out.tensor, target), ax)) as tf.Scalar;
}

class BlockRunner {
  private rng: SeededRandom;
  private dropSeed: number;

  constructor(
    private readonly exec: GraphExecutor,
    private readonly data: BlockData,
    private readonly o: BlockReconstructionOptions,
  ) {
    this.rng = new SeededRandom(o.seed);
    this.dropSeed = o.seed * 7919 + 1;
  }

  /** Random image indices of one mini-batch. */
  sample(n: number): tf.Tensor1D {
    const idx = new Int32Array(Math.min(this.o.batch, n));
    for (let i = 0; i < idx.length; i++) idx[i] = this.rng.int(0, n - 1);
    return tf.tensor1d(idx, 'int32');
  }

  /** where(keep float, x, q) per element: keep with probability p. */
  private dropMix(x: tf.Tensor, q: tf.Tensor): tf.Tensor {
    const keepFloat = tf.less(tf.randomUniform(x.shape, 0, 1, 'float32', this.dropSeed++), this.o.dropProbability);
    return tf.where(keepFloat, x, q);
  }

  /**
   * The block's outputs on the images `idx` (all when undefined) with `weights` as overrides; `train`:
   * straight-through fake quantization and QDrop mixing. Returns the summed output error (a scalar).
   */
  error(weights: Map<string, tf.Tensor>, idx: tf.Tensor1D | undefined, train: boolean, from = 0, count?: number): tf.Scalar {
    const pick = (t: tf.Tensor) => (idx ? tf.gather(t, idx) : count !== undefined ? tf.slice(t, from, count) : t);
    const drop = train && this.o.dropProbability > 0;
    const start = new Map<string, CapturedTensor>();
    this.data.quantizedInputs.forEach((v, i) => {
      const xq = pick(v.tensor);
      start.set(v.name, { tensor: drop ? this.dropMix(pick(this.data.floatInputs[i].tensor), xq) : xq, layout: v.layout });
    });
    const acts = this.o.activations;
    const hook = (name: string, v: CapturedTensor) => {
      const p = acts.get(name);
      if (!p) return undefined;
      if (!train) return fakeQuantTensor(v.tensor, p);
      const q = fakeQuantSte(v.tensor, p);
      return drop ? this.dropMix(v.tensor, q) : q;
    };
    const outs = this.data.targets.map((t) => t.name);
    const r = this.exec.execute(new Map(), { start, capture: outs, stopAfterCaptures: true, overrides: weights, hook, hookValues: [...acts.keys()] });
    tf.dispose([...r.outputs.values()]);
    let total: tf.Scalar = tf.scalar(0);
    this.data.targets.forEach((t) => {
      const c = r.captured.get(t.name)!;
      if (c.layout !== t.layout) throw new Error(`block output ${t.name} came back ${c.layout}, its target is ${t.layout}`);
      total = tf.add(total, outputError(c, pick(t.tensor)));
    });
    return total;
  }

  /** Mean error over all images (in chunks of twice the batch), no dropping. */
  fullError(weights: Map<string, tf.Tensor>): number {
    const n = this.data.targets[0].tensor.shape[0];
    const chunk = Math.max(1, 2 * this.o.batch);
    let sum = 0;
    for (let s = 0; s < n; s += chunk) {
      const m = Math.min(chunk, n - s);
      sum += tf.tidy(() => this.error(weights, undefined, false, s, m).dataSync()[0]) * m;
    }
    return sum / n;
  }
}

function codesToWeights(layers: BlockLayer[], codes: Int8Array[]): Map<string, tf.Tensor> {
  return new Map(layers.map((l, i) => [l.weightName, tf.tidy(() => tf.mul(tf.tensor(Float32Array.from(codes[i]), l.dims), tf.tensor(l.scales, scaleShape(l))))]));
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
  const optimizer = tf.train.adam(o.lr);
  const every = Math.max(1, o.progressEvery ?? 50);
  const hOf = (i: number) => tf.clipByValue(tf.add(tf.mul(tf.sigmoid(V[i]), ZETA - GAMMA), GAMMA), 0, 1);
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
      const cost = optimizer.minimize(() => {
        const weights = new Map(layers.map((l, i) => [l.weightName, tf.mul(tf.clipByValue(tf.add(F[i], hOf(i)), l.qmin, l.qmax), S[i])]));
        const r = runner.error(weights, idx, true);
        let loss = r;
        if (withReg) {
          let sum: tf.Scalar = tf.scalar(0);
          for (let i = 0; i < layers.length; i++) sum = tf.add(sum, tf.sum(tf.sub(1, tf.pow(tf.abs(tf.sub(tf.mul(hOf(i), 2), 1)), beta))));
          loss = tf.add(r, tf.mul(sum, o.lambda));
          if (report) reg = tf.keep(sum);
        }
        if (report) rec = tf.keep(r);
        return loss;
      }, report, V);
      idx.dispose();
      if (report && cost && rec) {
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
    const nearest = layers.map((l) => l.nearest);
    const evalCodes = (codes: Int8Array[]) => {
      const w = codesToWeights(layers, codes);
      try {
        return runner.fullError(w);
      } finally {
        tf.dispose([...w.values()]);
      }
    };
    const candidates: [KeptRounding, Int8Array[]][] = [['block', adaptive], ['nearest', nearest]];
    if (layers.every((l) => l.initial)) candidates.push(['initial', layers.map((l) => l.initial!)]);
    const errors = candidates.map(([, c]) => evalCodes(c));
    const best = errors.indexOf(Math.min(...errors));
    const [kept, codes] = candidates[best];
    const flippedFraction = codes.map((c, i) => {
      let f = 0;
      for (let j = 0; j < c.length; j++) if (c[j] !== nearest[i][j]) f++;
      return f / c.length;
    });
    return { codes, flippedFraction, blockError: errors[best], nearestError: errors[1], ...(errors.length > 2 ? { initialError: errors[2] } : {}), kept, seconds: (performance.now() - t0) / 1000 };
  } finally {
    optimizer.dispose();
    tf.dispose([...S, ...F, ...V]);
  }
}
