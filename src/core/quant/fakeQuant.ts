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

/**
 * Fake quantization with a learned step size (LSQ, Esser et al. 2020): `scale` is a scalar tensor and
 * receives the gradient dL/ds = sum(dy * (round(x/s) - x/s)) where x lies on the grid's range and
 * sum(dy * clamp bound) where it is clamped; x gets the straight-through gradient of fakeQuantSte. The
 * zero point stays fixed (an integer). LSQ's gradient scale 1/sqrt(N qmax) is left out: the caller's
 * Adam normalises each step size's gradient anyway.
 */
export function fakeQuantLsq(x: tf.Tensor, scale: tf.Scalar, p: Pick<ActivationQParams, 'zeroPoint' | 'bits' | 'signed'>): tf.Tensor {
  const { qmin, qmax } = qrange(p.bits, p.signed);
  const lo = qmin - p.zeroPoint;
  const hi = qmax - p.zeroPoint;
  const f = tf.customGrad(((xi: tf.Tensor, s: tf.Scalar, save: tf.GradSaveFunc) => {
    const r = tf.div(xi, s);
    const q = tf.clipByValue(tf.round(r), lo, hi);
    save([r, q]);
    return {
      value: tf.mul(q, s),
      gradFunc: (dy: tf.Tensor, [rs, qs]: tf.Tensor[]) => {
        const inRange = tf.logicalAnd(tf.greaterEqual(rs, lo), tf.lessEqual(rs, hi));
        const dx = tf.mul(dy, tf.cast(inRange, 'float32'));
        const ds = tf.sum(tf.mul(dy, tf.where(inRange, tf.sub(qs, rs), qs)));
        return [dx, ds];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x, scale);
}
