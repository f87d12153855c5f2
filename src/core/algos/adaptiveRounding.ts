/**
 * Adaptive rounding (AdaRound) of one layer's weights on second moments of its inputs (docs/method.md):
 *
 *   W~ = s * clamp(floor(W / s) + h(V), qmin, qmax),   h(V) = clip(sigmoid(V) * 1.2 - 0.1, 0, 1)
 *   minimize  tr(W~ G W~^T) - 2 tr(W~ C W^T) + tr(W H W^T)  +  lambda * sum(1 - |2 h(V) - 1|^beta)
 *
 * with G = E[x~ x~^T], C = E[x~ x^T], H = E[x x^T] over input columns (im2col patches for a conv).
 * The first term is E||W~ x~ - W x||^2: squared output error summed over output channels, averaged
 * over positions (BRECQ's reconstruction loss), so lambda = 0.01 means what it means there.
 * The gradient is analytic (2 (W~ G - W C^T) through h), so each iteration is one (C_out x K)(K x K)
 * product plus elementwise work; no autograd, so it runs on any tfjs backend (wasm has no gradient
 * for some ops) or in plain JS.
 */
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_ADAROUND, type AdaroundConfig } from '../quant/config';
import { roundHalfEven } from '../quant/primitives';

export interface SecondMoments {
  k: number;
  /** E[x~ x~^T], K x K row-major (x~: input from the already-quantized network). */
  G: Float32Array;
  /** E[x~ x^T], K x K row-major. */
  C: Float32Array;
  /** E[x x^T], K x K row-major (x: float input). Only enters the constant term. */
  H: Float32Array;
}

/**
 * Sampled input columns instead of second moments: cheaper when n < K (layers with K in the
 * thousands). Each iteration is then (C_out x K)(K x n) and (C_out x n)(n x K) on the tfjs backend.
 */
export interface InputColumns {
  k: number;
  n: number;
  /** n x K row-major: x~ samples (row i of xq and of x from the same image position). */
  xq: Float32Array;
  /** n x K row-major: x samples. */
  x: Float32Array;
}

export interface AdaRoundProblem {
  /** C_out x K row-major float weights. */
  weights: Float32Array;
  cOut: number;
  /** One positive scale per output row. */
  scales: Float32Array;
  qmin: number;
  qmax: number;
  /** Exactly one of moments / columns. */
  moments?: SecondMoments;
  columns?: InputColumns;
}

function kOf(p: AdaRoundProblem): number {
  return p.moments ? p.moments.k : p.columns!.k;
}

export interface AdaRoundProgress {
  iteration: number;
  /** recLoss + lambda * roundLoss (roundLoss counts only after the warm start). */
  loss: number;
  recLoss: number;
  roundLoss: number;
  beta: number;
}

export interface AdaRoundOptions {
  iterations?: number;
  lr?: number;
  lambda?: number;
  betaStart?: number;
  betaEnd?: number;
  /** Fraction of iterations without the regularizer. */
  warmup?: number;
  /**
   * 'tfjs': everything on the active tfjs backend (for webgpu/webgl: no read-back per iteration);
   * 'hybrid': the K x K product with tf.matMul (wasm), the elementwise update in JS;
   * 'js': plain JS (beats the tfjs cpu backend). 'auto' (default): 'js' on the cpu backend or when
   * C_out * K^2 < 1e6, else 'tfjs'. Measured (C_out=64, K=576, 1000 iterations, 2 busy cores):
   * tfjs-wasm 4.7 s, hybrid-wasm 6.3 s, js 44 s, tfjs-cpu 284 s (bench/adaroundTiming.ts).
   */
  engine?: 'auto' | 'js' | 'hybrid' | 'tfjs';
  onProgress?: (p: AdaRoundProgress) => void;
  /** Report every n iterations (the last one is always reported). Default 50. */
  progressEvery?: number;
  /** Checked between iterations; throws the signal's reason when aborted. */
  signal?: AbortSignal;
}

export interface AdaRoundResult {
  /** Integer weights, C_out x K row-major, within [qmin, qmax]. */
  codes: Int8Array;
  /** Objective (reconstruction term only) of the returned codes. */
  loss: number;
  adaptiveLoss: number;
  nearestLoss: number;
  /** True when adaptive rounding ended worse than nearest and nearest was returned. */
  usedNearest: boolean;
  /** Fraction of weights whose code differs from round-to-nearest. */
  flippedFraction: number;
  iterations: number;
  seconds: number;
}

