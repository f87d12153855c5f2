import { LocalQuantError } from '../errors.js';
import { dtypeFromOnnx } from './onnxDataTypes.js';
import { cloneGraph, topologicalOrder } from './graph.js';
import { inferPostprocessShapes } from './postprocessShapes.js';
import type { DType, Graph, Node, TensorData, ValueInfo } from './types.js';

/** A value's inferred type: shape null when it could not be inferred (yet). */
interface Known {
  dtype: DType;
  shape: number[] | null;
}

/**
 * Fills graph.valueInfo with concrete shapes for every value (inputs, initializers, node outputs), given
 * concrete input shapes. Inputs not in `inputShapes` must have a fully numeric declared shape.
 * Values whose shape depends on a computed (not yet folded) tensor get shape null; prepareGraph
 * alternates this with constant folding until everything is known.
 * Returns the number of values whose shape is still unknown.
 */
export function inferShapes(graph: Graph, inputShapes: Record<string, number[]> = {}): number {
  const known = new Map<string, Known>();
  for (const v of graph.inputs) {
    const given = inputShapes[v.name];
    let shape: number[];
    if (given) shape = given.slice();
    else if (v.shape && v.shape.every((d) => typeof d === 'number')) shape = v.shape as number[];
    else {
      throw new LocalQuantError(
        'BAD_INPUT',
        `Input '${v.name}' has shape [${(v.shape ?? []).map((d) => d ?? '?').join(', ')}]; a concrete shape is needed.`,
        `Give a shape for '${v.name}' (for example a batch size).`,
      );
    }
    known.set(v.name, { dtype: v.dtype, shape });
  }
  for (const [name, t] of graph.initializers) known.set(name, { dtype: t.dtype, shape: t.dims.slice() });

  let unknown = 0;
  for (const node of topologicalOrder(graph)) {
    const ins = node.inputs.map((i) => (i ? known.get(i) : undefined));
    let outs: Known[];
    try {
      outs = inferNode(node, ins, graph.initializers);
    } catch (e) {
      if (e instanceof LocalQuantError) throw e;
      throw new LocalQuantError('BAD_INPUT', `Shape inference failed at node '${node.name}' (${node.opType}): ${(e as Error).message}`, 'Check the input shape you gave.');
    }
    node.outputs.forEach((o, k) => {
      if (!o) return;
      const r = outs[k] ?? { dtype: outs[0]?.dtype ?? 'float32', shape: null };
      if (!r.shape) unknown++;
      known.set(o, r);
    });
  }
  for (const [name, k] of known) graph.valueInfo.set(name, { name, dtype: k.dtype, shape: k.shape });
  return unknown;
}

/**
 * Every value's type and shape with the graph's inputs at batch 1, inferred on a copy (the graph is not
 * touched). `imageShapes` gives the per-image shape (without batch) of inputs; other inputs use their
 * declared shape with unknown dimensions as 1. What the exporters and the memory budget read shapes from.
 */
export function shapesAtBatchOne(graph: Graph, imageShapes: Record<string, number[]> = {}): Map<string, ValueInfo> {
  const g = cloneGraph(graph, { shareTensors: true });
  const shapes: Record<string, number[]> = {};
  for (const v of g.inputs) {
    if (g.initializers.has(v.name)) continue;
    shapes[v.name] = [1, ...(imageShapes[v.name] ?? (v.shape ?? []).slice(1).map((d) => (typeof d === 'number' && d > 0 ? d : 1)))];
  }
  inferShapes(g, shapes);
  return g.valueInfo;
}

/** The concrete shape of a value after inferShapes, or undefined. */
export function knownShape(graph: Graph, value: string): number[] | undefined {
  const s = graph.valueInfo.get(value)?.shape;
  return s && s.every((d) => typeof d === 'number') ? (s as number[]) : undefined;
}

function constInts(inits: Map<string, TensorData>, name: string | undefined): number[] | undefined {
  if (!name) return undefined;
  const t = inits.get(name);
  return t ? Array.from(t.data as ArrayLike<number>) : undefined;
}

export function broadcastShapes(...shapes: number[][]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const v = s[s.length - rank + i] ?? 1;
      if (v === 1) continue;
      if (d !== 1 && d !== v) throw new Error(`shapes [${shapes.map((x) => x.join(',')).join('] and [')}] do not broadcast`);
      d = v;
    }
    out.push(d);
  }
  return out;
}

const normAxis = (a: number, rank: number) => (a < 0 ? a + rank : a);

const UNARY = new Set([
  'Relu', 'LeakyRelu', 'PRelu', 'Clip', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Tanh', 'Softmax', 'Sqrt', 'Neg', 'Abs', 'Exp',
  'Identity', 'Dropout', 'BatchNormalization',
]);
const BINARY = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow']);

