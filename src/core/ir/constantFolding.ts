import { isLocalQuantError, LocalQuantError } from '../errors.js';
import { dtypeFromOnnx } from './onnxDataTypes.js';
import { topologicalOrder } from './graph.js';
import { broadcastShapes, knownShape, reshapeTarget, shapeRange, sliceRanges, splitSizes, unsqueezeShape } from './shapeInference.js';
import type { DType, Graph, Node, TensorData, TypedArray } from './types.js';

/**
 * Evaluates, in plain JS, the nodes whose result is known before any input arrives: the shape arithmetic
 * exporters emit (Shape of a value with an inferred shape, Gather, Unsqueeze, Squeeze, Concat, Split,
 * ConstantOfShape, Cast, Slice, integer Add/Sub/Mul/Div) and Reshape/Identity of constants. Their outputs
 * become initializers; nodes and initializers nothing reads any more are removed.
 * Run inferShapes first so that Shape nodes can fold. Returns the number of nodes folded.
 */
export function foldConstants(graph: Graph): number {
  const outputNames = new Set(graph.outputs.map((o) => o.name));
  let folded = 0;
  const keep: Node[] = [];
  for (const node of topologicalOrder(graph)) {
    const results = node.outputs.some((o) => !o || outputNames.has(o)) ? undefined : evaluateNamed(node, graph);
    if (results) {
      node.outputs.forEach((o, k) => {
        graph.initializers.set(o, results[k]);
        graph.valueInfo.set(o, { name: o, dtype: results[k].dtype, shape: results[k].dims.slice() });
      });
      folded++;
    } else keep.push(node);
  }
  graph.nodes = keep;
  removeDeadNodes(graph);
  return folded;
}

/** Removes nodes whose outputs nobody reads (and that produce no graph output), then unread initializers. */
export function removeDeadNodes(graph: Graph): number {
  const before = graph.nodes.length;
  const outputNames = new Set(graph.outputs.map((o) => o.name));
  let changed = true;
  while (changed) {
    changed = false;
    const read = new Set<string>(outputNames);
    for (const n of graph.nodes) for (const i of n.inputs) if (i) read.add(i);
    const alive = graph.nodes.filter((n) => n.outputs.some((o) => o && read.has(o)));
    if (alive.length !== graph.nodes.length) {
      graph.nodes = alive;
      changed = true;
    }
  }
  const read = new Set<string>(outputNames);
  for (const n of graph.nodes) for (const i of n.inputs) if (i) read.add(i);
  for (const k of [...graph.initializers.keys()]) if (!read.has(k)) graph.initializers.delete(k);
  return before - graph.nodes.length;
}

const INT_TYPES = new Set<DType>(['int64', 'int32', 'int16', 'int8', 'uint8', 'uint16']);

function strides(dims: number[]): number[] {
  const s = new Array<number>(dims.length);
  let acc = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= dims[i];
  }
  return s;
}

function allocLike(dtype: DType, n: number): TypedArray {
  switch (dtype) {
    case 'float32': return new Float32Array(n);
    case 'float64': return new Float64Array(n);
    case 'int8': case 'int4': return new Int8Array(n);
    case 'uint8': case 'bool': case 'uint4': return new Uint8Array(n);
    case 'int16': return new Int16Array(n);
    case 'uint16': return new Uint16Array(n);
    default: return new Int32Array(n); // int32, int64 (clamped), float16 never stored
  }
}

const int64 = (values: number[], dims = [values.length]): TensorData => ({ dtype: 'int64', dims, data: Int32Array.from(values) });

/** evaluateAll, with a failure on malformed constants (a RangeError from a negative size, ...) as a typed error naming the node. */
function evaluateNamed(node: Node, graph: Graph): TensorData[] | undefined {
  try {
    return evaluateAll(node, graph);
  } catch (e) {
    if (isLocalQuantError(e)) throw e;
    throw new LocalQuantError(
      'INVALID_MODEL',
      `Node '${node.name}' (${node.opType}) cannot be computed from its constant inputs: ${e instanceof Error ? e.message : String(e)}.`,
      'The file is damaged or hand-edited: export the model again.',
    );
  }
}

