/**
 * Multinomial logistic regression (a linear probe) fit by full-batch Adam on tfjs (the backend the caller
 * initialized; wasm in the fitting script). The features are centred and divided by ONE scale, the RMS of
 * all centred features, inside the fit, and both are folded back into the returned kernel and bias, so
 * they apply to the raw features: logits = x W + b.
 *
 * Why one scale and not one per feature: the probe runs after 8-bit per-tensor quantization of those
 * features. Per-feature standardization lets the decay grant a near-constant feature (std 1e-3, below the
 * int8 step of ~0.02 on a 0..6 range) a weight 1000x larger than a lively one, and quantization noise then
 * drowns the logits (measured: logit SQNR below 0 dB). With one scale the decay penalizes every weight on
 * the features' own scale, as a plain L2 probe does.
 *
 * Loss: mean cross-entropy + (weightDecay / 2) |W|^2 on the scaled kernel (bias not decayed).
 */
import * as tf from '@tensorflow/tfjs';
import { argmaxRows } from '../../src/core/data/cifar10.js';

export interface ProbeData {
  /** Row-major [n, d] features. */
  x: Float32Array;
  labels: ArrayLike<number>;
  n: number;
  d: number;
}

export interface ProbeOptions {
  classes: number;
  weightDecay: number;
  steps: number;
  /** Adam step size on the scaled problem; 0.01 unless given. */
  learningRate?: number;
}

export interface ProbeFit {
  /** [d, classes] row-major (Keras Dense layout), for raw features. */
  kernel: Float32Array;
  bias: Float32Array;
  /** Training loss (cross-entropy + decay) at the first and the last step. */
  startLoss: number;
  endLoss: number;
}

export function fitSoftmaxRegression(data: ProbeData, o: ProbeOptions): ProbeFit {
  const { n, d } = data;
  const k = o.classes;
  const mean = new Float32Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += data.x[i * d + j] / n;
  let ss = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) ss += (data.x[i * d + j] - mean[j]) ** 2;
  const scale = Math.sqrt(ss / (n * d)) || 1;

  const z = tf.tidy(() => tf.tensor2d(data.x, [n, d]).sub(tf.tensor1d(mean)).div(scale));
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(Int32Array.from(data.labels), 'int32'), k));
  // tfjs 4.22: tf.variable(t) keeps t alive as a separate tensor; made inside tidy, t is freed and the
  // variable (never tracked by tidy) survives.
  const w = tf.tidy(() => tf.variable(tf.zeros([d, k])));
  const b = tf.tidy(() => tf.variable(tf.zeros([k])));
  const optimizer = tf.train.adam(o.learningRate ?? 0.01);
  const loss = () => tf.losses.softmaxCrossEntropy(y, z.matMul(w).add(b)).add(w.square().sum().mul(o.weightDecay / 2)) as tf.Scalar;
  let startLoss = NaN;
  let endLoss = NaN;
  for (let step = 0; step < o.steps; step++) {
    const first = step === 0;
    const last = step === o.steps - 1;
    const cost = optimizer.minimize(loss, first || last, [w, b]);
    if (cost) {
      const v = cost.dataSync()[0];
      if (first) startLoss = v;
      if (last) endLoss = v;
      cost.dispose();
    }
  }
  // Fold: x W' + b' = ((x - mean) / scale) W + b.
  const kernel = tf.tidy(() => w.div(scale).dataSync() as Float32Array);
  const wb = b.dataSync();
  const bias = new Float32Array(k);
  for (let c = 0; c < k; c++) {
    let v = wb[c];
    for (let j = 0; j < d; j++) v -= mean[j] * kernel[j * k + c];
    bias[c] = v;
  }
  tf.dispose([z, y, w, b]);
  optimizer.dispose();
  return { kernel, bias, startLoss, endLoss };
}

/** Logits x W + b for raw features, [n, classes] row-major. */
export function probeLogits(fit: Pick<ProbeFit, 'kernel' | 'bias'>, x: Float32Array, n: number, d: number): Float32Array {
  const k = fit.bias.length;
  const out = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < k; c++) out[i * k + c] = fit.bias[c];
    for (let j = 0; j < d; j++) {
      const xj = x[i * d + j];
      for (let c = 0; c < k; c++) out[i * k + c] += xj * fit.kernel[j * k + c];
    }
  }
  return out;
}

/** Fraction of rows whose largest logit is at the label. */
export function probeAccuracy(logits: Float32Array, labels: ArrayLike<number>, n: number): number {
  const pred = argmaxRows(logits, n, logits.length / n);
  return pred.reduce((ok, p, i) => ok + (p === labels[i] ? 1 : 0), 0) / n;
}
