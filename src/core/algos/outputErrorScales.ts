/**
 * Per-output-channel weight scales chosen by the layer's OUTPUT error instead of the weight error.
 *
 * Why: the plain MSE clip (quant/weightScale.ts) minimizes ||w - s q(w/s)||^2, as if every input were
 * equally strong and uncorrelated. In a BN-folded MobileNetV2 they are not: a depthwise 3x3 filter sees
 * nine strongly correlated neighbouring pixels, and a pointwise layer sees a few channels with most of the
 * energy. Measured on nsfwjs' MobileNetV2 (bench/mobilenet.ts --sections sensitivity), the weight-MSE clip
 * at 4 bit was up to 2.5 dB worse in output SQNR than plain min-max on some layers and better on others.
 * Here each channel's clip ratio minimizes the quantity adaptive rounding also minimizes,
 *   E||W~ x~ - W x||^2 = a G a^T - 2 a C w^T + w H w^T  (a = s q(w/s)),
 * over the same candidate ratios as the MSE clip, exactly (the K x K moments, not a diagonal
 * approximation). The search is incremental: as s moves between candidates only a few codes change,
 * and each change updates G q and q G q^T in O(K), so a row costs O(K * code changes), not O(K^2) per
 * candidate.
 *
 * On a wide grid (8 bit) the incremental search stops paying: as s sweeps from max|w| to 0.3 max|w|, a code
 * q_l moves through ~2.3 |q_l| values, so a row costs ~2.3 K sum|q| ~ 60 K^2 scalar JS operations (ResNet-20
 * W8A8: 18 of the rounding stage's 24 CPU seconds). There every candidate's q G q^T is computed at once as
 * one matrix product per chunk of candidates on the tfjs backend (fast kernels): 100 K^2 multiply-adds per
 * row, but an order of magnitude faster per operation. Same candidates and criterion; float32 sums instead of
 * float64, so near-ties may pick a neighbouring candidate of equal error. Narrow rows (K < 32: a depthwise
 * 3x3, a first conv) stay incremental: there the JS loop is cheaper than one backend call per group; so
 * does every row on WebGPU over a software rasterizer (runtime/backends.ts backendMatMulIsFast).
 * The batched result is read asynchronously: WebGPU cannot read synchronously, and with the incremental
 * search in its place a MobileNetV2-224 W8A8 rounding stage took 193 s on an H200 (docs/benchmarks/
 * browser-webgpu-h200-2026-12-01.json), 30-55 s for each wide 1x1 layer.
 */
import * as tf from '@tensorflow/tfjs';
import type { SecondMoments } from './adaptiveRounding.js';
import { qrange, roundHalfEven } from '../quant/primitives.js';
import { backendMatMulIsFast } from '../runtime/backends.js';

export interface OutputErrorScaleOptions {
  bits: number;
  /** Candidate clip ratios, evenly spaced in [minRatio, 1] of max|w| (as the MSE clip). Default 100. */
  candidates?: number;
  minRatio?: number;
}

/** Scale of an all-zero row (any positive value represents 0 exactly), as in quant/weightScale.ts. */
const ZERO_ROW_SCALE = 1;

/**
 * One scale per row of `rows` (C_out x K, one group: every row sees the inputs whose moments are given),
 * each minimizing that row's output error a G a^T - 2 a C w^T over the candidate clip ratios.
 */
export async function outputErrorScales(rows: Float32Array, cOut: number, moments: SecondMoments, o: OutputErrorScaleOptions): Promise<Float32Array> {
  const k = moments.k;
  if (rows.length !== cOut * k) throw new RangeError(`${rows.length} weights are not ${cOut} rows of K = ${k}`);
  const { qmin, qmax } = qrange(o.bits, true);
  const candidates = Math.max(2, o.candidates ?? 100);
  const minRatio = o.minRatio ?? 0.3;
  if (o.bits >= BATCHED_FROM_BITS && k >= BATCHED_FROM_K && backendMatMulIsFast()) return batchedOutputErrorScales(rows, cOut, moments, qmin, qmax, candidates, minRatio);
  const { G, C } = moments;
  const scales = new Float32Array(cOut);
  const q = new Int32Array(k);
  const gq = new Float64Array(k);
  const cw = new Float64Array(k);
  for (let r = 0; r < cOut; r++) {
    const w = rows.subarray(r * k, (r + 1) * k);
    let maxAbs = 0;
    for (let i = 0; i < k; i++) maxAbs = Math.max(maxAbs, Math.abs(w[i]));
    if (maxAbs === 0 || !Number.isFinite(maxAbs)) {
      scales[r] = ZERO_ROW_SCALE;
      continue;
    }
    // C w^T once per row: the cross term of a candidate is then s * (q . Cw).
    for (let i = 0; i < k; i++) {
      let acc = 0;
      for (let j = 0; j < k; j++) acc += C[i * k + j] * w[j];
      cw[i] = acc;
    }
    q.fill(0);
    gq.fill(0);
    let qgq = 0;
    let best = maxAbs / qmax;
    let bestErr = Infinity;
    for (let c = 0; c < candidates; c++) {
      // ratios from 1 down to minRatio: the first candidate is the min-max scale
      const ratio = 1 - ((1 - minRatio) * c) / (candidates - 1);
      const s = (ratio * maxAbs) / qmax;
      for (let l = 0; l < k; l++) {
        let v = roundHalfEven(w[l] / s);
        if (v < qmin) v = qmin;
        else if (v > qmax) v = qmax;
        const d = v - q[l];
        if (d === 0) continue;
        // q G q^T after q_l += d (G symmetric): + 2 d (G q)_l + d^2 G_ll; then G q += d G[:, l]
        qgq += 2 * d * gq[l] + d * d * G[l * k + l];
        const row = l * k;
        for (let j = 0; j < k; j++) gq[j] += d * G[row + j];
        q[l] = v;
      }
      let qcw = 0;
      for (let l = 0; l < k; l++) qcw += q[l] * cw[l];
      const err = s * s * qgq - 2 * s * qcw;
      if (err < bestErr) {
        bestErr = err;
        best = s;
      }
    }
    scales[r] = best;
  }
  return scales;
}

