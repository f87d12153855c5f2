/**
 * Input columns of a layer and their second moments, for adaptive rounding and bias correction.
 *
 * A conv's output at one position is W (C_out x K) times one column of K = C_in/group * kh * kw input
 * values; the column order here is (c, i, j), matching ONNX OIHW weights flattened per output channel.
 * Inputs are NHWC tensors (how the executor holds 4-D values).
 */
import { windowOut } from '../ir/shapeInference.js';
import * as tf from '@tensorflow/tfjs';
import type { SecondMoments } from './adaptiveRounding';

export interface ConvGeometry {
  kernel: [number, number];
  strides?: [number, number];
  /** ONNX order: [top, left, bottom, right]. */
  pads?: [number, number, number, number];
  dilations?: [number, number];
  /** Channels [channelStart, channelStart + channelCount) feed this group (default: all). */
  channelStart?: number;
  channelCount?: number;
}

/** Geometry of an ONNX Conv node's attributes (explicit pads; auto_pad must have been resolved). */
export function convGeometry(attrs: Record<string, unknown>, weightDims: number[]): ConvGeometry {
  const ks = (attrs.kernel_shape as number[] | undefined) ?? weightDims.slice(2);
  const pads = (attrs.pads as number[] | undefined) ?? [0, 0, 0, 0];
  const st = (attrs.strides as number[] | undefined) ?? [1, 1];
  const dl = (attrs.dilations as number[] | undefined) ?? [1, 1];
  if (ks.length !== 2) throw new RangeError(`only 2-D convolutions are supported; kernel_shape ${JSON.stringify(ks)}`);
  return { kernel: [ks[0], ks[1]], strides: [st[0], st[1]], pads: [pads[0], pads[1], pads[2], pads[3]], dilations: [dl[0], dl[1]] };
}

/** [N*Ho*Wo, C*kh*kw] columns of an NHWC input (column index c*kh*kw + i*kw + j). */
export function im2colNHWC(x: tf.Tensor4D, g: ConvGeometry): tf.Tensor2D {
  return tf.tidy(() => {
    const [n, h, w, cAll] = x.shape;
    const c0 = g.channelStart ?? 0;
    const c = g.channelCount ?? cAll - c0;
    const [kh, kw] = g.kernel;
    const [sh, sw] = g.strides ?? [1, 1];
    const [pt, pl, pb, pr] = g.pads ?? [0, 0, 0, 0];
    const [dh, dw] = g.dilations ?? [1, 1];
    let xs: tf.Tensor4D = c0 === 0 && c === cAll ? x : tf.slice(x, [0, 0, 0, c0], [n, h, w, c]);
    if (pt || pl || pb || pr) xs = tf.pad(xs, [[0, 0], [pt, pb], [pl, pr], [0, 0]]);
    const ho = windowOut(h, kh, sh, dh, pt, pt + pb, 'NOTSET', false);
    const wo = windowOut(w, kw, sw, dw, pl, pl + pr, 'NOTSET', false);
    if (kh === 1 && kw === 1 && sh === 1 && sw === 1) return xs.reshape([n * ho * wo, c]) as tf.Tensor2D;
    const taps: tf.Tensor4D[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        taps.push(tf.stridedSlice(xs, [0, i * dh, j * dw, 0], [n, i * dh + (ho - 1) * sh + 1, j * dw + (wo - 1) * sw + 1, c], [1, sh, sw, 1]) as tf.Tensor4D);
      }
    }
    // [N, Ho, Wo, C, kh*kw] -> rows of (c, i, j)
    return tf.stack(taps, 4).reshape([n * ho * wo, c * kh * kw]) as tf.Tensor2D;
  });
}

/** A conv's geometry resolved for one NHWC input shape: kernel, strides, pads, dilations, output size. */
function resolved(shape: number[], g: ConvGeometry) {
  const [n, h, w, c] = shape;
  const [kh, kw] = g.kernel;
  const [sh, sw] = g.strides ?? [1, 1];
  const [pt, pl, pb, pr] = g.pads ?? [0, 0, 0, 0];
  const [dh, dw] = g.dilations ?? [1, 1];
  const ho = windowOut(h, kh, sh, dh, pt, pt + pb, 'NOTSET', false);
  const wo = windowOut(w, kw, sw, dw, pl, pl + pr, 'NOTSET', false);
  return { n, c, kh, kw, sh, sw, dh, dw, ho, wo, hp: h + pt + pb, wp: w + pl + pr, padding: [[0, 0], [pt, pb], [pl, pr], [0, 0]] as [number, number][], padded: !!(pt || pl || pb || pr) };
}