/** Stretch of the rectified sigmoid h(V) = clip(sigmoid(V) * (ZETA - GAMMA) + GAMMA, 0, 1) (AdaRound). */
export const ZETA = 1.1;
export const GAMMA = -0.1;

function sigmoid(v: number): number {
  return 1 / (1 + Math.exp(-v));
}

/** beta schedule (BRECQ LinearTempDecay): betaStart at the end of the warm start, linearly to betaEnd. */
export function betaAt(t: number, iterations: number, o: { betaStart: number; betaEnd: number; warmup: number }): number {
  const warm = o.warmup * iterations;
  if (t < warm) return o.betaStart;
  const rel = (t - warm) / Math.max(1, iterations - warm);
  return o.betaEnd + (o.betaStart - o.betaEnd) * Math.max(0, 1 - rel);
}

/**
 * out (m x n) = a (m x k) * b (k x n), row-major. Four rows of `a` per pass over `b` (2-3x faster in
 * V8 than the plain i-l-j loop, since each loaded b value feeds four accumulators).
 */
function matmulInto(out: Float32Array, a: Float32Array, b: Float32Array, m: number, k: number, n: number): void {
  out.fill(0);
  let i = 0;
  for (; i + 3 < m; i += 4) {
    const o0 = i * n;
    const o1 = o0 + n;
    const o2 = o1 + n;
    const o3 = o2 + n;
    for (let l = 0; l < k; l++) {
      const a0 = a[i * k + l];
      const a1 = a[(i + 1) * k + l];
      const a2 = a[(i + 2) * k + l];
      const a3 = a[(i + 3) * k + l];
      const bl = l * n;
      for (let j = 0; j < n; j++) {
        const bv = b[bl + j];
        out[o0 + j] += a0 * bv;
        out[o1 + j] += a1 * bv;
        out[o2 + j] += a2 * bv;
        out[o3 + j] += a3 * bv;
      }
    }
  }
  for (; i < m; i++) {
    const oi = i * n;
    for (let l = 0; l < k; l++) {
      const av = a[i * k + l];
      const bl = l * n;
      for (let j = 0; j < n; j++) out[oi + j] += av * b[bl + j];
    }
  }
}

/** W C^T: B[i, j] = sum_l W[i, l] C[j, l]. */
function weightTimesCT(w: Float32Array, c: Float32Array, cOut: number, k: number): Float32Array {
  const out = new Float32Array(cOut * k);
  for (let i = 0; i < cOut; i++) {
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let l = 0; l < k; l++) s += w[i * k + l] * c[j * k + l];
      out[i * k + j] = s;
    }
  }
  return out;
}

/** tr(W H W^T), in float64. */
function constantTerm(w: Float32Array, h: Float32Array, cOut: number, k: number): number {
  const wh = new Float32Array(cOut * k);
  matmulInto(wh, w, h, cOut, k, k);
  let s = 0;
  for (let i = 0; i < w.length; i++) s += wh[i] * w[i];
  return s;
}

/**
 * E||W~ x~ - W x||^2 for integer codes (C_out x K) with row scales, from the second moments.
 * Computed in float64 so that adaptive and nearest are compared on equal footing.
 */
export function quadraticLoss(codes: ArrayLike<number>, p: AdaRoundProblem): number {
  if (!p.moments) return columnsLoss(codes, p);
  const { cOut, scales, weights: w, moments } = p;
  const k = moments.k;
  const wq = new Float64Array(cOut * k);
  for (let i = 0; i < wq.length; i++) wq[i] = codes[i] * scales[Math.floor(i / k)];
  let total = 0;
  const row = new Float64Array(k);
  for (let i = 0; i < cOut; i++) {
    // r = wq_i G wq_i^T - 2 wq_i C w_i^T + w_i H w_i^T
    let quad = 0;
    let cross = 0;
    let cons = 0;
    row.fill(0);
    for (let l = 0; l < k; l++) {
      const a = wq[i * k + l];
      const b = w[i * k + l];
      if (a === 0 && b === 0) continue;
      for (let j = 0; j < k; j++) {
        const g = moments.G[l * k + j];
        quad += a * g * wq[i * k + j];
        cross += a * moments.C[l * k + j] * w[i * k + j];
        cons += b * moments.H[l * k + j] * w[i * k + j];
      }
    }
    total += quad - 2 * cross + cons;
  }
  return total;
}