/** From this many bits and this row length on, the batched search is faster than the incremental one (see the top of the file). */
const BATCHED_FROM_BITS = 6;
const BATCHED_FROM_K = 32;

/** Candidates per matrix product: bounds the [chunk * C_out, K] code matrix held at once. */
const CANDIDATES_PER_CHUNK = 20;

/** outputErrorScales with every candidate evaluated directly: err = s^2 q G q^T - 2 s q C w^T, codes q of W / s. */
async function batchedOutputErrorScales(rows: Float32Array, cOut: number, moments: SecondMoments, qmin: number, qmax: number, candidates: number, minRatio: number): Promise<Float32Array> {
  const k = moments.k;
  const maxAbs = new Float32Array(cOut);
  for (let r = 0; r < cOut; r++) {
    let m = 0;
    for (let i = 0; i < k; i++) m = Math.max(m, Math.abs(rows[r * k + i]));
    maxAbs[r] = m;
  }
  const ratio = (c: number) => 1 - ((1 - minRatio) * c) / (candidates - 1);
  const scales = new Float32Array(cOut);
  const bestErr = new Float64Array(cOut).fill(Infinity);
  for (let r = 0; r < cOut; r++) scales[r] = maxAbs[r] / qmax;
  const [w, g, cw] = tf.tidy(() => {
    const wt = tf.tensor2d(rows, [cOut, k]);
    // (C w^T) per row: cw[r, i] = sum_j C[i, j] w[r, j]
    return [wt, tf.tensor2d(moments.G, [k, k]), tf.matMul(wt, tf.tensor2d(moments.C, [k, k]), false, true)];
  });
  try {
    for (let c0 = 0; c0 < candidates; c0 += CANDIDATES_PER_CHUNK) {
      const m = Math.min(CANDIDATES_PER_CHUNK, candidates - c0);
      // s for (candidate, row), zero rows given any positive scale (their codes are 0 at every candidate)
      const s = new Float32Array(m * cOut);
      for (let c = 0; c < m; c++) for (let r = 0; r < cOut; r++) s[c * cOut + r] = maxAbs[r] > 0 && Number.isFinite(maxAbs[r]) ? (ratio(c0 + c) * maxAbs[r]) / qmax : 1;
      const errT = tf.tidy(() => {
        const st = tf.tensor3d(s, [m, cOut, 1]);
        // tfjs round is round-half-to-even, as quant/primitives roundHalfEven
        const q = tf.clipByValue(tf.round(tf.div(tf.expandDims(w, 0), st)), qmin, qmax).reshape([m * cOut, k]);
        const qgq = tf.sum(tf.mul(q, tf.matMul(q, g)), 1);
        const qcw = tf.sum(tf.mul(q.reshape([m, cOut, k]), tf.expandDims(cw, 0)), 2).reshape([m * cOut]);
        const sv = st.reshape([m * cOut]);
        return tf.sub(tf.mul(tf.square(sv), qgq), tf.mul(tf.mul(sv, 2), qcw));
      });
      let err: Float32Array;
      try {
        err = (await errT.data()) as Float32Array;
      } finally {
        errT.dispose();
      }
      for (let c = 0; c < m; c++) {
        for (let r = 0; r < cOut; r++) {
          if (!(maxAbs[r] > 0) || !Number.isFinite(maxAbs[r])) continue;
          const e = err[c * cOut + r];
          if (e < bestErr[r]) {
            bestErr[r] = e;
            scales[r] = s[c * cOut + r];
          }
        }
      }
    }
  } finally {
    tf.dispose([w, g, cw]);
  }
  for (let r = 0; r < cOut; r++) if (!(maxAbs[r] > 0) || !Number.isFinite(maxAbs[r])) scales[r] = ZERO_ROW_SCALE;
  return scales;
}
