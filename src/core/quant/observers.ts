/**
 * Activation range observers. Values arrive batch by batch; memory stays bounded: running min/max,
 * a count of exact zeros (ReLU outputs are mostly zeros, and zero is always exactly representable), and
 * a fixed-bin histogram that is re-binned (bins merged by an integer factor, so no mass is smeared)
 * when the range grows. One histogram serves every method and every bit width, so a single
 * calibration pass can be turned into min/max, percentile or MSE ranges afterwards.
 *
 * Quantization grid chosen from the range:
 * - tensor never negative (after ReLU/ReLU6/Sigmoid): unsigned, zero point 0, range [0, hi];
 * - otherwise 'symmetric' (default): signed, zero point 0, range [-a, a] (what int8 QDQ consumers
 *   handle best); or 'asymmetric': unsigned codes with an integer zero point, so 0 stays exact.
 */
import { qrange, roundHalfEven } from './primitives';

export type ObserverMethod = 'minmax' | 'percentile' | 'mse';
export type SignedMode = 'symmetric' | 'asymmetric';

export interface ActivationQParams {
  scale: number;
  zeroPoint: number;
  bits: number;
  signed: boolean;
  /** Float range the grid covers: (qmin - zeroPoint) * scale .. (qmax - zeroPoint) * scale. */
  min: number;
  max: number;
}

export interface RangeOptions {
  bits: number;
  method: ObserverMethod;
  /** For 'percentile': the kept fraction in percent (default 99.99). */
  percentile?: number;
  /** Grid for tensors with negative values (default 'symmetric'). */
  signedMode?: SignedMode;
  /** Clip ratios tried by 'mse' (default 200, evenly spaced in (0, 1]). */
  mseCandidates?: number;
}

/** Bounded-memory statistics of one activation tensor over all calibration batches. */
export class RangeHistogram {
  readonly bins: number;
  count = 0;
  zeros = 0;
  min = Infinity;
  max = -Infinity;
  /** Histogram of the non-zero values over [lo, lo + bins * width). */
  private hist: Float64Array;
  private lo = 0;
  private width = 0;

  constructor(bins = 2048) {
    this.bins = bins;
    this.hist = new Float64Array(bins);
  }

  observe(values: ArrayLike<number>): void {
    let bmin = Infinity;
    let bmax = -Infinity;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v !== v) throw new RangeError('activation contains NaN');
      if (v < bmin) bmin = v;
      if (v > bmax) bmax = v;
    }
    if (values.length === 0) return;
    this.min = Math.min(this.min, bmin);
    this.max = Math.max(this.max, bmax);
    this.ensureRange(Math.min(bmin, 0), Math.max(bmax, 0));
    const { hist, lo, width, bins } = this;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v === 0) {
        this.zeros++;
        continue;
      }
      let b = Math.floor((v - lo) / width);
      if (b >= bins) b = bins - 1;
      else if (b < 0) b = 0;
      hist[b]++;
    }
    this.count += values.length;
  }

  /** Grow the histogram so it covers [a, b] (both include 0). */
  private ensureRange(a: number, b: number): void {
    if (this.width === 0) {
      const span = b - a;
      if (span === 0) return; // all zeros so far: nothing to bin
      this.lo = a;
      this.width = span / this.bins;
      return;
    }
    const hi = this.lo + this.bins * this.width;
    if (a >= this.lo && b <= hi) return;
    // New origin an integer number of old bins lower; new width an integer multiple of the old one,
    // so every old bin falls wholly inside one new bin.
    const shift = a < this.lo ? Math.ceil((this.lo - a) / this.width) : 0;
    const newLo = this.lo - shift * this.width;
    const factor = Math.max(1, Math.ceil((b - newLo) / (this.bins * this.width) + 1e-12));
    const next = new Float64Array(this.bins);
    for (let i = 0; i < this.bins; i++) {
      if (this.hist[i] === 0) continue;
      next[Math.min(this.bins - 1, Math.floor((shift + i) / factor))] += this.hist[i];
    }
    this.hist = next;
    this.lo = newLo;
    this.width *= factor;
  }

  /** (center, mass) of each non-empty bin, plus the zero count (for range methods). */
  binsView(): { lo: number; width: number; hist: Float64Array } {
    return { lo: this.lo, width: this.width, hist: this.hist };
  }

  /** Value below which `q` (0..1) of all observed values lie (linear inside a bin; zeros included). */
  quantile(q: number): number {
    if (this.count === 0) throw new RangeError('no values observed');
    const target = q * this.count;
    let acc = 0;
    for (let i = 0; i < this.bins; i++) {
      const left = this.lo + i * this.width;
      // Exact zeros sit at 0: count them when passing the bin holding 0.
      if (this.zeros > 0 && left <= 0 && 0 < left + this.width) {
        // split the bin's mass around zero proportionally, put zeros at 0
        const below = this.hist[i] * ((0 - left) / this.width);
        if (acc + below >= target) return left + ((target - acc) / Math.max(below, 1e-300)) * (0 - left);
        acc += below;
        if (acc + this.zeros >= target) return 0;
        acc += this.zeros;
        const above = this.hist[i] - below;
        if (acc + above >= target) return (target - acc) / Math.max(above, 1e-300) * (left + this.width);
        acc += above;
        continue;
      }
      if (acc + this.hist[i] >= target && this.hist[i] > 0) return left + ((target - acc) / this.hist[i]) * this.width;
      acc += this.hist[i];
    }
    return this.max;
  }
}