/** Number of im2col rows (N * Ho * Wo) of an NHWC input of this shape. */
export function convOutputRows(shape: number[], g: ConvGeometry): number {
  const r = resolved(shape, g);
  return r.n * r.ho * r.wo;
}

/**
 * Rows `rows` of im2colNHWC(x, g) (indices into N*Ho*Wo, all channels), without forming the other rows:
 * one gather per kernel tap from the padded input. A sampled layer input costs S*K values instead of
 * N*Ho*Wo*K (for a 224x224 MobileNet layer, megabytes instead of gigabytes).
 */
export function sampledColumnsNHWC(x: tf.Tensor4D, g: ConvGeometry, rows: Int32Array): tf.Tensor2D {
  const { n, c, kh, kw, sh, sw, dh, dw, ho, wo, hp, wp, padding, padded } = resolved(x.shape, g);
  if (rows.some((r) => r < 0 || r >= n * ho * wo)) throw new RangeError(`row index outside 0..${n * ho * wo - 1}`);
  // one index list for all taps and one gather: tfjs-wasm's concat/stack (kernel taps) runs in JS, slowly
  const s = rows.length;
  // each row's window origin in the padded input, once; a tap adds its own offset
  const origin = Int32Array.from(rows, (r) => {
    const b = Math.floor(r / (ho * wo));
    const oy = Math.floor(r / wo) % ho;
    const ox = r % wo;
    return (b * hp + oy * sh) * wp + ox * sw;
  });
  const idx = new Int32Array(kh * kw * s);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const base = (i * kw + j) * s;
      const offset = i * dh * wp + j * dw;
      for (let t = 0; t < s; t++) idx[base + t] = origin[t] + offset;
    }
  }
  return tf.tidy(() => {
    const flat = (padded ? tf.pad(x, padding) : x).reshape([n * hp * wp, c]);
    const taps = tf.gather(flat, tf.tensor1d(idx, 'int32')); // [kh*kw*S, C]
    if (kh * kw === 1) return taps as tf.Tensor2D;
    // [kh*kw, S, C] -> [S, C, kh*kw]: rows of (c, i, j)
    return taps.reshape([kh * kw, s, c]).transpose([1, 2, 0]).reshape([s, c * kh * kw]) as tf.Tensor2D;
  });
}

/**
 * Sums over all N*Ho*Wo rows of im2colNHWC(x, g) (length C*kh*kw, order (c, i, j)) and the row count,
 * from one strided window sum per tap: exact column means for bias correction, zero padding included.
 */
export function columnSumsNHWC(x: tf.Tensor4D, g: ConvGeometry): { sums: tf.Tensor1D; count: number } {
  const { n, c, kh, kw, sh, sw, dh, dw, ho, wo, padding, padded } = resolved(x.shape, g);
  const sums = tf.tidy(() => {
    const xp = padded ? tf.pad(x, padding) : x;
    const taps: tf.Tensor1D[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const win = tf.stridedSlice(xp, [0, i * dh, j * dw, 0], [n, i * dh + (ho - 1) * sh + 1, j * dw + (wo - 1) * sw + 1, c], [1, sh, sw, 1]);
        taps.push(win.sum([0, 1, 2]) as tf.Tensor1D);
      }
    }
    return tf.stack(taps, 1).reshape([c * kh * kw]) as tf.Tensor1D;
  });
  return { sums, count: n * ho * wo };
}

/** Deterministic choice of `count` distinct row indices out of `total` (all when count >= total). */
export function sampleRowIndices(total: number, count: number, seed: number): Int32Array {
  if (count >= total) return Int32Array.from({ length: total }, (_, i) => i);
  let s = (seed * 2654435761 + 1) >>> 0 || 1;
  const rnd = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
  // partial Fisher-Yates over an index array
  const idx = Int32Array.from({ length: total }, (_, i) => i);
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(rnd() * (total - i));
    const t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
  return idx.slice(0, count).sort();
}