/** ||W~ X~^T - W X^T||^2 / n on the tfjs backend (float32). */
function columnsLoss(codes: ArrayLike<number>, p: AdaRoundProblem): number {
  const c = p.columns!;
  const k = c.k;
  const wq = new Float32Array(p.cOut * k);
  for (let i = 0; i < wq.length; i++) wq[i] = codes[i] * p.scales[Math.floor(i / k)];
  return tf.tidy(() => {
    const yq = tf.matMul(tf.tensor2d(wq, [p.cOut, k]), tf.tensor2d(c.xq, [c.n, k]), false, true);
    const y = tf.matMul(tf.tensor2d(p.weights, [p.cOut, k]), tf.tensor2d(c.x, [c.n, k]), false, true);
    return yq.sub(y).square().sum().dataSync()[0] / c.n;
  });
}

export function nearestCodes(p: AdaRoundProblem): Int8Array {
  const k = kOf(p);
  const out = new Int8Array(p.weights.length);
  for (let i = 0; i < out.length; i++) {
    const q = roundHalfEven(p.weights[i] / p.scales[Math.floor(i / k)]);
    out[i] = q < p.qmin ? p.qmin : q > p.qmax ? p.qmax : q;
  }
  return out;
}

function checkProblem(p: AdaRoundProblem): void {
  if (!p.moments === !p.columns) throw new RangeError('give exactly one of moments and columns');
  const k = kOf(p);
  if (p.weights.length !== p.cOut * k) throw new RangeError(`weights have ${p.weights.length} values, expected C_out*K = ${p.cOut}*${k}`);
  if (p.scales.length !== p.cOut) throw new RangeError(`need ${p.cOut} scales, got ${p.scales.length}`);
  if (p.moments) for (const m of [p.moments.G, p.moments.C, p.moments.H]) if (m.length !== k * k) throw new RangeError(`second moments must be ${k}x${k}`);
  if (p.columns && (p.columns.xq.length !== p.columns.n * k || p.columns.x.length !== p.columns.n * k)) throw new RangeError(`columns must be n x K = ${p.columns.n} x ${k}`);
  for (const s of p.scales) if (!(s > 0) || !Number.isFinite(s)) throw new RangeError(`scales must be positive and finite; got ${s}`);
  if (p.qmin < -128 || p.qmax > 127 || p.qmin >= p.qmax) throw new RangeError(`code range [${p.qmin}, ${p.qmax}] must fit int8`);
}

type Resolved = Pick<AdaroundConfig, 'iterations' | 'lr' | 'lambda' | 'betaStart' | 'betaEnd' | 'warmup'> & { progressEvery: number };

function resolve(o: AdaRoundOptions): Resolved {
  const d = DEFAULT_ADAROUND;
  return {
    iterations: o.iterations ?? d.iterations,
    lr: o.lr ?? d.lr,
    lambda: o.lambda ?? d.lambda,
    betaStart: o.betaStart ?? d.betaStart,
    betaEnd: o.betaEnd ?? d.betaEnd,
    warmup: o.warmup ?? d.warmup,
    progressEvery: Math.max(1, o.progressEvery ?? 50),
  };
}

/** Initial V so that h(V) equals frac(W / s) (clamped away from 0/1 so that V stays finite). */
function initialV(p: AdaRoundProblem, floors: Float32Array): Float32Array {
  const k = kOf(p);
  const v = new Float32Array(p.weights.length);
  for (let i = 0; i < v.length; i++) {
    const x = p.weights[i] / p.scales[Math.floor(i / k)];
    const fl = Math.floor(x);
    floors[i] = fl;
    const frac = x - fl;
    let sig = (frac - GAMMA) / (ZETA - GAMMA);
    sig = Math.min(1 - 1e-6, Math.max(1e-6, sig));
    v[i] = Math.log(sig / (1 - sig));
  }
  return v;
}

