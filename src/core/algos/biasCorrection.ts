/**
 * Bias correction: quantizing W moves the layer's expected output by W~ E[x~] - W E[x] per output
 * channel; subtracting that shift from the bias puts the mean back. For a conv, E over all im2col
 * columns of input channel c at any kernel tap is (up to padding at the borders) the channel mean, so
 * the shift is sum_c mean[c] * sum over taps of (W~ - W)[o, c, :, :].
 */

export interface BiasCorrectionInput {
  /** Float weights, C_out x K rows (K = C_in/group * kernelSize, order (c, tap)). */
  weights: Float32Array;
  /** Dequantized weights W~ in the same layout. */
  quantWeights: Float32Array;
  cOut: number;
  /** kh * kw for a conv, 1 for Gemm/MatMul. */
  kernelSize: number;
  /** Per-input-channel mean of the float input E[x] (length C_in, all groups). */
  inputMean: Float32Array;
  /** Per-input-channel mean of the quantized-network input E[x~]; defaults to inputMean. */
  quantInputMean?: Float32Array;
  groups?: number;
}

/** Expected output shift per output channel, E[W~ x~] - E[W x]. */
export function biasShift(p: BiasCorrectionInput): Float32Array {
  const groups = p.groups ?? 1;
  const k = p.weights.length / p.cOut;
  const cinPerGroup = k / p.kernelSize;
  if (!Number.isInteger(cinPerGroup)) throw new RangeError(`K = ${k} is not a multiple of kernel size ${p.kernelSize}`);
  if (p.inputMean.length !== cinPerGroup * groups) throw new RangeError(`inputMean has ${p.inputMean.length} channels, expected ${cinPerGroup * groups}`);
  const meanQ = p.quantInputMean ?? p.inputMean;
  const outPerGroup = p.cOut / groups;
  const shift = new Float32Array(p.cOut);
  for (let o = 0; o < p.cOut; o++) {
    const base = Math.floor(o / outPerGroup) * cinPerGroup;
    let s = 0;
    for (let c = 0; c < cinPerGroup; c++) {
      const mx = p.inputMean[base + c];
      const mq = meanQ[base + c];
      for (let t = 0; t < p.kernelSize; t++) {
        const i = o * k + c * p.kernelSize + t;
        s += p.quantWeights[i] * mq - p.weights[i] * mx;
      }
    }
    shift[o] = s;
  }
  return shift;
}

/** New bias = old bias (zeros when absent) - shift. */
export function correctedBias(bias: Float32Array | undefined, shift: Float32Array): Float32Array {
  const out = new Float32Array(shift.length);
  for (let o = 0; o < shift.length; o++) out[o] = (bias ? bias[o] : 0) - shift[o];
  return out;
}

/**
 * Exact shift from im2col column means (length K, e.g. SecondMomentAccumulator.result().meanX/meanXq):
 * shift[o] = W~[o] . E[x~ column] - W[o] . E[x column]; accounts for zero padding at the borders.
 * Rows are C_out x K (one group; call per group for grouped convs).
 */
export function biasShiftFromColumnMeans(weights: Float32Array, quantWeights: Float32Array, cOut: number, meanX: Float32Array, meanXq: Float32Array = meanX): Float32Array {
  const k = meanX.length;
  if (weights.length !== cOut * k || quantWeights.length !== cOut * k || meanXq.length !== k) throw new RangeError(`weights must be ${cOut} x ${k} and both means of length ${k}`);
  const shift = new Float32Array(cOut);
  for (let o = 0; o < cOut; o++) {
    let s = 0;
    for (let i = 0; i < k; i++) s += quantWeights[o * k + i] * meanXq[i] - weights[o * k + i] * meanX[i];
    shift[o] = s;
  }
  return shift;
}

/**
 * Empirically corrected bias of one layer (grouped convs: one column block per group):
 * b' = b - (E[W~ x~] - E[W x]) per output channel, from exact im2col column means of the float input
 * (meanX) and of the quantized network's input (meanXq), both of length groups * K.
 * Gemm: y = alpha * A B + beta * C, so the shift is scaled by alpha / beta.
 */
export function correctedLayerBias(p: {
  rows: Float32Array;
  quantRows: Float32Array;
  cOut: number;
  groups: number;
  meanX: Float32Array;
  meanXq: Float32Array;
  bias?: Float32Array;
  alpha?: number;
  beta?: number;
}): Float32Array {
  const k = p.meanX.length / p.groups;
  const outPerGroup = p.cOut / p.groups;
  const shift = new Float32Array(p.cOut);
  for (let g = 0; g < p.groups; g++) {
    const r0 = g * outPerGroup * k;
    const r1 = (g + 1) * outPerGroup * k;
    const s = biasShiftFromColumnMeans(p.rows.subarray(r0, r1), p.quantRows.subarray(r0, r1), outPerGroup, p.meanX.subarray(g * k, (g + 1) * k), p.meanXq.subarray(g * k, (g + 1) * k));
    shift.set(s, g * outPerGroup);
  }
  const scale = (p.alpha ?? 1) / (p.beta ?? 1);
  if (scale !== 1) for (let o = 0; o < shift.length; o++) shift[o] *= scale;
  return correctedBias(p.bias, shift);
}
