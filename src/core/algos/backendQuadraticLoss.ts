/**
 * quadraticLoss (adaptiveRounding.ts), E||W~ x~ - W x||^2 from the second moments, as three matrix products
 * on the tfjs backend instead of float64 JS loops: with nearest rounding it is only reported (nearestError,
 * SQNR), and for wide layers the JS loops were the largest part of a MobileNetV2-224 rounding stage (3 K^2
 * multiply-adds per row: 0.9 G for a 1x1 conv with K = 960, ~1 s each). In float32 the plain form
 * a G a^T - 2 a C w^T + w H w^T loses the error in the cancellation of three large terms, so with d = a - w
 * it is rewritten exactly as
 *   d G d^T + 2 d (G - C) w^T + w (G - C - C^T + H) w^T,
 * three terms of the error's size; the differences of the moments are formed in float64 first.
 */
import * as tf from '@tensorflow/tfjs';
import type { AdaRoundProblem, SecondMoments } from './adaptiveRounding.js';

/** Below this K the JS loops are as fast (and a depthwise layer has one small problem per channel). */
export const BACKEND_LOSS_FROM_K = 64;

export async function backendQuadraticLoss(codes: ArrayLike<number>, p: AdaRoundProblem & { moments: SecondMoments }): Promise<number> {
  const { cOut, scales, weights: w, moments } = p;
  const { k, G, C, H } = moments;
  const d = new Float32Array(cOut * k);
  for (let i = 0; i < d.length; i++) d[i] = codes[i] * scales[Math.floor(i / k)] - w[i];
  const gMinusC = new Float32Array(k * k);
  const noise = new Float32Array(k * k);
  for (let l = 0; l < k; l++) {
    for (let j = 0; j < k; j++) {
      const lj = l * k + j;
      gMinusC[lj] = G[lj] - C[lj];
      noise[lj] = G[lj] - C[lj] - C[j * k + l] + H[lj];
    }
  }
  const t = tf.tidy(() => {
    const dt = tf.tensor2d(d, [cOut, k]);
    const wt = tf.tensor2d(w, [cOut, k]);
    const rowForm = (a: tf.Tensor2D, m: Float32Array, b: tf.Tensor2D) => tf.sum(tf.mul(tf.matMul(a, tf.tensor2d(m, [k, k])), b));
    return tf.stack([rowForm(dt, G, dt), rowForm(dt, gMinusC, wt), rowForm(wt, noise, wt)]);
  });
  // read asynchronously: WebGPU cannot read synchronously
  let dd: number, dw: number, ww: number;
  try {
    [dd, dw, ww] = await t.data();
  } finally {
    t.dispose();
  }
  return dd + 2 * dw + ww;
}
