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

/**
 * fakeQuantTensor with a straight-through gradient (for reconstruction under a gradient tape): dy passes
 * where x lies on the grid's range and is zero where the grid clamps it (the rounding itself counts as
 * the identity; tf.round has no useful gradient).
 */
export function fakeQuantSte(x: tf.Tensor, p: Pick<ActivationQParams, 'scale' | 'zeroPoint' | 'bits' | 'signed'>): tf.Tensor {
  const { qmin, qmax } = qrange(p.bits, p.signed);
  const lo = (qmin - p.zeroPoint) * p.scale;
  const hi = (qmax - p.zeroPoint) * p.scale;
  const f = tf.customGrad(((xi: tf.Tensor, save: tf.GradSaveFunc) => {
    save([xi]);
    return {
      value: fakeQuantTensor(xi, p),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, tf.logicalAnd(tf.greaterEqual(saved[0], lo), tf.lessEqual(saved[0], hi)).cast('float32')),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x);
}
