import { qrange } from '../../quant/primitives.js';
import type { QuantizedLayerPlan } from './qdqOnnxExporter.js';

/** Largest int32 bias code we write: a little headroom below 2^31 - 1 for the accumulation. */
const BIAS_CODE_MAX = 2 ** 31 - 1 - 2 ** 20;

/**
 * A QDQ bias is an int32 code on the grid inputScale * weightScale[o]. A channel whose weights are tiny
 * but whose bias is not (MobileNetV3's folded BatchNorms: weight scales ~1e-5) overflows int32 there, and a
 * saturated bias ruins the channel (CenterNet W8A8: 72 saturated biases, keypoint SQNR -1 dB). As ONNX
 * Runtime's quantizer does, such a channel's weight scale grows until its bias fits, and its weight codes
 * are re-rounded to the coarser grid (they were near zero anyway). Returns the adjusted weights, or
 * undefined when every bias fits as planned.
 */
export function fitBiasToInt32(
  layer: Pick<QuantizedLayerPlan, 'weightCodes' | 'weightScales' | 'weightBits' | 'axis'>,
  dims: number[],
  bias: Float32Array | undefined,
  inputScale: number | undefined,
): { weightCodes: Int8Array; weightScales: Float32Array } | undefined {
  if (!bias || !inputScale) return undefined;
  const perChannel = layer.weightScales.length > 1;
  const needed = (o: number) => Math.abs(bias[o]) / (inputScale * BIAS_CODE_MAX);
  const scales = Float32Array.from(layer.weightScales);
  let changed = false;
  if (perChannel) {
    for (let o = 0; o < scales.length; o++) if (needed(o) > scales[o]) [scales[o], changed] = [Math.fround(needed(o) * 1.001), true];
  } else {
    const worst = Math.max(...Array.from(bias, (_, o) => needed(o)));
    if (worst > scales[0]) [scales[0], changed] = [Math.fround(worst * 1.001), true];
  }
  if (!changed) return undefined;
  const { qmin, qmax } = qrange(layer.weightBits, true);
  const inner = dims.slice(layer.axis + 1).reduce((a, b) => a * b, 1);
  const channels = dims[layer.axis];
  const codes = Int8Array.from(layer.weightCodes);
  for (let i = 0; i < codes.length; i++) {
    const o = perChannel ? Math.floor(i / inner) % channels : 0;
    const [from, to] = perChannel ? [layer.weightScales[o], scales[o]] : [layer.weightScales[0], scales[0]];
    if (from !== to) codes[i] = Math.max(qmin, Math.min(qmax, Math.round((codes[i] * from) / to)));
  }
  return { weightCodes: codes, weightScales: scales };
}
