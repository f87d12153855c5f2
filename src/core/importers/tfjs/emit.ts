import { LocalQuantError } from '../../errors.js';
import type { Dim } from '../../ir/types.js';
import { scalar, type GraphBuilder } from './builder.js';

/**
 * Emitters shared by the layers and graph translators: activations composed from the supported ONNX ops,
 * and TF "SAME" padding.
 */

/** Clip with min/max as inputs ('' for an absent bound). */
export function clip(b: GraphBuilder, x: string, min: number | null, max: number | null, hint: string): string {
  const inputs = [x, min === null ? '' : b.constant(`${hint}_min`, scalar(min)), max === null ? '' : b.constant(`${hint}_max`, scalar(max))];
  while (inputs[inputs.length - 1] === '') inputs.pop();
  return b.op('Clip', inputs, hint);
}

/** min(x, 0) = -relu(-x). */
function negativePart(b: GraphBuilder, x: string, hint: string): string {
  const neg = b.op('Neg', [x], `${hint}_neg`);
  return b.op('Neg', [b.op('Relu', [neg], `${hint}_negrelu`)], `${hint}_min0`);
}

/** elu(x) = relu(x) + alpha * (exp(min(x, 0)) - 1): exact, with supported ops only. */
export function elu(b: GraphBuilder, x: string, alpha: number, hint: string, scale = 1): string {
  const pos = b.op('Relu', [x], `${hint}_pos`);
  const expm1 = b.op('Sub', [b.op('Exp', [negativePart(b, x, hint)], `${hint}_exp`), b.constant(`${hint}_one`, scalar(1))], `${hint}_expm1`);
  if (scale === 1) return b.op('Add', [pos, b.op('Mul', [expm1, b.constant(`${hint}_alpha`, scalar(alpha))], `${hint}_negpart`)], hint);
  const sum = b.op('Add', [b.op('Mul', [pos, b.constant(`${hint}_scale`, scalar(scale))], `${hint}_scaled`), b.op('Mul', [expm1, b.constant(`${hint}_alpha`, scalar(scale * alpha))], `${hint}_negpart`)], hint);
  return sum;
}

const SELU_ALPHA = 1.6732632423543772848170429916717;
const SELU_SCALE = 1.0507009873554804934193349852946;

/** An activation by its Keras name, applied to IR value x (elementwise: layout-free). */
export function activation(b: GraphBuilder, name: string, x: string, hint: string, where: string): string {
  switch (name) {
    case 'linear':
    case '':
      return x;
    case 'relu':
      return b.op('Relu', [x], hint);
    case 'relu6':
      return clip(b, x, 0, 6, hint);
    case 'sigmoid':
      return b.op('Sigmoid', [x], hint);
    case 'tanh':
      return b.op('Tanh', [x], hint);
    case 'hard_sigmoid':
    case 'hardSigmoid':
      // tfjs-layers: clip(0.2 x + 0.5, 0, 1)
      return b.op('HardSigmoid', [x], hint, { alpha: 0.2, beta: 0.5 });
    case 'swish':
    case 'silu':
      return b.op('Mul', [x, b.op('Sigmoid', [x], `${hint}_sigmoid`)], hint);
    case 'elu':
      return elu(b, x, 1, hint);
    case 'selu':
      return elu(b, x, SELU_ALPHA, hint, SELU_SCALE);
    case 'hard_swish':
    case 'hard_silu':
      return b.op('HardSwish', [x], hint);
    default:
      throw new LocalQuantError(
        'UNSUPPORTED_OP',
        `${where} uses the activation '${name}', which LocalQuant does not translate.`,
        'Supported activations: linear, relu, relu6, sigmoid, tanh, softmax, swish, hard_sigmoid, elu, selu.',
      );
  }
}

/** Output length and [begin, end] padding of TF "SAME" (extra padding at the end, like ONNX SAME_UPPER). */
export function samePadding(inSize: number, kernel: number, stride: number, dilation: number): { out: number; begin: number; end: number } {
  const effK = (kernel - 1) * dilation + 1;
  const out = Math.ceil(inSize / stride);
  const total = Math.max((out - 1) * stride + effK - inSize, 0);
  const begin = Math.floor(total / 2);
  return { out, begin, end: total - begin };
}

export function validLength(inSize: number, kernel: number, stride: number, dilation: number): number {
  const effK = (kernel - 1) * dilation + 1;
  return Math.floor((inSize - effK) / stride) + 1;
}

/**
 * Conv/pool padding attributes for spatial sizes `hw` (null when unknown): explicit pads when the sizes
 * are known, auto_pad SAME_UPPER otherwise. Returns the output spatial sizes too.
 */
export function spatialPadding(
  padding: 'same' | 'valid',
  hw: [Dim, Dim],
  kernel: number[],
  strides: number[],
  dilations: number[],
): { attrs: Record<string, number[] | string>; outHW: [Dim, Dim] } {
  if (padding === 'valid') {
    const out = hw.map((d, i) => (typeof d === 'number' ? validLength(d, kernel[i], strides[i], dilations[i]) : null)) as [Dim, Dim];
    return { attrs: {}, outHW: out };
  }
  if (typeof hw[0] === 'number' && typeof hw[1] === 'number') {
    const ph = samePadding(hw[0], kernel[0], strides[0], dilations[0]);
    const pw = samePadding(hw[1], kernel[1], strides[1], dilations[1]);
    const attrs: Record<string, number[] | string> = {};
    if (ph.begin || ph.end || pw.begin || pw.end) attrs.pads = [ph.begin, pw.begin, ph.end, pw.end];
    return { attrs, outHW: [ph.out, pw.out] };
  }
  const out = hw.map((d, i) => (typeof d === 'number' ? Math.ceil(d / strides[i]) : null)) as [Dim, Dim];
  return { attrs: { auto_pad: 'SAME_UPPER' }, outHW: out };
}
