/**
 * Bias correction: quantizing W moves the layer's expected output by (W~ - W) E[x~] per output channel,
 * x~ being the layer's input in the quantized network; subtracting that shift from the bias puts the
 * mean back. For a conv, E over all im2col columns of input channel c at any kernel tap is (up to
 * padding at the borders) the channel mean, so the shift is sum_c mean[c] * sum over taps of
 * (W~ - W)[o, c, :, :].
 *
 * Only the layer's OWN weight error is corrected, not the mean shift its input already carries
 * (W (E[x~] - E[x]), from activation grids and earlier layers). Correcting that too at every layer
 * ("empirical" correction, E[W~ x~] - E[W x]) makes each conv's mean exact on the calibration images,
 * but the shifts it compensates come through nonlinearities (LeakyReLU, clipping grids): each layer's
 * correction changes the next one's input distribution, the next corrects that, and the corrections
 * cascade. Measured on NanoDet W8A8 (9 calibration photos): corrections grew to 18-23 % of the late
 * layers' output RMS and the head's output SQNR fell from 17-22 dB to 10-17 dB on the calibration images
 * themselves; the own-error form changes the biases by 1-3 % of the RMS and gains 0.3-1.5 dB.
 */

export interface BiasCorrectionInput {
  /** Float weights, C_out x K rows (K = C_in/group * kernelSize, order (c, tap)). */
  weights: Float32Array;
  /** Dequantized weights W~ in the same layout. */
  quantWeights: Float32Array;
  cOut: number;
  /** kh * kw for a conv, 1 for Gemm/MatMul. */
  kernelSize: number;
  /** Per-input-channel mean of the layer's input in the quantized network, E[x~] (length C_in, all groups). */
  inputMean: Float32Array;
  groups?: number;
}

/**
 * Expected output shift per output channel from the weight error, (W~ - W) E[x~], from per-input-channel
 * means: each channel's mean stands for all of its kernel taps' columns (groupedShift does the rest).
 */
export function biasShift(p: BiasCorrectionInput): Float32Array {
  const groups = p.groups ?? 1;
  const cinPerGroup = p.weights.length / p.cOut / p.kernelSize;
  if (!Number.isInteger(cinPerGroup)) throw new RangeError(`K = ${p.weights.length / p.cOut} is not a multiple of kernel size ${p.kernelSize}`);
  if (p.inputMean.length !== cinPerGroup * groups) throw new RangeError(`inputMean has ${p.inputMean.length} channels, expected ${cinPerGroup * groups}`);
  const columnMeans = new Float32Array(p.inputMean.length * p.kernelSize);
  for (let c = 0; c < p.inputMean.length; c++) columnMeans.fill(p.inputMean[c], c * p.kernelSize, (c + 1) * p.kernelSize);
  return groupedShift(p.weights, p.quantWeights, p.cOut, groups, columnMeans);
}

/** New bias = old bias (zeros when absent) - shift. */
export function correctedBias(bias: Float32Array | undefined, shift: Float32Array): Float32Array {
  const out = new Float32Array(shift.length);
  for (let o = 0; o < shift.length; o++) out[o] = (bias ? bias[o] : 0) - shift[o];
  return out;
}

/**
 * Exact shift from im2col column means (length K, e.g. LayerInputStats' meanXq of the quantized network's
 * input): shift[o] = (W~ - W)[o] . E[x~ column]; accounts for zero padding at the borders.
 * Rows are C_out x K (one group; call per group for grouped convs).
 */
export function biasShiftFromColumnMeans(weights: Float32Array, quantWeights: Float32Array, cOut: number, columnMean: Float32Array): Float32Array {
  const k = columnMean.length;
  if (weights.length !== cOut * k || quantWeights.length !== cOut * k) throw new RangeError(`weights must be ${cOut} x ${k} (the column means' length)`);
  const shift = new Float32Array(cOut);
  for (let o = 0; o < cOut; o++) {
    let s = 0;
    for (let i = 0; i < k; i++) s += (quantWeights[o * k + i] - weights[o * k + i]) * columnMean[i];
    shift[o] = s;
  }
  return shift;
}

/** The shift of a grouped layer: rows C_out x K per group, column means of length groups * K. */
function groupedShift(rows: Float32Array, quantRows: Float32Array, cOut: number, groups: number, columnMeans: Float32Array): Float32Array {
  const k = columnMeans.length / groups;
  const outPerGroup = cOut / groups;
  const shift = new Float32Array(cOut);
  for (let g = 0; g < groups; g++) {
    const [r0, r1] = [g * outPerGroup * k, (g + 1) * outPerGroup * k];
    shift.set(biasShiftFromColumnMeans(rows.subarray(r0, r1), quantRows.subarray(r0, r1), outPerGroup, columnMeans.subarray(g * k, (g + 1) * k)), g * outPerGroup);
  }
  return shift;
}

/**
 * Corrected bias of one layer (grouped convs: one column block per group): b' = b - (W~ - W) E[x~] per
 * output channel, from exact im2col column means of the layer's input in the quantized network
 * (inputMean, length groups * K). Gemm: y = alpha * A B + beta * C, so the shift is scaled by alpha / beta.
 */
export function correctedLayerBias(p: {
  rows: Float32Array;
  quantRows: Float32Array;
  cOut: number;
  groups: number;
  inputMean: Float32Array;
  bias?: Float32Array;
  alpha?: number;
  beta?: number;
}): Float32Array {
  const shift = groupedShift(p.rows, p.quantRows, p.cOut, p.groups, p.inputMean);
  const scale = (p.alpha ?? 1) / (p.beta ?? 1);
  if (scale !== 1) for (let o = 0; o < shift.length; o++) shift[o] *= scale;
  return correctedBias(p.bias, shift);
}
