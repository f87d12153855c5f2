import { LocalQuantError } from '../../errors.js';
import type { Graph, Node, TensorData } from '../types.js';

/**
 * Attribute ranges and weight shapes per op, in the IR's ONNX semantics, checked at import so that a
 * damaged file is refused with the node's name instead of failing inside a tfjs kernel (a wasm kernel
 * given a zero stride or a negative pad can abort the whole backend, not just the call).
 */

const where = (n: Node) => `node '${n.name}' (${n.opType})`;

function invalid(n: Node, what: string): LocalQuantError {
  return new LocalQuantError('INVALID_MODEL', `The model's ${where(n)} ${what}.`, 'The file breaks the ONNX operator rules (damaged or hand-edited): export the model again.');
}

function ints(n: Node, name: string): number[] | undefined {
  const v = n.attrs[name];
  if (v === undefined) return undefined;
  const list = typeof v === 'number' ? [v] : v;
  if (!Array.isArray(list) || !list.every((x) => typeof x === 'number' && Number.isInteger(x))) throw invalid(n, `has a non-integer '${name}' attribute`);
  return list as number[];
}

function int(n: Node, name: string, dflt: number): number {
  const v = n.attrs[name];
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw invalid(n, `has a non-integer '${name}' attribute`);
  return v;
}

function expectList(n: Node, name: string, values: number[] | undefined, length: number, min: number): void {
  if (!values) return;
  if (values.length !== length) throw invalid(n, `has ${values.length} '${name}' values where ${length} are needed`);
  const bad = values.find((v) => v < min);
  if (bad !== undefined) throw invalid(n, `has '${name}' [${values.join(', ')}]: each must be >= ${min}`);
}

const AUTO_PADS = new Set(['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID']);

/** Conv, ConvTranspose and pools: window attributes that fit the weight's rank and are in range. */
function checkWindowed(g: Graph, n: Node): void {
  const w = n.opType === 'Conv' || n.opType === 'ConvTranspose' ? g.initializers.get(n.inputs[1]) : undefined;
  if (w && (w.dims.length < 3 || w.dims.length > 4)) throw invalid(n, `has a weight of shape [${w.dims.join(', ')}]; LocalQuant runs 1-D and 2-D convolutions (weights of rank 3 or 4)`);
  const kernel = ints(n, 'kernel_shape') ?? w?.dims.slice(2);
  if (!kernel) {
    if (n.opType === 'MaxPool' || n.opType === 'AveragePool') throw invalid(n, 'has no kernel_shape');
    return; // a computed weight: the executor checks its shape
  }
  const spatial = kernel.length;
  if (spatial < 1 || spatial > 2) throw invalid(n, `has a ${spatial}-D window; LocalQuant runs 1-D and 2-D windows`);
  expectList(n, 'kernel_shape', kernel, spatial, 1);
  if (w && kernel.some((k, i) => k !== w.dims[2 + i])) throw invalid(n, `has kernel_shape [${kernel.join(', ')}] but a weight of shape [${w.dims.join(', ')}]`);
  expectList(n, 'strides', ints(n, 'strides'), spatial, 1);
  expectList(n, 'dilations', ints(n, 'dilations'), spatial, 1);
  expectList(n, 'pads', ints(n, 'pads'), 2 * spatial, 0);
  const autoPad = n.attrs.auto_pad ?? 'NOTSET';
  if (typeof autoPad !== 'string' || !AUTO_PADS.has(autoPad)) throw invalid(n, `has auto_pad '${String(autoPad)}' (allowed: ${[...AUTO_PADS].join(', ')})`);
  const pads = ints(n, 'pads');
  if (pads && (n.opType === 'MaxPool' || n.opType === 'AveragePool') && pads.some((p, i) => p >= kernel[i % spatial])) {
    throw invalid(n, `has pads [${pads.join(', ')}] not smaller than its kernel [${kernel.join(', ')}]`);
  }
  if (n.opType === 'ConvTranspose') {
    const strides = ints(n, 'strides') ?? kernel.map(() => 1);
    const dil = ints(n, 'dilations') ?? kernel.map(() => 1);
    const outPad = ints(n, 'output_padding');
    expectList(n, 'output_padding', outPad, spatial, 0);
    if (outPad?.some((p, i) => p >= Math.max(strides[i], dil[i]))) throw invalid(n, `has output_padding [${outPad.join(', ')}] not smaller than its strides or dilations`);
  }
  if (n.opType === 'Conv' || n.opType === 'ConvTranspose') {
    const group = int(n, 'group', 1);
    if (group < 1) throw invalid(n, `has group ${group}; it must be >= 1`);
    if (w && w.dims[0] % group !== 0) throw invalid(n, `has group ${group}, which does not divide the weight's first dimension ${w.dims[0]} (shape [${w.dims.join(', ')}])`);
    const bias = n.inputs[2] ? g.initializers.get(n.inputs[2]) : undefined;
    const outChannels = w ? (n.opType === 'Conv' ? w.dims[0] : w.dims[1] * group) : undefined;
    if (bias && outChannels !== undefined && (bias.dims.length !== 1 || bias.dims[0] !== outChannels)) {
      throw invalid(n, `has a bias of shape [${bias.dims.join(', ')}] for ${outChannels} output channels`);
    }
  }
}