function hardCodes(v: ArrayLike<number>, floors: Float32Array, qmin: number, qmax: number): Int8Array {
  const out = new Int8Array(floors.length);
  for (let i = 0; i < out.length; i++) {
    const q = floors[i] + (v[i] >= 0 ? 1 : 0);
    out[i] = q < qmin ? qmin : q > qmax ? qmax : q;
  }
  return out;
}

function yieldNow(): Promise<void> {
  return new Promise((r) => setTimeout(r, 0));
}

type GramProduct = (wq: Float32Array, out: Float32Array) => Float32Array;

/** W~ G in plain JS. */
function jsProduct(p: AdaRoundProblem, moments: SecondMoments): GramProduct {
  const k = moments.k;
  return (wq, out) => {
    matmulInto(out, wq, moments.G, p.cOut, k, k);
    return out;
  };
}

/** W~ G with tf.matMul on the active backend (wasm: XNNPACK, ~3 ms for 64x576x576), the rest in JS. */
function tfProduct(p: AdaRoundProblem, G: tf.Tensor2D): GramProduct {
  const k = G.shape[0];
  return (wq) => {
    const a = tf.tensor2d(wq, [p.cOut, k]);
    const prod = tf.matMul(a, G);
    const d = prod.dataSync() as Float32Array;
    a.dispose();
    prod.dispose();
    return d;
  };
}

/** Optimisation loop in JS (the K x K product through `product`); updates v in place. */
/** The quadratic objective as the loop needs it: W~ -> W~ G, B = W C^T and tr(W H W^T). */
interface Objective {
  product: GramProduct;
  b: Float32Array;
  cons: number;
  dispose(): void;
}

function momentsObjective(p: AdaRoundProblem, m: SecondMoments, useTf: boolean): Objective {
  const G = useTf ? tf.tensor2d(m.G, [m.k, m.k]) : null;
  return {
    product: G ? tfProduct(p, G) : jsProduct(p, m),
    b: weightTimesCT(p.weights, m.C, p.cOut, m.k),
    cons: constantTerm(p.weights, m.H, p.cOut, m.k),
    dispose: () => G?.dispose(),
  };
}

/** Same objective from columns: W~ G = (W~ X~^T) X~ / n, B = (W X^T) X~ / n, tr(W H W^T) = ||W X^T||^2 / n. */
function columnsObjective(p: AdaRoundProblem, c: InputColumns): Objective {
  const xq = tf.tensor2d(c.xq, [c.n, c.k]);
  const [b, cons] = tf.tidy(() => {
    const y = tf.matMul(tf.tensor2d(p.weights, [p.cOut, c.k]), tf.tensor2d(c.x, [c.n, c.k]), false, true);
    return [tf.matMul(y, xq).div(c.n).dataSync() as Float32Array, y.square().sum().dataSync()[0] / c.n];
  });
  return {
    product: (wq) =>
      tf.tidy(() => {
        const yq = tf.matMul(tf.tensor2d(wq, [p.cOut, c.k]), xq, false, true);
        return tf.matMul(yq, xq).div(c.n).dataSync() as Float32Array;
      }),
    b,
    cons,
    dispose: () => xq.dispose(),
  };
}