/**
 * Running sums of x~ x~^T, x~ x^T, x x^T and of x, x~ over batches of columns (rows of [P, groups*K]),
 * one K x K set per group (group g reads columns g*K .. (g+1)*K-1: a grouped conv's im2col, whose
 * channels of one group are contiguous). Depthwise: K = kh*kw, one small exact quadratic form per channel.
 * The same rows of xq and x must come from the same image positions.
 */
export class SecondMomentAccumulator {
  private g: tf.Tensor;
  private c: tf.Tensor;
  private h: tf.Tensor;
  private sx: tf.Tensor;
  private sxq: tf.Tensor;
  count = 0;

  constructor(readonly k: number, readonly groups = 1) {
    const sq = groups === 1 ? [k, k] : [groups, k, k];
    this.g = tf.zeros(sq);
    this.c = tf.zeros(sq);
    this.h = tf.zeros(sq);
    this.sx = tf.zeros([groups * k]);
    this.sxq = tf.zeros([groups * k]);
  }

  add(xq: tf.Tensor2D, x: tf.Tensor2D): void {
    const width = this.groups * this.k;
    if (xq.shape[1] !== width || x.shape[1] !== width || xq.shape[0] !== x.shape[0]) {
      throw new RangeError(`columns must be [P, ${width}] for both inputs; got ${JSON.stringify(xq.shape)} and ${JSON.stringify(x.shape)}`);
    }
    const next = tf.tidy(() => {
      // groups > 1: [P, G, K] -> [G, P, K], one batched product per moment.
      // tfjs 4.22 wasm pitfall: matMul(a, b, transposeA=true) takes a slow path, 10-30x slower than an
      // explicit transpose + plain matMul (4096x576 columns: 6-20 s vs 0.4-0.7 s), so transpose first.
      const byGroup = (t: tf.Tensor2D) => (this.groups === 1 ? t : t.reshape([t.shape[0], this.groups, this.k]).transpose([1, 0, 2]));
      const transposed = (t: tf.Tensor2D) => (this.groups === 1 ? t.transpose() : t.reshape([t.shape[0], this.groups, this.k]).transpose([1, 2, 0]));
      const q = byGroup(xq) as tf.Tensor3D;
      const f = byGroup(x) as tf.Tensor3D;
      const qT = transposed(xq) as tf.Tensor3D;
      const fT = transposed(x) as tf.Tensor3D;
      return [this.g.add(tf.matMul(qT, q)), this.c.add(tf.matMul(qT, f)), this.h.add(tf.matMul(fT, f)), this.sx.add(x.sum(0)), this.sxq.add(xq.sum(0))];
    });
    tf.dispose([this.g, this.c, this.h, this.sx, this.sxq]);
    [this.g, this.c, this.h, this.sx, this.sxq] = next;
    this.count += x.shape[0];
  }

  /** Averages per group: G, C, H (K x K) and the means of x and x~ (length K). */
  async results(): Promise<(SecondMoments & { meanX: Float32Array; meanXq: Float32Array })[]> {
    if (this.count === 0) throw new RangeError('no columns accumulated');
    const n = this.count;
    const arr = async (t: tf.Tensor) => ((await t.data()) as Float32Array).map((v) => v / n);
    const [G, C, H, mx, mxq] = [await arr(this.g), await arr(this.c), await arr(this.h), await arr(this.sx), await arr(this.sxq)];
    const kk = this.k * this.k;
    return Array.from({ length: this.groups }, (_, gi) => ({
      k: this.k,
      G: G.slice(gi * kk, (gi + 1) * kk),
      C: C.slice(gi * kk, (gi + 1) * kk),
      H: H.slice(gi * kk, (gi + 1) * kk),
      meanX: mx.slice(gi * this.k, (gi + 1) * this.k),
      meanXq: mxq.slice(gi * this.k, (gi + 1) * this.k),
    }));
  }

  /** The moments of a one-group accumulator. */
  async result(): Promise<SecondMoments & { meanX: Float32Array; meanXq: Float32Array }> {
    if (this.groups !== 1) throw new RangeError(`${this.groups} groups: use results()`);
    return (await this.results())[0];
  }

  dispose(): void {
    tf.dispose([this.g, this.c, this.h, this.sx, this.sxq]);
  }
}
