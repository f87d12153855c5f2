/**
 * What the graph passes need to know about an op type, in one table: block splitting, the float tail's
 * cut, quantization points, output chains, the channel-noise rule and channel scaling each select the
 * op types by the property they rely on, instead of keeping a list of their own.
 */

/** Properties of an op type, as the passes rely on them. */
export interface OpKind {
  /** Output element i is a function of input element i alone: one data input (other inputs constant), same shape. */
  elementwise?: true;
  /** Output channel c depends on input channel c only (axis 1), spatially or element by element. */
  channelwise?: true;
  /** f(t x) = t f(x) for a per-channel t > 0 (ReLU-like ops, max/average pools, resizes). */
  homogeneous?: true;
  /** Moves, copies or selects values of its data input(s) and computes none (a re-layout). */
  relayout?: true;
  /** Output values are values of the first input (or lie between them, as a resize's), so a grid carries over. */
  keepsValues?: true;
  /** ONNX Runtime's CPU EP has an integer kernel for it inside DQ -> op -> Q (besides weight layers). */
  integerKernel?: true;
  /** A binary op that is a per-value map when one operand is a constant (a scale or an offset). */
  constantOperand?: true;
}

const ACTIVATION: OpKind = { elementwise: true, channelwise: true };
const RELU_LIKE: OpKind = { ...ACTIVATION, homogeneous: true };
const PASS_THROUGH: OpKind = { ...RELU_LIKE, relayout: true, keepsValues: true };
const RELAYOUT: OpKind = { relayout: true, keepsValues: true };
const BINARY: OpKind = { channelwise: true, constantOperand: true };
const RESIZE: OpKind = { channelwise: true, homogeneous: true, keepsValues: true };

export const OP_KINDS: Readonly<Record<string, Readonly<OpKind>>> = {
  Relu: RELU_LIKE,
  LeakyRelu: { ...RELU_LIKE, integerKernel: true },
  PRelu: RELU_LIKE,
  Clip: ACTIVATION,
  Sigmoid: { ...ACTIVATION, integerKernel: true },
  HardSigmoid: ACTIVATION,
  HardSwish: ACTIVATION,
  Tanh: ACTIVATION,
  Neg: ACTIVATION,
  Abs: ACTIVATION,
  Sqrt: ACTIVATION,
  Exp: ACTIVATION,
  Identity: PASS_THROUGH,
  Dropout: PASS_THROUGH,
  Add: { ...BINARY, integerKernel: true },
  Mul: { ...BINARY, integerKernel: true },
  Sub: BINARY,
  Div: BINARY,
  MaxPool: { channelwise: true, homogeneous: true, keepsValues: true },
  GlobalMaxPool: { channelwise: true, homogeneous: true, keepsValues: true },
  AveragePool: { channelwise: true, homogeneous: true, integerKernel: true },
  GlobalAveragePool: { channelwise: true, homogeneous: true, integerKernel: true },
  Resize: RESIZE,
  Upsample: RESIZE,
  // a zero Pad keeps values and scales with its input; a constant other than zero does neither (callers check)
  Pad: { channelwise: true, keepsValues: true },
  Reshape: RELAYOUT,
  Flatten: RELAYOUT,
  Transpose: RELAYOUT,
  Squeeze: RELAYOUT,
  Unsqueeze: RELAYOUT,
  Slice: RELAYOUT,
  Split: RELAYOUT,
  DepthToSpace: RELAYOUT,
  SpaceToDepth: RELAYOUT,
  // Concat's output holds its inputs' values, but they come from several inputs: quantPoints gives it a shared grid
  Concat: { relayout: true, integerKernel: true },
  // Gather selects values by index; the passes that rely on keepsValues do not follow indices
  Gather: { relayout: true },
};

/** The op types with property `p`. */
export function opsWhere(p: keyof OpKind): ReadonlySet<string> {
  return new Set(Object.entries(OP_KINDS).filter(([, k]) => k[p]).map(([op]) => op));
}

/** Weight layers the quantizer rounds (Conv, Gemm, MatMul with a constant weight). */
export const LAYER_OPS: ReadonlySet<string> = new Set(['Conv', 'Gemm', 'MatMul']);
