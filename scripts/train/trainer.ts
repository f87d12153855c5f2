/**
 * One model's training state (weights, BN running statistics, SGD velocity) and the training step:
 * forward in training mode, label-smoothed cross-entropy, gradients, Nesterov SGD, running-statistics
 * update. Converts to and from checkpoint tensors.
 */
import * as tf from '@tensorflow/tfjs';
import type { Checkpoint } from './checkpoint.js';
import { SIZE, type Batch } from './cifarData.js';
import { dropoutOps, forward, type BatchStats } from './forward.js';
import { BN_MOMENTUM, type NetSpec } from './netSpec.js';
import { disposeParams, initParams, isTrainable, type ParamState } from './params.js';
import { NesterovSgd, type SgdConfig } from './sgd.js';

export interface StepResult { loss: number; correct: number }

export class Trainer {
  readonly params: ParamState;
  readonly sgd: NesterovSgd;
  private readonly trainable: tf.Variable[];
  private readonly nameOf = new Map<string, string>();

  constructor(readonly spec: NetSpec, seed: number, sgd: SgdConfig, readonly labelSmoothing: number) {
    this.params = initParams(spec, seed);
    this.sgd = new NesterovSgd(spec, this.params, sgd);
    this.trainable = spec.params.filter(isTrainable).map((p) => this.params.get(p.name)!);
    for (const [name, v] of this.params) this.nameOf.set(v.name, name);
  }

  /** One SGD step on `batch`; `random` draws the dropout masks. */
  step(batch: Batch, lr: number, random: () => number): StepResult {
    const masks = new Map<string, tf.Tensor>();
    for (const d of dropoutOps(this.spec)) {
      const keep = 1 / (1 - d.rate);
      const m = new Float32Array(batch.n * d.channels);
      for (let i = 0; i < m.length; i++) m[i] = random() < d.rate ? 0 : keep;
      masks.set(d.output, tf.tensor2d(m, [batch.n, d.channels]));
    }
    const stats: BatchStats[] = [];
    let logitsKept: tf.Tensor | null = null;
    const x = tf.tensor4d(batch.x, [batch.n, SIZE, SIZE, 3]);
    const y = tf.tidy(() => tf.oneHot(tf.tensor1d(batch.labels, 'int32'), this.spec.classes));
    const { value, grads } = tf.variableGrads(() => {
      const logits = forward(this.spec, this.params, x, { training: true, stats, dropoutMasks: masks });
      logitsKept = tf.keep(logits);
      return tf.losses.softmaxCrossEntropy(y, logits, undefined, this.labelSmoothing) as tf.Scalar;
    }, this.trainable);
    this.sgd.apply(this.params, new Map(Object.entries(grads).map(([k, g]) => [this.nameOf.get(k)!, g])), lr);
    tf.tidy(() => {
      for (const s of stats) {
        // PyTorch keeps the unbiased batch variance in running_var.
        const rm = this.params.get(`${s.bn}.running_mean`)!;
        const rv = this.params.get(`${s.bn}.running_var`)!;
        rm.assign(tf.add(tf.mul(rm, 1 - BN_MOMENTUM), tf.mul(s.mean, BN_MOMENTUM)));
        rv.assign(tf.add(tf.mul(rv, 1 - BN_MOMENTUM), tf.mul(s.variance, (BN_MOMENTUM * s.count) / (s.count - 1))));
      }
    });
    const loss = value.dataSync()[0];
    const pred = tf.tidy(() => tf.argMax(logitsKept!, 1).dataSync() as Int32Array);
    const correct = pred.reduce((c, p, i) => c + (p === batch.labels[i] ? 1 : 0), 0);
    tf.dispose([value, x, y, logitsKept!, ...Object.values(grads), ...masks.values(), ...stats.flatMap((s) => [s.mean, s.variance])]);
    return { loss, correct };
  }

  toTensors(): Checkpoint<unknown>['tensors'] {
    const out: Checkpoint<unknown>['tensors'] = new Map();
    for (const [name, v] of this.params) out.set(`param/${name}`, { shape: v.shape, data: v.dataSync() as Float32Array });
    for (const [name, v] of this.sgd.velocity) out.set(`velocity/${name}`, { shape: v.shape, data: v.dataSync() as Float32Array });
    return out;
  }

  loadTensors(tensors: Checkpoint<unknown>['tensors']): void {
    const restore = (prefix: string, vars: Map<string, tf.Variable>) => {
      for (const [name, v] of vars) {
        const t = tensors.get(`${prefix}/${name}`);
        if (!t) throw new Error(`checkpoint lacks ${prefix}/${name}`);
        if (t.shape.join() !== v.shape.join()) throw new Error(`checkpoint ${prefix}/${name} has shape ${t.shape}, model ${v.shape}`);
        tf.tidy(() => v.assign(tf.tensor(t.data, t.shape)));
      }
    };
    restore('param', this.params);
    restore('velocity', this.sgd.velocity);
  }

  dispose(): void {
    disposeParams(this.params);
    this.sgd.dispose();
  }
}