async function optimiseJs(p: AdaRoundProblem, o: Resolved, v: Float32Array, floors: Float32Array, obj: Objective, onProgress?: AdaRoundOptions['onProgress'], signal?: AbortSignal): Promise<void> {
  const { cOut, scales, qmin, qmax } = p;
  const k = kOf(p);
  const n = cOut * k;
  const { b, cons, product } = obj;
  const wq = new Float32Array(n);
  const sigs = new Float32Array(n); // sigmoid(V), computed once per iteration
  const prodBuf = new Float32Array(n);
  const m1 = new Float32Array(n);
  const m2 = new Float32Array(n);
  const b1 = 0.9;
  const b2 = 0.999;
  const eps = 1e-8;
  const warmIters = o.warmup * o.iterations;
  let lastYield = Date.now();
  for (let t = 0; t < o.iterations; t++) {
    if (signal?.aborted) throw signal.reason ?? new Error('aborted');
    const withReg = t >= warmIters;
    const beta = betaAt(t, o.iterations, o);
    for (let i = 0; i < n; i++) {
      const sg = sigmoid(v[i]);
      sigs[i] = sg;
      const hr = sg * (ZETA - GAMMA) + GAMMA;
      let q = floors[i] + (hr < 0 ? 0 : hr > 1 ? 1 : hr);
      if (q < qmin) q = qmin;
      else if (q > qmax) q = qmax;
      wq[i] = q * scales[Math.floor(i / k)];
    }
    const prod = product(wq, prodBuf);
    let rec = cons;
    let reg = 0;
    const report = onProgress && (t % o.progressEvery === 0 || t === o.iterations - 1);
    const c1 = 1 - b1 ** (t + 1);
    const c2 = 1 - b2 ** (t + 1);
    for (let i = 0; i < n; i++) {
      if (report) rec += wq[i] * (prod[i] - 2 * b[i]);
      const sig = sigs[i];
      const hraw = sig * (ZETA - GAMMA) + GAMMA;
      const h = hraw < 0 ? 0 : hraw > 1 ? 1 : hraw;
      const fq = floors[i] + h;
      let g = 0;
      if (fq >= qmin && fq <= qmax && hraw > 0 && hraw < 1) {
        g = 2 * (prod[i] - b[i]) * scales[Math.floor(i / k)];
      }
      if (withReg) {
        const d = 2 * h - 1;
        const ad = Math.abs(d);
        const adPow = ad > 0 ? Math.pow(ad, beta - 1) : 0; // one pow: |d|^beta = |d|^(beta-1) |d|
        if (report) reg += 1 - adPow * ad;
        if (hraw > 0 && hraw < 1 && ad > 0) g += o.lambda * -beta * adPow * Math.sign(d) * 2;
      }
      g *= hraw > 0 && hraw < 1 ? (ZETA - GAMMA) * sig * (1 - sig) : 0;
      m1[i] = b1 * m1[i] + (1 - b1) * g;
      m2[i] = b2 * m2[i] + (1 - b2) * g * g;
      v[i] -= (o.lr * (m1[i] / c1)) / (Math.sqrt(m2[i] / c2) + eps);
    }
    if (report) onProgress!({ iteration: t, loss: rec + o.lambda * reg, recLoss: rec, roundLoss: reg, beta });
    if (Date.now() - lastYield > 100) {
      await yieldNow(); // let a worker receive a cancel message
      lastYield = Date.now();
    }
  }
}

