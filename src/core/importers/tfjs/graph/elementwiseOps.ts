import type { TensorData } from '../../../ir/types.js';
import { float32, identityPerm, scalar, type SrcTensor } from '../builder.js';
import { activation, clip, elu } from '../emit.js';
import { broadcastConstant, broadcastShapes } from '../layers/common.js';
import { constInput, unsupportedOp, type OpContext, type OpTranslator } from './context.js';

/** Activations and elementwise arithmetic of graph models. */

/** A fused or standalone TF activation ('relu', 'relu6', 'elu', 'sigmoid', 'tanh', 'leakyrelu', 'prelu'). */
export function applyTfActivation(ctx: OpContext, t: SrcTensor, act: string, arg?: SrcTensor): SrcTensor {
  const { b } = ctx;
  const { name: x, perm } = b.anyForm(t);
  let y: string;
  switch (act.toLowerCase()) {
    case 'relu':
      y = b.op('Relu', [x], ctx.hint);
      break;
    case 'relu6':
      y = clip(b, x, 0, 6, ctx.hint);
      break;
    case 'elu':
      y = elu(b, x, 1, ctx.hint);
      break;
    case 'selu':
      y = activation(b, 'selu', x, ctx.hint, `Node '${ctx.node.name}'`);
      break;
    case 'sigmoid':
      y = b.op('Sigmoid', [x], ctx.hint);
      break;
    case 'tanh':
      y = b.op('Tanh', [x], ctx.hint);
      break;
    case 'leakyrelu':
      y = b.op('LeakyRelu', [x], ctx.hint, { alpha: ctx.attrs.float('leakyrelu_alpha', ctx.attrs.float('alpha', 0.2)) });
      break;
    case 'prelu': {
      const alpha = constInput(ctx, arg, 'PReLU alpha');
      y = b.op('PRelu', [x, broadcastConstant(b, `${ctx.hint}/alpha`, alpha, perm.length, perm)], ctx.hint);
      break;
    }
    default:
      throw unsupportedOp(ctx, `uses the activation '${act}'`);
  }
  return b.tensor(y, perm, t.shape);
}

export const activationOp = (act: string): OpTranslator => (ctx, [x, arg]) => [applyTfActivation(ctx, x, act, arg)];

export const unaryOp = (opType: 'Neg' | 'Abs' | 'Sqrt' | 'Exp' | 'Rsqrt' | 'Square' | 'Reciprocal'): OpTranslator => (ctx, [t]) => {
  const { b } = ctx;
  const { name: x, perm } = b.anyForm(t);
  let y: string;
  if (opType === 'Rsqrt') y = b.op('Div', [b.constant(`${ctx.hint}/one`, scalar(1)), b.op('Sqrt', [x], `${ctx.hint}/sqrt`)], ctx.hint);
  else if (opType === 'Reciprocal') y = b.op('Div', [b.constant(`${ctx.hint}/one`, scalar(1)), x], ctx.hint);
  else if (opType === 'Square') y = b.op('Mul', [x, x], ctx.hint);
  else y = b.op(opType, [x], ctx.hint);
  return [b.tensor(y, perm, t.shape)];
};

export const softmax: OpTranslator = (ctx, [t]) => {
  const { b } = ctx;
  const { name: x, perm } = b.anyForm(t);
  return [b.tensor(b.op('Softmax', [x], ctx.hint, { axis: perm.indexOf(perm.length - 1) }), perm, t.shape)];
};

type BinaryKind = 'Add' | 'Sub' | 'Mul' | 'Div' | 'Maximum' | 'Minimum';

function foldBinary(kind: BinaryKind, a: TensorData, c: TensorData): TensorData | undefined {
  const n = Math.max(a.data.length, c.data.length);
  if (!(a.data.length === n || a.data.length === 1) || !(c.data.length === n || c.data.length === 1)) return undefined;
  const f = { Add: (x: number, y: number) => x + y, Sub: (x: number, y: number) => x - y, Mul: (x: number, y: number) => x * y, Div: (x: number, y: number) => x / y, Maximum: Math.max, Minimum: Math.min }[kind];
  const isInt = a.dtype !== 'float32' && c.dtype !== 'float32';
  const vals = Array.from({ length: n }, (_, i) => f(Number(a.data[a.data.length === 1 ? 0 : i]), Number(c.data[c.data.length === 1 ? 0 : i])));
  const dims = a.data.length === n ? a.dims : c.dims;
  return isInt ? { dtype: a.dtype, dims, data: Int32Array.from(vals, (v) => (kind === 'Div' ? Math.floor(v) : v)) } : float32(vals, dims);
}

