/**
 * Fake quantization on tfjs tensors (for the executor's `hook` and weight `overrides`): the float
 * value the integer model computes, x' = (clamp(round(x / s) + z, qmin, qmax) - z) * s.
 * tf.round rounds half to even, as ONNX QuantizeLinear does.
 */
import * as tf from '@tensorflow/tfjs';
import type { ActivationQParams } from './observers.js';
import { dequantize, qrange } from './primitives.js';

/** Per-tensor fake quantization of any tensor (layout does not matter). Caller owns the result. */
export function fakeQuantTensor(x: tf.Tensor, p: Pick<ActivationQParams, 'scale' | 'zeroPoint' | 'bits' | 'signed'>): tf.Tensor {
  const { qmin, qmax } = qrange(p.bits, p.signed);
  return tf.tidy(() => {
    const q = tf.round(tf.div(x, p.scale));
    // clamp in the shifted domain: q + z in [qmin, qmax]
    const c = tf.clipByValue(q, qmin - p.zeroPoint, qmax - p.zeroPoint);
    return tf.mul(c, p.scale);
  });
}

/** Float weight data from integer codes and per-axis scales (for `overrides`), in the weight's own layout. */
export function dequantizedWeight(codes: Int8Array, scales: Float32Array, dims: number[], axis: number): Float32Array {
  if (scales.length === 1) return dequantize(codes, { scale: scales[0], bits: 8, signed: true });
  return dequantize(codes, { scale: scales, bits: 8, signed: true, axis, dims });
}
