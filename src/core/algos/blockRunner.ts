/**
 * Runs one block for block reconstruction (blockReconstruction.ts): from its inputs (the quantized model's,
 * QDrop-mixed with the float model's while training) to its outputs with the weights as overrides and the
 * activation grids applied by a hook; the objective is the block output error against the float targets,
 * plus the logit KL through the rest of the network when the logit term is on.
 */
import * as tf from '@tensorflow/tfjs';
import { fakeQuantLsq, fakeQuantSte, fakeQuantTensor } from '../quant/fakeQuant.js';
import type { ActivationQParams } from '../quant/observers.js';
import { channelAxis, type GraphExecutor } from '../runtime/executor.js';
import type { CapturedTensor } from '../runtime/types.js';
import { SeededRandom } from '../synth/prng.js';
import type { BlockData, BlockLayer, BlockReconstructionOptions } from './blockReconstruction.js';

/** Shape that broadcasts a per-output-channel vector along `axis` of a weight. */
export function scaleShape(l: BlockLayer): number[] {
  return l.scales.length === 1 ? [] : l.dims.map((d, i) => (i === l.axis ? d : 1));
}

/** Squared error summed over the channel axis, mean over everything else. */
function outputError(out: CapturedTensor, target: tf.Tensor): tf.Scalar {
  const ax = out.tensor.rank > 1 ? channelAxis(out) : 0;
  return tf.mean(tf.sum(tf.squaredDifference(out.tensor, target), ax)) as tf.Scalar;
}

/** Mean over rows of KL(softmax(ref) || softmax(z)), the class axis last. */
export function logitKl(ref: tf.Tensor, z: tf.Tensor): tf.Scalar {
  const lp = tf.logSoftmax(ref);
  return tf.mean(tf.sum(tf.mul(tf.exp(lp), tf.sub(lp, tf.logSoftmax(z))), -1)) as tf.Scalar;
}

/** How one block run is made: a mini-batch or a slice of the images, training or scoring, which grids. */
interface RunSpec {
  /** Image indices (a mini-batch); else `count` images from `from`; else all. */
  idx?: tf.Tensor1D;
  from?: number;
  count?: number;
  /** Straight-through fake quantization and QDrop mixing (else plain fake quantization). */
  train: boolean;
  /** Learned step sizes (value name -> scalar) used in training instead of the grids' own. */
  scales?: Map<string, tf.Scalar>;
  /** Grids when scoring (default: the calibrated ones). */
  grids?: Map<string, ActivationQParams>;
}

export class BlockRunner {
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

  /** Runs the block (its weights as overrides) from its inputs to its outputs; `hook` sees the activation points. */
  private run(weights: Map<string, tf.Tensor>, spec: Pick<RunSpec, 'idx' | 'from' | 'count' | 'train'>, hook: (name: string, v: CapturedTensor) => tf.Tensor | undefined) {
    const { idx, from = 0, count } = spec;
    const pick = (t: tf.Tensor) => (idx ? tf.gather(t, idx) : count !== undefined ? tf.slice(t, from, count) : t);
    const drop = spec.train && this.o.dropProbability > 0;
    const start = new Map<string, CapturedTensor>();
    this.data.quantizedInputs.forEach((v, i) => {
      const xq = pick(v.tensor);
      start.set(v.name, { tensor: drop ? this.dropMix(pick(this.data.floatInputs[i].tensor), xq) : xq, layout: v.layout });
    });
    const outs = this.data.targets.map((t) => t.name);
    const r = this.exec.execute(new Map(), { start, capture: outs, stopAfterCaptures: true, overrides: weights, hook, hookValues: [...this.o.activations.keys()] });
    tf.dispose([...r.outputs.values()]);
    return { captured: r.captured, pick };
  }

  /** Activation points the block itself produces (its inputs arrive quantized already). */
  producedPoints(weights: Map<string, tf.Tensor>): Set<string> {
    const seen = new Set<string>();
    tf.tidy(() => {
      this.run(weights, { from: 0, count: 1, train: false }, (name) => {
        seen.add(name);
        return undefined;
      });
    });
    return seen;
  }

