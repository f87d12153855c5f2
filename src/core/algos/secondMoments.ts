/**
 * Input columns of a layer and their second moments, for adaptive rounding and bias correction.
 *
 * A conv's output at one position is W (C_out x K) times one column of K = C_in/group * kh * kw input
 * values; the column order here is (c, i, j), matching ONNX OIHW weights flattened per output channel.
 * Inputs are NHWC tensors (how the executor holds 4-D values).
 */
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
    const hp = h + pt + pb;
    const wp = w + pl + pr;
    const ho = Math.floor((hp - dh * (kh - 1) - 1) / sh) + 1;
    const wo = Math.floor((wp - dw * (kw - 1) - 1) / sw) + 1;
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
 * Running sums of x~ x~^T, x~ x^T, x x^T and of x, x~ over batches of columns (rows of [P, K]).
 * The same rows of xq and x must come from the same image positions.
 */
export class SecondMomentAccumulator {
  private g: tf.Tensor2D;
  private c: tf.Tensor2D;
  private h: tf.Tensor2D;
  private sx: tf.Tensor1D;
  private sxq: tf.Tensor1D;
  count = 0;

  constructor(readonly k: number) {
    this.g = tf.zeros([k, k]);
    this.c = tf.zeros([k, k]);
    this.h = tf.zeros([k, k]);
    this.sx = tf.zeros([k]);
    this.sxq = tf.zeros([k]);
  }

  add(xq: tf.Tensor2D, x: tf.Tensor2D): void {
    if (xq.shape[1] !== this.k || x.shape[1] !== this.k || xq.shape[0] !== x.shape[0]) {
      throw new RangeError(`columns must be [P, ${this.k}] for both inputs; got ${JSON.stringify(xq.shape)} and ${JSON.stringify(x.shape)}`);
    }
    const next = tf.tidy(() => [
      this.g.add(tf.matMul(xq, xq, true, false)),
      this.c.add(tf.matMul(xq, x, true, false)),
      this.h.add(tf.matMul(x, x, true, false)),
      this.sx.add(x.sum(0)),
      this.sxq.add(xq.sum(0)),
    ]);
    tf.dispose([this.g, this.c, this.h, this.sx, this.sxq]);
    [this.g, this.c, this.h] = next.slice(0, 3) as tf.Tensor2D[];
    [this.sx, this.sxq] = next.slice(3) as tf.Tensor1D[];
    this.count += x.shape[0];
  }

  /** Averages: G, C, H (K x K) and the means of x and x~ (length K). */
  async result(): Promise<SecondMoments & { meanX: Float32Array; meanXq: Float32Array }> {
    if (this.count === 0) throw new RangeError('no columns accumulated');
    const n = this.count;
    const arr = async (t: tf.Tensor) => {
      const d = (await t.data()) as Float32Array;
      return d.map((v) => v / n);
    };
    return { k: this.k, G: await arr(this.g), C: await arr(this.c), H: await arr(this.h), meanX: await arr(this.sx), meanXq: await arr(this.sxq) };
  }

  dispose(): void {
    tf.dispose([this.g, this.c, this.h, this.sx, this.sxq]);
  }
}