function evaluateAll(node: Node, graph: Graph): TensorData[] | undefined {
  if (node.opType === 'Split') {
    const x = graph.initializers.get(node.inputs[0]);
    const split = node.inputs[1] ? graph.initializers.get(node.inputs[1]) : undefined;
    if (!x || (node.inputs[1] && !split)) return undefined;
    const axis = normAxis((node.attrs.axis as number | undefined) ?? 0, x.dims.length);
    const sizes = splitSizes(x.dims[axis], node.outputs.length, split ? Array.from(split.data) : undefined, node.attrs.num_outputs as number | undefined);
    let start = 0;
    return sizes.map((size) => {
      const ranges = x.dims.map((d) => ({ start: 0, step: 1, count: d }));
      ranges[axis] = { start, step: 1, count: size };
      start += size;
      return slice(x, ranges);
    });
  }
  if (node.outputs.length !== 1) return undefined;
  const r = evaluate(node, graph);
  return r ? [r] : undefined;
}

const normAxis = (a: number, rank: number) => (a < 0 ? a + rank : a);

function evaluate(node: Node, graph: Graph): TensorData | undefined {
  const inits = graph.initializers;
  const a = node.attrs;
  if (node.opType === 'Shape') {
    const s = knownShape(graph, node.inputs[0]);
    if (!s) return undefined;
    const [start, end] = shapeRange(s.length, a.start as number | undefined, a.end as number | undefined);
    return int64(s.slice(start, end));
  }
  const ins = node.inputs.map((i) => (i ? inits.get(i) : undefined));
  if (node.inputs.some((i, k) => i && !ins[k])) return undefined;
  const x = ins[0];
  if (!x) return undefined;
  switch (node.opType) {
    case 'Identity':
      return x;
    case 'Reshape':
      return { dtype: x.dtype, dims: reshapeTarget(x.dims, Array.from(ins[1]!.data), (a.allowzero as number | undefined) === 1), data: x.data };
    case 'Unsqueeze':
      return { dtype: x.dtype, dims: unsqueezeShape(x.dims, Array.from(ins[1]!.data)), data: x.data };
    case 'Squeeze': {
      const rank = x.dims.length;
      const axes = ins[1] ? Array.from(ins[1].data, (v) => (v < 0 ? v + rank : v)) : x.dims.flatMap((d, i) => (d === 1 ? [i] : []));
      return { dtype: x.dtype, dims: x.dims.filter((_, i) => !axes.includes(i)), data: x.data };
    }
    case 'Concat':
      return concat(ins as TensorData[], a.axis as number);
    case 'Gather':
      return gather(x, ins[1]!, (a.axis as number | undefined) ?? 0);
    case 'Slice': {
      const ranges = sliceRanges(
        x.dims,
        Array.from(ins[1]!.data),
        Array.from(ins[2]!.data),
        ins[3] ? Array.from(ins[3].data) : undefined,
        ins[4] ? Array.from(ins[4].data) : undefined,
      );
      return slice(x, ranges);
    }
    case 'ConstantOfShape': {
      const dims = Array.from(x.data);
      const v = a.value as TensorData | undefined;
      const dtype = v?.dtype ?? 'float32';
      const data = allocLike(dtype, dims.reduce((p, d) => p * d, 1));
      data.fill(v ? (v.data[0] as number) : 0);
      return { dtype, dims, data };
    }
    case 'Cast': {
      const to = dtypeFromOnnx(a.to as number);
      if (!to || to === 'int4' || to === 'uint4') return undefined;
      const dtype: DType = to === 'float16' ? 'float32' : to;
      const data = allocLike(dtype, x.data.length);
      const isInt = INT_TYPES.has(dtype);
      for (let i = 0; i < data.length; i++) {
        const v = x.data[i] as number;
        data[i] = dtype === 'bool' ? (v ? 1 : 0) : isInt ? Math.trunc(v) : v;
      }
      return { dtype, dims: x.dims.slice(), data };
    }
    case 'Add':
    case 'Sub':
    case 'Mul':
    case 'Div': {
      const b = ins[1]!;
      if (!INT_TYPES.has(x.dtype) || !INT_TYPES.has(b.dtype)) return undefined;
      const f =
        node.opType === 'Add' ? (p: number, q: number) => p + q
        : node.opType === 'Sub' ? (p: number, q: number) => p - q
        : node.opType === 'Mul' ? (p: number, q: number) => p * q
        : (p: number, q: number) => Math.trunc(p / q);
      return binary(x, b, f);
    }
    default:
      return undefined;
  }
}