  /** Absolute weight of the logit KL in `error` (set from the relative one on the nearest rounding); 0: off. */
  klWeight = 0;

  /** The objective on the images of `spec` with `weights` as overrides: block output error (+ klWeight x KL). */
  error(weights: Map<string, tf.Tensor>, spec: RunSpec): tf.Scalar {
    const { rec, kl } = this.parts(weights, spec, this.klWeight > 0);
    return kl ? tf.add(rec, tf.mul(kl, this.klWeight)) : rec;
  }

  /**
   * The block's outputs on the images of `spec` with `weights` as overrides, against the targets: the
   * summed output error (a scalar), and with `withKl` the mean KL of the logits through the rest of the network.
   */
  parts(weights: Map<string, tf.Tensor>, spec: RunSpec, withKl: boolean): { rec: tf.Scalar; kl?: tf.Scalar } {
    const drop = spec.train && this.o.dropProbability > 0;
    const grids = spec.grids ?? this.o.activations;
    const hook = (name: string, v: CapturedTensor) => {
      const p = grids.get(name);
      if (!p) return undefined;
      if (!spec.train) return fakeQuantTensor(v.tensor, p);
      const s = spec.scales?.get(name);
      const q = s ? fakeQuantLsq(v.tensor, s, p) : fakeQuantSte(v.tensor, p);
      return drop ? this.dropMix(v.tensor, q) : q;
    };
    const { captured, pick } = this.run(weights, spec, hook);
    let total: tf.Scalar = tf.scalar(0);
    this.data.targets.forEach((t) => {
      const c = captured.get(t.name)!;
      if (c.layout !== t.layout) throw new Error(`block output ${t.name} came back ${c.layout}, its target is ${t.layout}`);
      total = tf.add(total, outputError(c, pick(t.tensor)));
    });
    const L = this.o.logits;
    if (L && withKl) {
      const rows = captured.get(this.data.targets[0].name)!.tensor.shape[0];
      const m = spec.train ? Math.min(L.batch, rows) : rows;
      const outs = new Map(this.data.targets.map((t) => {
        const c = captured.get(t.name)!;
        return [t.name, m < rows ? { tensor: tf.slice(c.tensor, 0, m), layout: c.layout } : c] as const;
      }));
      const ref = pick(L.floatLogits);
      return { rec: total, kl: logitKl(m < rows ? tf.slice(ref, 0, m) : ref, L.logitsOf(outs)) };
    }
    return { rec: total };
  }

  /**
   * Mean block output error and logit KL (with the logit term) over all images (in chunks of twice the
   * batch), no dropping. Read asynchronously: WebGPU cannot read synchronously (tfjs fails in mapAsync).
   */
  async fullParts(weights: Map<string, tf.Tensor>, grids?: Map<string, ActivationQParams>): Promise<{ rec: number; kl: number }> {
    const n = this.data.targets[0].tensor.shape[0];
    const chunk = Math.max(1, 2 * this.o.batch);
    let rec = 0;
    let kl = 0;
    for (let s = 0; s < n; s += chunk) {
      const m = Math.min(chunk, n - s);
      const both = tf.tidy(() => {
        const p = this.parts(weights, { from: s, count: m, train: false, grids }, !!this.o.logits);
        return tf.stack([p.rec, p.kl ?? tf.scalar(0)]);
      });
      try {
        const [r, k] = await both.data();
        rec += r * m;
        kl += k * m;
      } finally {
        both.dispose();
      }
    }
    return { rec: rec / n, kl: kl / n };
  }

  /** The objective over all images, no dropping. */
  async fullError(weights: Map<string, tf.Tensor>, grids?: Map<string, ActivationQParams>): Promise<number> {
    const p = await this.fullParts(weights, grids);
    return p.rec + this.klWeight * p.kl;
  }
}