/** Binary elementwise op with numpy broadcasting over source shapes; constants are laid out like the tensor. */
export const binaryOp = (kind: BinaryKind): OpTranslator => (ctx, [p, q]) => {
  const { b } = ctx;
  if (p.constValue && q.constValue) {
    const folded = foldBinary(kind, p.constValue, q.constValue);
    if (folded) return [b.constTensor(ctx.hint, folded)];
  }
  const shape = broadcastShapes([p.shape, q.shape]);
  const rank = shape?.length ?? Math.max(b.rankOf(p), b.rankOf(q));
  // The layout: the non-constant operand's form when the other is a constant or has the same rank.
  const lead = p.constValue ? q : p;
  const other = lead === p ? q : p;
  let perm = b.anyForm(lead).perm;
  if (perm.length !== rank || (!other.constValue && b.rankOf(other) !== rank)) perm = identityPerm(rank);
  const operand = (t: SrcTensor, which: string): string => {
    if (t.constValue) return broadcastConstant(b, `${ctx.hint}/${which}`, t.constValue, rank, perm);
    return b.rankOf(t) === rank ? b.form(t, perm) : b.plain(t);
  };
  const x = operand(p, 'x');
  const y = operand(q, 'y');
  if (kind === 'Maximum' || kind === 'Minimum') {
    // Scalar bounds are a Clip (Relu for max(x, 0)); otherwise max(a,b) = a + relu(b - a), min(a,b) = a - relu(a - b).
    const [tensor, bound] = q.constValue?.data.length === 1 ? [x, Number(q.constValue.data[0])] : p.constValue?.data.length === 1 ? [y, Number(p.constValue.data[0])] : [undefined, undefined];
    let out: string;
    if (tensor !== undefined && bound !== undefined) {
      out = kind === 'Maximum' ? (bound === 0 ? b.op('Relu', [tensor], ctx.hint) : clip(b, tensor, bound, null, ctx.hint)) : clip(b, tensor, null, bound, ctx.hint);
    } else if (kind === 'Maximum') out = b.op('Add', [x, b.op('Relu', [b.op('Sub', [y, x], `${ctx.hint}/diff`)], `${ctx.hint}/relu`)], ctx.hint);
    else out = b.op('Sub', [x, b.op('Relu', [b.op('Sub', [x, y], `${ctx.hint}/diff`)], `${ctx.hint}/relu`)], ctx.hint);
    return [b.tensor(out, perm, shape)];
  }
  return [b.tensor(b.op(kind, [x, y], ctx.hint), perm, shape)];
};

/** AddN: a chain of Adds. */
export const addN: OpTranslator = (ctx, inputs) => {
  if (inputs.length === 1) return [inputs[0]];
  let acc = inputs[0];
  const add = binaryOp('Add');
  inputs.slice(1).forEach((t, i) => {
    acc = add({ ...ctx, hint: i === inputs.length - 2 ? ctx.hint : `${ctx.hint}/${i}` }, [acc, t])[0];
  });
  return [acc];
};

/** SquaredDifference(a, b) = (a - b)^2: a Sub, then the difference times itself. */
export const squaredDifference: OpTranslator = (ctx, inputs) => {
  const [d] = binaryOp('Sub')({ ...ctx, hint: `${ctx.hint}/difference` }, inputs);
  if (d.constValue) return [ctx.b.constTensor(ctx.hint, { ...d.constValue, data: Float32Array.from(d.constValue.data, (v) => Number(v) ** 2) })];
  const { name, perm } = ctx.b.anyForm(d);
  return [ctx.b.tensor(ctx.b.op('Mul', [name, name], ctx.hint), perm, d.shape)];
};