/** Scale, bias, mean and variance: same length, variance >= 0, epsilon finite and >= 0. */
function checkBatchNorm(g: Graph, n: Node): void {
  const eps = n.attrs.epsilon ?? 1e-5;
  if (typeof eps !== 'number' || !Number.isFinite(eps) || eps < 0) throw invalid(n, `has epsilon ${String(eps)}; it must be a finite number >= 0`);
  const stats = n.inputs.slice(1, 5).map((name) => (name ? g.initializers.get(name) : undefined));
  const lengths = new Set(stats.filter((t): t is TensorData => !!t).map((t) => (t.dims.length === 1 ? t.dims[0] : -1)));
  if (lengths.has(-1) || lengths.size > 1) throw invalid(n, `has scale/bias/mean/variance of shapes ${stats.map((t) => (t ? `[${t.dims.join(', ')}]` : '?')).join(', ')}; they must be 1-D of one length`);
  const v = stats[3];
  if (!v) return;
  for (let i = 0; i < v.data.length; i++) {
    if (v.data[i] < 0 || v.data[i] + eps <= 0) {
      throw new LocalQuantError(
        'BAD_WEIGHTS',
        `The model's ${where(n)} has running variance ${v.data[i]} in channel ${i} of '${n.inputs[4]}'${v.data[i] < 0 ? '; a variance cannot be negative' : ` and epsilon ${eps}: it would divide by zero`}.`,
        'The file is damaged: export the model again.',
      );
    }
  }
}

function checkGemm(g: Graph, n: Node): void {
  for (const k of ['transA', 'transB']) if (![0, 1].includes(int(n, k, 0))) throw invalid(n, `has ${k} ${String(n.attrs[k])}; it must be 0 or 1`);
  const b = g.initializers.get(n.inputs[1]);
  if (b && b.dims.length !== 2) throw invalid(n, `has a weight of shape [${b.dims.join(', ')}]; Gemm needs a matrix`);
}

/** Every float attribute is a number (NaN never means anything; infinities do, e.g. Clip bounds). */
function checkFloatAttrs(n: Node): void {
  for (const [k, v] of Object.entries(n.attrs)) {
    if (typeof v === 'number' && Number.isNaN(v)) throw invalid(n, `has attribute '${k}' = NaN`);
    if (Array.isArray(v) && v.some((x) => typeof x === 'number' && Number.isNaN(x))) throw invalid(n, `has NaN in attribute '${k}'`);
  }
}

const CHECKS: Record<string, (g: Graph, n: Node) => void> = {
  Conv: checkWindowed,
  ConvTranspose: checkWindowed,
  MaxPool: checkWindowed,
  AveragePool: checkWindowed,
  BatchNormalization: checkBatchNorm,
  Gemm: checkGemm,
};

/** Inputs an op cannot run without (ONNX, in the latest-opset forms importers normalize to); others need one. */
const REQUIRED_INPUTS: Record<string, number> = {
  Conv: 2, ConvTranspose: 2, BatchNormalization: 5, Gemm: 2, MatMul: 2, Add: 2, Sub: 2, Mul: 2, Div: 2, Pow: 2,
  PRelu: 2, Pad: 2, Reshape: 2, Slice: 3, Expand: 2, Gather: 2, Tile: 2, QuantizeLinear: 2, DequantizeLinear: 2,
  Max: 1, Min: 1, Sum: 1, Mean: 1,
};

/** The most inputs an op takes (ONNX); an extra one would be silently ignored by the executor. Variadic ops are absent. */
const MAX_INPUTS: Record<string, number> = {
  Constant: 0,
  ...Object.fromEntries(
    ['Relu', 'Sigmoid', 'Tanh', 'LeakyRelu', 'HardSigmoid', 'HardSwish', 'Sqrt', 'Neg', 'Exp', 'Identity', 'Flatten', 'Transpose',
      'GlobalAveragePool', 'GlobalMaxPool', 'MaxPool', 'AveragePool', 'Softmax', 'Shape', 'Cast', 'ConstantOfShape'].map((op) => [op, 1]),
  ),
  ...Object.fromEntries(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'MatMul', 'PRelu', 'Reshape', 'Squeeze', 'Unsqueeze', 'Gather', 'Expand', 'Upsample', 'ReduceMean', 'ReduceSum', 'Split'].map((op) => [op, 2])),
  ...Object.fromEntries(['Conv', 'ConvTranspose', 'Gemm', 'Clip', 'Dropout', 'QuantizeLinear', 'DequantizeLinear'].map((op) => [op, 3])),
  Pad: 4,
  Resize: 4,
  BatchNormalization: 5,
  Slice: 5,
};

function checkArity(n: Node): void {
  const need = REQUIRED_INPUTS[n.opType] ?? (n.opType === 'Constant' ? 0 : 1);
  for (let k = 0; k < need; k++) if (!n.inputs[k]) throw invalid(n, `has ${n.inputs.filter(Boolean).length} inputs; input ${k + 1} of the ${need} it needs is missing`);
  const most = MAX_INPUTS[n.opType];
  if (most !== undefined && n.inputs.length > most) throw invalid(n, `has ${n.inputs.length} inputs; ${n.opType} takes at most ${most}`);
  if (n.outputs.filter(Boolean).length === 0) throw invalid(n, 'has no outputs');
}

export function checkNodeAttributes(g: Graph, n: Node): void {
  checkArity(n);
  checkFloatAttrs(n);
  CHECKS[n.opType]?.(g, n);
}
