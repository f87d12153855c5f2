/**
 * SGD with Nesterov momentum and decoupled-from-BN weight decay, PyTorch's formulation:
 *   g' = g + wd * w (conv/linear weights only), v = mu v + g', w -= lr (g' + mu v).
 * Written out here (not tf.train.momentum) so the decay can skip BN and bias parameters and the velocity is
 * plain state a checkpoint can store.
 */
import * as tf from '@tensorflow/tfjs';
import type { NetSpec } from './netSpec.js';
import { isTrainable, type ParamState } from './params.js';

export interface SgdConfig { momentum: number; weightDecay: number }

export class NesterovSgd {
  readonly velocity = new Map<string, tf.Variable>();
  private readonly decayed: Set<string>;

  constructor(spec: NetSpec, params: ParamState, readonly config: SgdConfig) {
    this.decayed = new Set(spec.params.filter((p) => p.role === 'weight').map((p) => p.name));
    for (const p of spec.params) if (isTrainable(p)) this.velocity.set(p.name, tf.variable(tf.zerosLike(params.get(p.name)!), false));
  }

  /** grads: by parameter name. */
  apply(params: ParamState, grads: Map<string, tf.Tensor>, lr: number): void {
    const { momentum: mu, weightDecay: wd } = this.config;
    tf.tidy(() => {
      for (const [name, g0] of grads) {
        const w = params.get(name)!;
        const v = this.velocity.get(name)!;
        const g = this.decayed.has(name) ? tf.add(g0, tf.mul(w, wd)) : g0;
        const vNew = tf.add(tf.mul(v, mu), g);
        v.assign(vNew);
        w.assign(tf.sub(w, tf.mul(tf.add(g, tf.mul(vNew, mu)), lr)));
      }
    });
  }

  dispose(): void {
    for (const v of this.velocity.values()) v.dispose();
  }
}
