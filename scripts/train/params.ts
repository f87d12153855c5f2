/**
 * Weights of a NetSpec as tfjs variables: He-normal (fan in) conv kernels, uniform +-1/sqrt(fan in) dense
 * weights and biases (PyTorch's Linear/Conv bias init), BN gamma 1, beta 0, running mean 0, var 1.
 */
import * as tf from '@tensorflow/tfjs';
import type { NetSpec, ParamSpec } from './netSpec.js';
import { STREAM, normal, stream } from './rng.js';

export type ParamState = Map<string, tf.Variable>;

export function isTrainable(p: ParamSpec): boolean {
  return p.role !== 'runningMean' && p.role !== 'runningVar';
}

function initialValues(p: ParamSpec, random: () => number): Float32Array {
  const size = p.shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(size);
  if (p.role === 'gamma' || p.role === 'runningVar') v.fill(1);
  else if (p.role === 'weight' && p.init === 'heNormal') {
    const std = Math.sqrt(2 / p.fanIn!);
    for (let i = 0; i < size; i++) v[i] = normal(random) * std;
  } else if (p.role === 'weight' || p.role === 'bias') {
    const bound = 1 / Math.sqrt(p.fanIn!);
    for (let i = 0; i < size; i++) v[i] = (random() * 2 - 1) * bound;
  }
  return v;
}

export function initParams(spec: NetSpec, seed: number): ParamState {
  const random = stream(seed, STREAM.init);
  return new Map(spec.params.map((p) => [p.name, tf.variable(tf.tensor(initialValues(p, random), p.shape), isTrainable(p))]));
}

export function disposeParams(state: ParamState): void {
  for (const v of state.values()) v.dispose();
}