function binary(x: TensorData, y: TensorData, f: (p: number, q: number) => number): TensorData {
  const dims = broadcastShapes(x.dims, y.dims);
  const n = dims.reduce((p, d) => p * d, 1);
  const data = allocLike(x.dtype, n);
  const os = strides(dims);
  const bs = (t: TensorData) => {
    const s = strides(t.dims);
    const off = dims.length - t.dims.length;
    return dims.map((_, i) => (i < off || t.dims[i - off] === 1 ? 0 : s[i - off]));
  };
  const xs = bs(x);
  const ys = bs(y);
  for (let i = 0; i < n; i++) {
    let r = i;
    let xi = 0;
    let yi = 0;
    for (let d = 0; d < dims.length; d++) {
      const c = Math.floor(r / os[d]);
      r -= c * os[d];
      xi += c * xs[d];
      yi += c * ys[d];
    }
    data[i] = f(x.data[xi] as number, y.data[yi] as number);
  }
  return { dtype: x.dtype, dims, data };
}

function concat(ts: TensorData[], axisRaw: number): TensorData {
  const rank = ts[0].dims.length;
  const axis = axisRaw < 0 ? axisRaw + rank : axisRaw;
  const dims = ts[0].dims.slice();
  dims[axis] = ts.reduce((s, t) => s + t.dims[axis], 0);
  const outer = dims.slice(0, axis).reduce((p, d) => p * d, 1);
  const inner = dims.slice(axis + 1).reduce((p, d) => p * d, 1);
  const data = allocLike(ts[0].dtype, dims.reduce((p, d) => p * d, 1));
  let o = 0;
  for (let i = 0; i < outer; i++) {
    for (const t of ts) {
      const len = t.dims[axis] * inner;
      for (let k = 0; k < len; k++) data[o++] = t.data[i * len + k] as number;
    }
  }
  return { dtype: ts[0].dtype, dims, data };
}

function gather(x: TensorData, idx: TensorData, axisRaw: number): TensorData {
  const rank = x.dims.length;
  const axis = axisRaw < 0 ? axisRaw + rank : axisRaw;
  const outer = x.dims.slice(0, axis).reduce((p, d) => p * d, 1);
  const inner = x.dims.slice(axis + 1).reduce((p, d) => p * d, 1);
  const n = x.dims[axis];
  const dims = [...x.dims.slice(0, axis), ...idx.dims, ...x.dims.slice(axis + 1)];
  const data = allocLike(x.dtype, outer * idx.data.length * inner);
  let o = 0;
  for (let i = 0; i < outer; i++) {
    for (let j = 0; j < idx.data.length; j++) {
      let k = idx.data[j] as number;
      if (k < 0) k += n;
      for (let m = 0; m < inner; m++) data[o++] = x.data[(i * n + k) * inner + m] as number;
    }
  }
  return { dtype: x.dtype, dims, data };
}

function slice(x: TensorData, ranges: { start: number; step: number; count: number }[]): TensorData {
  const dims = ranges.map((r) => r.count);
  const n = dims.reduce((p, d) => p * d, 1);
  const data = allocLike(x.dtype, n);
  const xs = strides(x.dims);
  const os = strides(dims);
  for (let i = 0; i < n; i++) {
    let r = i;
    let src = 0;
    for (let d = 0; d < dims.length; d++) {
      const c = Math.floor(r / os[d]);
      r -= c * os[d];
      src += (ranges[d].start + c * ranges[d].step) * xs[d];
    }
    data[i] = x.data[src] as number;
  }
  return { dtype: x.dtype, dims, data };
}
