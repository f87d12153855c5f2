/**
 * Weight quantization scales: symmetric (zero point 0), signed codes, per output channel or per tensor.
 *
 * Layout: every function here works on a row-major matrix with one row per output channel
 * (C_out x K). For Conv (ONNX OIHW) that is the weight as stored (K = C_in/group * kh * kw), and the
 * ONNX DequantizeLinear axis is 0. For Gemm, B is K x N when transB = 0 (output channel axis 1: use
 * `weightAsRows` to transpose) and N x K when transB = 1 (axis 0). MatMul weights are K x N (axis 1).
 */
import { qrange, roundHalfEven } from './primitives';

export type WeightScaleMethod = 'max' | 'mse';

export interface WeightScaleOptions {
  bits: number;
  /** 'mse' (default): clip ratio minimizing (weighted) squared error; 'max': scale = max|w| / qmax. */
  method?: WeightScaleMethod;
  /** Number of clip ratios tried, evenly spaced in [minRatio, 1]. Default 100. */
  candidates?: number;
  /** Smallest clip ratio of max|w| tried. Default 0.3. */
  minRatio?: number;
  /**
   * Optional diag(E[x x^T]) of the layer input (length K): weights the error of column k by E[x_k^2],
   * so the scale minimizes the expected output error under a diagonal approximation instead of the
   * plain weight error.
   */
  inputSecondMoment?: Float32Array;
}

/** Output-channel axis of a weight in ONNX terms (what DequantizeLinear's `axis` must be). */
export function outputChannelAxis(opType: string, attrs: { transB?: number } = {}): number {
  if (opType === 'Conv') return 0;
  if (opType === 'ConvTranspose') return 1; // (C_in, C_out/group, kh, kw)
  if (opType === 'Gemm') return attrs.transB ? 0 : 1;
  if (opType === 'MatMul') return 1;
  throw new RangeError(`no weight layout known for ${opType}`);
}

/**
 * View a weight as C_out x K rows: returns the data unchanged for axis 0, a transposed copy of a 2-D
 * weight for axis 1. `fromRows` undoes it.
 */
export function weightAsRows(data: Float32Array, dims: number[], axis: number): { rows: Float32Array; cOut: number; k: number } {
  if (axis === 0) {
    const cOut = dims[0];
    return { rows: data, cOut, k: data.length / cOut };
  }
  if (axis === 1 && dims.length === 2) return { rows: transpose(data, dims[0], dims[1]), cOut: dims[1], k: dims[0] };
  throw new RangeError(`weightAsRows supports axis 0, or axis 1 of a 2-D weight; got axis ${axis} dims ${JSON.stringify(dims)}`);
}

export function fromRows<T extends Float32Array | Int8Array | Int32Array>(rows: T, dims: number[], axis: number): T {
  if (axis === 0) return rows;
  return transpose(rows, dims[1], dims[0]);
}

/** A row-major r x c matrix as c x r (same array type). */
export function transpose<T extends Float32Array | Int8Array | Int32Array>(a: T, r: number, c: number): T {
  const out = new (a.constructor as { new (n: number): T })(a.length);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = a[i * c + j];
  return out;
}

/** Scale used when a row is all zeros (any positive value represents 0 exactly; 1 keeps bias scales sane). */
const ZERO_ROW_SCALE = 1;

/** Weighted squared error of symmetric fake quantization of w[off..off+n) with scale s. */
function quantError(w: Float32Array, off: number, n: number, s: number, qmin: number, qmax: number, weight?: Float32Array): number {
  let e = 0;
  for (let i = 0; i < n; i++) {
    const x = w[off + i];
    let q = roundHalfEven(x / s);
    if (q < qmin) q = qmin;
    else if (q > qmax) q = qmax;
    const d = x - q * s;
    e += weight ? weight[i] * d * d : d * d;
  }
  return e;
}

/** Best scale for one block of weights (a row, or the whole tensor). */
function blockScale(w: Float32Array, off: number, n: number, o: Required<Omit<WeightScaleOptions, 'inputSecondMoment'>>, weight?: Float32Array): number {
  const { qmin, qmax } = qrange(o.bits, true);
  let maxAbs = 0;
  for (let i = 0; i < n; i++) maxAbs = Math.max(maxAbs, Math.abs(w[off + i]));
  if (maxAbs === 0 || !Number.isFinite(maxAbs)) return ZERO_ROW_SCALE;
  const maxScale = maxAbs / qmax;
  if (o.method === 'max') return maxScale;
  let best = maxScale;
  let bestErr = quantError(w, off, n, maxScale, qmin, qmax, weight);
  const steps = Math.max(1, o.candidates - 1);
  for (let c = 0; c < steps; c++) {
    const ratio = o.minRatio + ((1 - o.minRatio) * c) / steps;
    const s = ratio * maxScale;
    const e = quantError(w, off, n, s, qmin, qmax, weight);
    if (e < bestErr) {
      bestErr = e;
      best = s;
    }
  }
  return best;
}

function withDefaults(o: WeightScaleOptions): Required<Omit<WeightScaleOptions, 'inputSecondMoment'>> {
  return { bits: o.bits, method: o.method ?? 'mse', candidates: o.candidates ?? 100, minRatio: o.minRatio ?? 0.3 };
}

/** One scale per row of a C_out x K row-major matrix. */
export function perChannelWeightScales(rows: Float32Array, cOut: number, opts: WeightScaleOptions): Float32Array {
  const k = rows.length / cOut;
  if (!Number.isInteger(k)) throw new RangeError(`${rows.length} weights do not split into ${cOut} rows`);
  if (opts.inputSecondMoment && opts.inputSecondMoment.length !== k) {
    throw new RangeError(`inputSecondMoment has ${opts.inputSecondMoment.length} entries, expected K = ${k}`);
  }
  const o = withDefaults(opts);
  const scales = new Float32Array(cOut);
  for (let r = 0; r < cOut; r++) scales[r] = blockScale(rows, r * k, k, o, opts.inputSecondMoment);
  return scales;
}

/** A single scale for the whole weight (rows layout when inputSecondMoment is given). */
export function perTensorWeightScale(rows: Float32Array, opts: WeightScaleOptions): number {
  const o = withDefaults(opts);
  let weight: Float32Array | undefined;
  if (opts.inputSecondMoment) {
    const k = opts.inputSecondMoment.length;
    weight = new Float32Array(rows.length);
    for (let i = 0; i < rows.length; i++) weight[i] = opts.inputSecondMoment[i % k];
  }
  return blockScale(rows, 0, rows.length, o, weight);
}

/** Nearest-rounded signed codes of a rows matrix with per-row scales (C_out x K). */
export function quantizeRowsNearest(rows: Float32Array, scales: Float32Array, bits: number): Int8Array {
  const { qmin, qmax } = qrange(bits, true);
  const k = rows.length / scales.length;
  const out = new Int8Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const q = roundHalfEven(rows[i] / scales[Math.floor(i / k)]);
    out[i] = q < qmin ? qmin : q > qmax ? qmax : q;
  }
  return out;
}