/** Grid for a clip range [lo, hi] (lo <= 0 <= hi) on the chosen scheme; zero is always on the grid. */
export function qparamsForRange(lo: number, hi: number, bits: number, scheme: 'unsigned' | 'symmetric' | 'asymmetric'): ActivationQParams {
  const tiny = 1e-12;
  if (scheme === 'unsigned') {
    const { qmax } = qrange(bits, false);
    const scale = Math.max(hi, tiny) / qmax;
    return { scale, zeroPoint: 0, bits, signed: false, min: 0, max: qmax * scale };
  }
  if (scheme === 'symmetric') {
    const { qmin, qmax } = qrange(bits, true);
    const scale = Math.max(Math.abs(lo), Math.abs(hi), tiny) / qmax;
    return { scale, zeroPoint: 0, bits, signed: true, min: qmin * scale, max: qmax * scale };
  }
  const { qmin, qmax } = qrange(bits, false);
  const scale = Math.max(hi - lo, tiny) / (qmax - qmin);
  const zeroPoint = Math.min(qmax, Math.max(qmin, roundHalfEven(qmin - lo / scale)));
  return { scale, zeroPoint, bits, signed: false, min: (qmin - zeroPoint) * scale, max: (qmax - zeroPoint) * scale };
}

function schemeFor(h: RangeHistogram, mode: SignedMode): 'unsigned' | 'symmetric' | 'asymmetric' {
  return h.min >= 0 ? 'unsigned' : mode;
}

/**
 * Expected squared error of fake-quantizing the observed distribution with `p`, estimated from the
 * histogram: each bin's mass spread uniformly over `sub` points inside it; exact zeros cost nothing.
 */
export function histogramQuantError(h: RangeHistogram, p: ActivationQParams, sub = 8): number {
  const { lo, width, hist } = h.binsView();
  const { qmin, qmax } = qrange(p.bits, p.signed);
  let err = 0;
  for (let i = 0; i < hist.length; i++) {
    const m = hist[i];
    if (m === 0) continue;
    let e = 0;
    for (let j = 0; j < sub; j++) {
      const x = lo + (i + (j + 0.5) / sub) * width;
      let q = roundHalfEven(x / p.scale) + p.zeroPoint;
      if (q < qmin) q = qmin;
      else if (q > qmax) q = qmax;
      const d = x - (q - p.zeroPoint) * p.scale;
      e += d * d;
    }
    err += (m * e) / sub;
  }
  return err / Math.max(1, h.count);
}

/** Turn the statistics into quantization parameters with the chosen method. */
export function activationQParams(h: RangeHistogram, o: RangeOptions): ActivationQParams {
  if (h.count === 0) throw new RangeError('no values observed');
  const scheme = schemeFor(h, o.signedMode ?? 'symmetric');
  const lo0 = Math.min(h.min, 0);
  const hi0 = Math.max(h.max, 0);
  if (o.method === 'minmax') return qparamsForRange(lo0, hi0, o.bits, scheme);
  if (o.method === 'percentile') {
    const p = (o.percentile ?? 99.99) / 100;
    if (!(p > 0.5 && p <= 1)) throw new RangeError(`percentile must be in (50, 100]; got ${o.percentile}`);
    const hi = Math.max(0, h.quantile(p));
    const lo = Math.min(0, h.quantile(1 - p));
    return qparamsForRange(scheme === 'unsigned' ? 0 : lo, hi, o.bits, scheme);
  }
  // 'mse': shrink the min/max range by a common ratio, keep the one with the lowest expected error.
  const n = o.mseCandidates ?? 200;
  let best = qparamsForRange(lo0, hi0, o.bits, scheme);
  let bestErr = histogramQuantError(h, best);
  for (let c = 1; c < n; c++) {
    const r = c / n;
    const cand = qparamsForRange(lo0 * r, hi0 * r, o.bits, scheme);
    const e = histogramQuantError(h, cand);
    if (e < bestErr) {
      bestErr = e;
      best = cand;
    }
  }
  return best;
}

/** Convenience: an observer bound to one method and bit width. */
export class ActivationObserver {
  readonly stats: RangeHistogram;
  constructor(readonly options: RangeOptions, bins = 2048) {
    this.stats = new RangeHistogram(bins);
  }
  observe(values: ArrayLike<number>): void {
    this.stats.observe(values);
  }
  qparams(): ActivationQParams {
    return activationQParams(this.stats, this.options);
  }
}