/** Same loop on the active tfjs backend (all ops forward-only). */
async function optimiseTf(p: AdaRoundProblem, m: SecondMoments, o: Resolved, v0: Float32Array, floors0: Float32Array, onProgress?: AdaRoundOptions['onProgress'], signal?: AbortSignal): Promise<Float32Array> {
  const { cOut, qmin, qmax } = p;
  const k = m.k;
  const G = tf.tensor2d(m.G, [k, k]);
  const W = tf.tensor2d(p.weights, [cOut, k]);
  const Cm = tf.tensor2d(m.C, [k, k]);
  const B = tf.matMul(W, Cm, false, true);
  const cons = constantTerm(p.weights, m.H, cOut, k);
  Cm.dispose();
  W.dispose();
  const S = tf.tensor2d(p.scales, [cOut, 1]);
  const F = tf.tensor2d(floors0, [cOut, k]);
  let V = tf.tensor2d(v0, [cOut, k]);
  let M1 = tf.zerosLike(V);
  let M2 = tf.zerosLike(V);
  const warmIters = o.warmup * o.iterations;
  try {
    for (let t = 0; t < o.iterations; t++) {
      if (signal?.aborted) throw signal.reason ?? new Error('aborted');
      const withReg = t >= warmIters;
      const beta = betaAt(t, o.iterations, o);
      const report = onProgress && (t % o.progressEvery === 0 || t === o.iterations - 1);
      const c1 = 1 - 0.9 ** (t + 1);
      const c2 = 1 - 0.999 ** (t + 1);
      const [v, m1, m2, rec, reg] = tf.tidy((): tf.Tensor[] => {
        const sig = tf.sigmoid(V);
        const hraw = sig.mul(ZETA - GAMMA).add(GAMMA);
        const h = hraw.clipByValue(0, 1);
        const fq = F.add(h);
        const wq = fq.clipByValue(qmin, qmax).mul(S);
        const prod = tf.matMul(wq, G);
        // dh/dV, zero where the rectified sigmoid is clipped; the reconstruction gradient is zero
        // where the code is clamped to the grid
        const inside = tf.logicalAnd(hraw.greater(0), hraw.less(1)).cast('float32');
        const inRange = tf.logicalAnd(fq.greaterEqual(qmin), fq.lessEqual(qmax)).cast('float32');
        let g = prod.sub(B).mul(S).mul(inRange).mul(2);
        let regSum: tf.Tensor | undefined;
        if (withReg) {
          const d = h.mul(2).sub(1);
          const ad = d.abs();
          g = g.add(ad.pow(beta - 1).mul(d.sign()).mul(-2 * beta * o.lambda));
          if (report) regSum = tf.sub(1, ad.pow(beta)).sum();
        }
        g = g.mul(sig.mul(tf.sub(1, sig)).mul((ZETA - GAMMA)).mul(inside));
        const m1n = M1.mul(0.9).add(g.mul(0.1));
        const m2n = M2.mul(0.999).add(g.square().mul(0.001));
        const vn = V.sub(m1n.div(c1).div(m2n.div(c2).sqrt().add(1e-8)).mul(o.lr));
        const out = [vn, m1n, m2n];
        if (report) out.push(wq.mul(prod.sub(B.mul(2))).sum(), regSum ?? tf.scalar(0));
        return out;
      });
      V.dispose();
      M1.dispose();
      M2.dispose();
      V = v as tf.Tensor2D;
      M1 = m1 as tf.Tensor2D;
      M2 = m2 as tf.Tensor2D;
      if (rec && reg) {
        const recLoss = (await rec.data())[0] + cons;
        const roundLoss = (await reg.data())[0];
        tf.dispose([rec, reg]);
        onProgress!({ iteration: t, loss: recLoss + o.lambda * roundLoss, recLoss, roundLoss, beta });
      }
    }
    return (await V.data()) as Float32Array;
  } finally {
    for (const x of [G, B, S, F, V, M1, M2]) x.dispose();
  }
}

/** Round one layer's weights by minimizing its output error on the given second moments (or columns). */
export async function adaptiveRounding(problem: AdaRoundProblem, options: AdaRoundOptions = {}): Promise<AdaRoundResult> {
  checkProblem(problem);
  const t0 = performance.now();
  const o = resolve(options);
  const floors = new Float32Array(problem.weights.length);
  let v = initialV(problem, floors);
  let engine = options.engine ?? 'auto';
  if (engine === 'auto') {
    const b = tf.getBackend();
    const k = kOf(problem);
    // small products: tensor overheads per iteration cost more than the JS product itself
    const small = problem.cOut * k * k < 1e6;
    engine = b === 'cpu' || small ? 'js' : 'tfjs';
  }
  if (engine === 'tfjs' && problem.moments) v = await optimiseTf(problem, problem.moments, o, v, floors, options.onProgress, options.signal);
  else {
    // columns always take their products on the tfjs backend
    const obj = problem.moments ? momentsObjective(problem, problem.moments, engine !== 'js') : columnsObjective(problem, problem.columns!);
    try {
      await optimiseJs(problem, o, v, floors, obj, options.onProgress, options.signal);
    } finally {
      obj.dispose();
    }
  }
  const adaptive = hardCodes(v, floors, problem.qmin, problem.qmax);
  const nearest = nearestCodes(problem);
  const adaptiveLoss = quadraticLoss(adaptive, problem);
  const nearestLoss = quadraticLoss(nearest, problem);
  const usedNearest = adaptiveLoss > nearestLoss;
  const codes = usedNearest ? nearest : adaptive;
  let flipped = 0;
  for (let i = 0; i < codes.length; i++) if (codes[i] !== nearest[i]) flipped++;
  return {
    codes,
    loss: usedNearest ? nearestLoss : adaptiveLoss,
    adaptiveLoss,
    nearestLoss,
    usedNearest,
    flippedFraction: flipped / codes.length,
    iterations: o.iterations,
    seconds: (performance.now() - t0) / 1000,
  };
}