/** Output spatial size of a convolution/pool along one axis (ONNX formulas). */
/** Output size of a conv/pool window along one axis (ONNX rules: auto_pad, dilation, ceil_mode). */
export function windowOut(inSize: number, k: number, stride: number, dil: number, padHead: number, padSum: number, autoPad: string, ceil: boolean): number {
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return Math.ceil(inSize / stride);
  const eff = dil * (k - 1) + 1;
  if (autoPad === 'VALID') return Math.floor((inSize - eff) / stride) + 1;
  const span = inSize + padSum - eff;
  let out = (ceil ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
  // With ceil_mode, a last window that would start inside the end padding is dropped.
  if (ceil && (out - 1) * stride >= inSize + padHead) out--;
  return out;
}

function inferNode(node: Node, ins: (Known | undefined)[], inits: Map<string, TensorData>): Known[] {
  const a = node.attrs;
  const x = ins[0];
  const xs = x?.shape ?? null;
  const same = (dtype = x?.dtype ?? 'float32', shape = xs): Known[] => [{ dtype, shape }];
  const op = node.opType;
  if (UNARY.has(op)) {
    if (op === 'PRelu' && xs && ins[1]?.shape) return same(x!.dtype, broadcastShapes(xs, ins[1].shape));
    return same();
  }
  if (BINARY.has(op)) {
    const b = ins[1]?.shape;
    return same(x?.dtype, xs && b ? broadcastShapes(xs, b) : null);
  }
  switch (op) {
    case 'Conv':
    case 'ConvTranspose':
    case 'MaxPool':
    case 'AveragePool': {
      const w = ins[1]?.shape;
      if (!xs || ((op === 'Conv' || op === 'ConvTranspose') && !w)) return same(x?.dtype, null);
      const spatial = xs.length - 2;
      const kernel = (a.kernel_shape as number[] | undefined) ?? (w ? w.slice(2) : []);
      const strides = (a.strides as number[] | undefined) ?? Array(spatial).fill(1);
      const dil = (a.dilations as number[] | undefined) ?? Array(spatial).fill(1);
      const pads = (a.pads as number[] | undefined) ?? Array(2 * spatial).fill(0);
      const autoPad = (a.auto_pad as string | undefined) ?? 'NOTSET';
      const out = [xs[0]];
      if (op === 'ConvTranspose') {
        const group = (a.group as number | undefined) ?? 1;
        out.push(w![1] * group);
        const outPad = (a.output_padding as number[] | undefined) ?? Array(spatial).fill(0);
        const outputShape = a.output_shape as number[] | undefined;
        for (let i = 0; i < spatial; i++) {
          if (outputShape) out.push(outputShape[outputShape.length - spatial + i]);
          else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') out.push(xs[2 + i] * strides[i]);
          else out.push(strides[i] * (xs[2 + i] - 1) + outPad[i] + (kernel[i] - 1) * dil[i] + 1 - pads[i] - pads[spatial + i]);
        }
        return same(x!.dtype, out);
      }
      out.push(op === 'Conv' ? w![0] : xs[1]);
      const ceil = op !== 'Conv' && (a.ceil_mode as number | undefined) === 1;
      for (let i = 0; i < spatial; i++) out.push(windowOut(xs[2 + i], kernel[i], strides[i], dil[i], pads[i], pads[i] + pads[spatial + i], autoPad, ceil));
      return op === 'MaxPool' ? [{ dtype: x!.dtype, shape: out }, { dtype: 'int64', shape: out }] : same(x!.dtype, out);
    }
    case 'GlobalAveragePool':
    case 'GlobalMaxPool':
      return same(x?.dtype, xs ? [xs[0], xs[1], ...xs.slice(2).map(() => 1)] : null);
    case 'MatMul': {
      const b = ins[1]?.shape;
      if (!xs || !b) return same(x?.dtype, null);
      const A = xs.length === 1 ? [1, xs[0]] : xs;
      const B = b.length === 1 ? [b[0], 1] : b;
      const batch = broadcastShapes(A.slice(0, -2), B.slice(0, -2));
      const out = [...batch, A[A.length - 2], B[B.length - 1]];
      if (xs.length === 1) out.splice(out.length - 2, 1);
      if (b.length === 1) out.pop();
      return same(x!.dtype, out);
    }
    case 'Gemm': {
      const b = ins[1]?.shape;
      if (!xs || !b) return same(x?.dtype, null);
      const m = a.transA ? xs[1] : xs[0];
      const n = a.transB ? b[0] : b[1];
      return same(x!.dtype, [m, n]);
    }
    case 'Flatten': {
      if (!xs) return same();
      const axis = normAxis((a.axis as number | undefined) ?? 1, xs.length);
      const prod = (s: number[]) => s.reduce((p, d) => p * d, 1);
      return same(x!.dtype, [prod(xs.slice(0, axis)), prod(xs.slice(axis))]);
    }
    case 'Reshape': {
      const target = constInts(inits, node.inputs[1]);
      if (!xs || !target) return same(x?.dtype, null);
      return same(x!.dtype, reshapeTarget(xs, target, (a.allowzero as number | undefined) === 1));
    }
    case 'Transpose': {
      if (!xs) return same();
      const perm = (a.perm as number[] | undefined) ?? xs.map((_, i) => xs.length - 1 - i);
      return same(x!.dtype, perm.map((p) => xs[p]));
    }
    case 'Squeeze': {
      if (!xs) return same();
      const axes = constInts(inits, node.inputs[1]);
      if (node.inputs[1] && !axes) return same(x!.dtype, null);
      const drop = new Set(axes ? axes.map((v) => normAxis(v, xs.length)) : xs.flatMap((d, i) => (d === 1 ? [i] : [])));
      return same(x!.dtype, xs.filter((_, i) => !drop.has(i)));
    }
    case 'Unsqueeze': {
      const axes = constInts(inits, node.inputs[1]);
      if (!xs || !axes) return same(x?.dtype, null);
      return same(x!.dtype, unsqueezeShape(xs, axes));
    }
    case 'Concat': {
      const shapes = ins.map((k) => k?.shape);
      if (shapes.some((s) => !s)) return same(x?.dtype, null);
      const s0 = shapes[0]!;
      const axis = normAxis(a.axis as number, s0.length);
      const out = s0.slice();
      out[axis] = shapes.reduce((sum, s) => sum + s![axis], 0);
      return same(x!.dtype, out);
    }
    case 'Split': {
      if (!xs) return node.outputs.map(() => ({ dtype: x?.dtype ?? 'float32', shape: null }));
      const axis = normAxis((a.axis as number | undefined) ?? 0, xs.length);
      const sizes = splitSizes(xs[axis], node.outputs.length, constInts(inits, node.inputs[1]), a.num_outputs as number | undefined);
      return sizes.map((s) => {
        const out = xs.slice();
        out[axis] = s;
        return { dtype: x!.dtype, shape: out };
      });
    }
    case 'Slice': {
      const starts = constInts(inits, node.inputs[1]);
      const ends = constInts(inits, node.inputs[2]);
      const axes = node.inputs[3] ? constInts(inits, node.inputs[3]) : undefined;
      const steps = node.inputs[4] ? constInts(inits, node.inputs[4]) : undefined;
      if (!xs || !starts || !ends || (node.inputs[3] && !axes) || (node.inputs[4] && !steps)) return same(x?.dtype, null);
      return same(x!.dtype, sliceRanges(xs, starts, ends, axes, steps).map((r) => r.count));
    }
    case 'Pad': {
      const pads = constInts(inits, node.inputs[1]);
      if (!xs || !pads) return same(x?.dtype, null);
      const axes = node.inputs[3] ? constInts(inits, node.inputs[3])?.map((v) => normAxis(v, xs.length)) : xs.map((_, i) => i);
      if (!axes) return same(x!.dtype, null);
      const out = xs.slice();
      axes.forEach((ax, i) => (out[ax] += pads[i] + pads[axes.length + i]));
      return same(x!.dtype, out);
    }
    case 'ReduceMean':
    case 'ReduceSum': {
      if (!xs) return same();
      const keep = (a.keepdims as number | undefined) ?? 1;
      const axesAttr = a.axes as number[] | undefined;
      if (!axesAttr?.length && a.noop_with_empty_axes === 1) return same();
      const axes = new Set(axesAttr?.length ? axesAttr.map((v) => normAxis(v, xs.length)) : xs.map((_, i) => i));
      return same(x!.dtype, keep ? xs.map((d, i) => (axes.has(i) ? 1 : d)) : xs.filter((_, i) => !axes.has(i)));
    }
    case 'DepthToSpace':
    case 'SpaceToDepth': {
      const b = a.blocksize as number;
      if (!xs || xs.length !== 4 || !(b >= 1)) return same(x?.dtype, null);
      const [n, c, h, w] = xs;
      if (op === 'DepthToSpace' ? c % (b * b) !== 0 : h % b !== 0 || w % b !== 0) return same(x!.dtype, null); // the executor names it
      return same(x!.dtype, op === 'DepthToSpace' ? [n, c / (b * b), h * b, w * b] : [n, c * b * b, h / b, w / b]);
    }
    case 'Resize': {
      if (!xs) return same();
      const sizes = constInts(inits, node.inputs[3]);
      if (sizes?.length) return same(x!.dtype, sizes);
      const scales = inits.get(node.inputs[2]);
      if (!scales || scales.data.length === 0) return same(x!.dtype, null);
      return same(x!.dtype, xs.map((d, i) => Math.floor(d * (scales.data[i] as number))));
    }
    case 'Shape': {
      if (!xs) return [{ dtype: 'int64', shape: null }];
      const [s, e] = shapeRange(xs.length, a.start as number | undefined, a.end as number | undefined);
      return [{ dtype: 'int64', shape: [Math.max(0, e - s)] }];
    }
    case 'Gather': {
      const idx = ins[1]?.shape;
      if (!xs || !idx) return same(x?.dtype, null);
      const axis = normAxis((a.axis as number | undefined) ?? 0, xs.length);
      return same(x!.dtype, [...xs.slice(0, axis), ...idx, ...xs.slice(axis + 1)]);
    }
    case 'Cast':
      return same(dtypeFromOnnx(a.to as number) ?? 'float32');
    case 'ConstantOfShape': {
      const shape = constInts(inits, node.inputs[0]);
      const v = a.value as TensorData | undefined;
      return [{ dtype: v?.dtype ?? 'float32', shape: shape ?? null }];
    }
    case 'Expand': {
      const shape = constInts(inits, node.inputs[1]);
      return same(x?.dtype, xs && shape ? broadcastShapes(xs, shape) : null);
    }
    case 'QuantizeLinear': {
      const zp = ins[2];
      const outType = (a.output_dtype as number | undefined) ? dtypeFromOnnx(a.output_dtype as number) : undefined;
      return same(outType ?? zp?.dtype ?? 'uint8');
    }
    case 'DequantizeLinear':
      return same(ins[1]?.dtype ?? 'float32');
    default: {
      const post = inferPostprocessShapes(node, ins, inits);
      if (post) return post;
      throw new LocalQuantError('UNSUPPORTED_OP', `Shape inference does not know operator '${op}' (node '${node.name}').`, 'File an issue with the model attached.');
    }
  }
}

export function reshapeTarget(xs: number[], target: number[], allowzero: boolean): number[] {
  const out = target.map((d, i) => (d === 0 && !allowzero ? xs[i] : d));
  const total = xs.reduce((p, d) => p * d, 1);
  const minus = out.indexOf(-1);
  if (minus >= 0) {
    const rest = out.reduce((p, d, i) => (i === minus ? p : p * d), 1);
    out[minus] = rest === 0 ? 0 : total / rest;
  }
  if (out.reduce((p, d) => p * d, 1) !== total) throw new Error(`cannot reshape [${xs.join(',')}] to [${target.join(',')}]`);
  return out;
}

export function unsqueezeShape(xs: number[], axes: number[]): number[] {
  const rank = xs.length + axes.length;
  const set = new Set(axes.map((v) => normAxis(v, rank)));
  const out: number[] = [];
  let j = 0;
  for (let i = 0; i < rank; i++) out.push(set.has(i) ? 1 : xs[j++]);
  return out;
}

export function splitSizes(dim: number, outputs: number, split: number[] | undefined, numOutputs: number | undefined): number[] {
  if (split?.length) return split;
  const n = numOutputs ?? outputs;
  const chunk = Math.ceil(dim / n);
  return Array.from({ length: n }, (_, i) => Math.max(0, Math.min(chunk, dim - i * chunk)));
}

export function shapeRange(rank: number, start?: number, end?: number): [number, number] {
  const clamp = (v: number) => Math.min(rank, Math.max(0, v < 0 ? v + rank : v));
  return [clamp(start ?? 0), clamp(end ?? rank)];
}

/** Per axis: first index, step and element count of an ONNX Slice (clamping as the spec says). */
export function sliceRanges(xs: number[], starts: number[], ends: number[], axes?: number[], steps?: number[]): { start: number; step: number; count: number }[] {
  const r = xs.map((d) => ({ start: 0, step: 1, count: d }));
  const ax = axes ?? starts.map((_, i) => i);
  ax.forEach((axisRaw, i) => {
    const axis = normAxis(axisRaw, xs.length);
    const dim = xs[axis];
    const step = steps?.[i] ?? 1;
    let s = starts[i];
    let e = ends[i];
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    if (step > 0) {
      s = Math.min(Math.max(s, 0), dim);
      e = Math.min(Math.max(e, 0), dim);
    } else {
      s = Math.min(Math.max(s, 0), dim - 1);
      e = Math.min(Math.max(e, -1), dim - 1);
    }
    const count = Math.max(0, Math.ceil((e - s) / step));
    r[axis] = { start: s, step, count };
  });
  return r;
}

export type { ValueInfo };
