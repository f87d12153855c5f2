import { LocalQuantError } from '../errors.js';
import { consumerMap, producerMap, topologicalOrder } from './graph.js';
import { opsWhere } from './opKinds.js';
import type { Graph, Node, TensorData, ValueInfo } from './types.js';

/**
 * The float tail of a detector: the post-processing after the network (score thresholds, TopK, NMS,
 * index arithmetic, gathers) that cannot be differentiated or sensibly quantized. As ORT's
 * quantize_static and TFLite do, it stays float: the graph is cut into a head (the network, a
 * self-contained graph whose outputs are the values the tail reads) that synthesis, calibration and
 * quantization see, and the tail, carried verbatim into the export by `spliceTail`.
 */

/** Ops whose result is an index, a mask or a selection: the first of them on the data path starts the tail. */
export const TAIL_START_OPS: ReadonlySet<string> = new Set([
  'Equal', 'Greater', 'GreaterOrEqual', 'Less', 'LessOrEqual', 'Not', 'And', 'Or', 'Where',
  'TopK', 'ArgMax', 'ArgMin', 'NonMaxSuppression', 'NonZero', 'GatherND', 'ScatterND', 'GatherElements',
  'Floor', 'Ceil', 'Round', 'Mod', 'Range', 'Tile',
]);

/**
 * Ops that only move, retype or select values: computing them in the tail costs nothing and quantizes
 * nothing. MaxPool is one: CenterNet's peak test Equal(heatmap, MaxPool(heatmap)) must compare a value
 * with itself, which a separately quantized MaxPool output would break.
 */
const RELAYOUT_OPS: ReadonlySet<string> = new Set([...opsWhere('relayout'), 'Cast', 'MaxPool']);

export interface TailStart {
  node: string;
  opType: string;
  reason: string;
}

export interface FloatTailCut {
  /** The network: same inputs, outputs = the values the tail reads plus the original outputs it computes. */
  head: Graph;
  /** Tail nodes in execution order, verbatim. */
  tail: Node[];
  /** Initializers only the tail reads. */
  tailInitializers: Map<string, TensorData>;
  /** Values where the head ends and the tail begins. */
  cutValues: string[];
  /** The nodes that start the tail and why. */
  starts: TailStart[];
  /** The original graph's outputs (names, types and order). */
  outputs: ValueInfo[];
}

export interface CutOptions {
  /** Node names (or output value names) where the tail begins, overriding the automatic boundary. */
  until?: string[];
  /** Whether the executor can run an op; one it cannot run starts the tail. */
  runnable?: (opType: string) => boolean;
}

const isFloat = (d: string | undefined) => d === undefined || d === 'float32' || d === 'float16' || d === 'float64';

/**
 * Splits `graph` at its float tail; undefined when there is none (a classifier), so callers keep the
 * graph as it is. Values computed from shapes and constants only (Shape -> Gather -> Concat -> Reshape)
 * are not on the data path and never start a tail.
 */
export function cutFloatTail(graph: Graph, opts: CutOptions = {}): FloatTailCut | undefined {
  const order = topologicalOrder(graph);
  const producer = producerMap(graph);
  const starts: TailStart[] = [];
  const tailNodes = new Set<Node>();
  if (opts.until?.length) {
    for (const name of opts.until) {
      const n = graph.nodes.find((x) => x.name === name) ?? producer.get(name);
      if (!n) throw new LocalQuantError('BAD_CONFIG', `--until names '${name}', which is no node or value of the model.`, 'Give node names as `localquant inspect --json` lists them.');
      if (!tailNodes.has(n)) starts.push({ node: n.name, opType: n.opType, reason: 'named by --until' });
      tailNodes.add(n);
    }
  }
  // data = values that depend on a graph input other than through Shape
  const data = new Set(graph.inputs.map((v) => v.name));
  for (const n of order) {
    const readsData = n.inputs.some((i) => i && data.has(i));
    if (readsData && n.opType !== 'Shape') for (const o of n.outputs) if (o) data.add(o);
    if (opts.until?.length || !readsData || tailNodes.has(n)) continue;
    const castsToIndex = n.opType === 'Cast' && !isFloat(castTarget(n));
    const unrunnable = opts.runnable ? !opts.runnable(n.opType) : false;
    if (TAIL_START_OPS.has(n.opType) || castsToIndex || unrunnable) {
      if (n.inputs.some((i) => i && tailNodes.has(producer.get(i)!))) {
        tailNodes.add(n);
        continue;
      }
      tailNodes.add(n);
      starts.push({ node: n.name, opType: n.opType, reason: unrunnable ? 'not run by the executor' : castsToIndex ? 'casts to an integer type' : 'computes indices, masks or selections (not differentiable)' });
    }
    if (n.inputs.some((i) => i && producer.get(i) && tailNodes.has(producer.get(i)!))) tailNodes.add(n);
  }
  // forward closure: everything computed from a tail value is tail
  for (const n of order) if (!tailNodes.has(n) && n.inputs.some((i) => i && producer.get(i) && tailNodes.has(producer.get(i)!))) tailNodes.add(n);
  if (!tailNodes.size) return undefined;
  // Constant/shape arithmetic and pure re-layouts (Reshape, Transpose, ...) that only the tail reads go
  // with the tail: they are no network, and a tail's reshape to a fixed batch of 1 would break batched
  // calibration of the head.
  const readers = consumerMap(graph);
  for (let k = order.length - 1; k >= 0; k--) {
    const n = order[k];
    if (tailNodes.has(n) || n.outputs.some((o) => graph.outputs.some((g) => g.name === o))) continue;
    if (n.outputs.some((o) => data.has(o)) && !RELAYOUT_OPS.has(n.opType)) continue;
    const rs = n.outputs.flatMap((o) => readers.get(o) ?? []);
    if (rs.length && rs.every((r) => tailNodes.has(r))) tailNodes.add(n);
  }
  return splitAt(graph, order, tailNodes, starts);
}

function castTarget(n: Node): string | undefined {
  const to = n.attrs.to;
  const names: Record<number, string> = { 1: 'float32', 10: 'float16', 11: 'float64', 16: 'float32' };
  return typeof to === 'number' ? (names[to] ?? 'int') : typeof to === 'string' ? to : undefined;
}

function splitAt(graph: Graph, order: Node[], tailSet: Set<Node>, starts: TailStart[]): FloatTailCut {
  const tail = order.filter((n) => tailSet.has(n));
  const headProduced = new Set<string>(graph.inputs.map((v) => v.name));
  for (const n of order) if (!tailSet.has(n)) for (const o of n.outputs) if (o) headProduced.add(o);
  const cutValues: string[] = [];
  for (const n of tail) for (const i of n.inputs) if (i && headProduced.has(i) && !cutValues.includes(i)) cutValues.push(i);
  const headOutputs = [...graph.outputs.filter((o) => headProduced.has(o.name)).map((o) => o.name)];
  for (const c of cutValues) if (!headOutputs.includes(c)) headOutputs.push(c);
  // a graph input the tail reads directly passes through the head as an Identity
  const headNodes = order.filter((n) => !tailSet.has(n));
  const inputNames = new Set(graph.inputs.map((v) => v.name));
  const renamedInputs = new Map<string, string>();
  const outNames = headOutputs.map((name) => {
    if (!inputNames.has(name)) return name;
    const out = `${name}__to_tail`;
    headNodes.push({ name: `${name}__to_tail`, opType: 'Identity', inputs: [name], outputs: [out], attrs: {} });
    renamedInputs.set(name, out);
    return out;
  });
  // keep only head nodes the head outputs need
  const needed = new Set(outNames);
  const kept: Node[] = [];
  for (let k = headNodes.length - 1; k >= 0; k--) {
    const n = headNodes[k];
    if (!n.outputs.some((o) => needed.has(o))) continue;
    kept.unshift(n);
    for (const i of n.inputs) if (i) needed.add(i);
  }
  const info = (name: string): ValueInfo => graph.outputs.find((o) => o.name === name) ?? graph.valueInfo.get(name) ?? { name, dtype: 'float32', shape: null };
  const headInit = new Map([...graph.initializers].filter(([k]) => needed.has(k)));
  const tailRead = new Set(tail.flatMap((n) => n.inputs));
  const tailInitializers = new Map([...graph.initializers].filter(([k]) => tailRead.has(k)));
  const tailNodes = tail.map((n) => ({ ...n, inputs: n.inputs.map((i) => renamedInputs.get(i) ?? i) }));
  const head: Graph = {
    ...graph,
    nodes: kept,
    initializers: headInit,
    outputs: outNames.map((name, k) => ({ ...info(headOutputs[k]), name })),
    valueInfo: new Map([...graph.valueInfo].filter(([k]) => needed.has(k))),
    metadata: { ...graph.metadata },
  };
  return { head, tail: tailNodes, tailInitializers, cutValues: outNames.filter((_, k) => cutValues.includes(headOutputs[k])), starts, outputs: graph.outputs };
}

/**
 * The head (float, or its quantized QDQ form) with the float tail appended: the original outputs again.
 * Head values the tail reads must have kept their names (graph outputs do). Tail names that the head
 * now uses for something else (compacted internal names) are renamed in the tail.
 */
export function spliceTail(head: Graph, cut: FloatTailCut): Graph {
  const headValues = new Set<string>([...head.initializers.keys(), ...head.inputs.map((v) => v.name)]);
  for (const n of head.nodes) for (const o of n.outputs) headValues.add(o);
  const headNodeNames = new Set(head.nodes.map((n) => n.name));
  for (const c of cut.cutValues) {
    if (!headValues.has(c)) throw new LocalQuantError('INTERNAL', `The quantized network lost the value '${c}' where the float tail begins.`);
  }
  const keepNames = new Set([...cut.cutValues, ...cut.outputs.map((o) => o.name)]);
  const rename = new Map<string, string>();
  const fresh = (v: string) => {
    if (!v || keepNames.has(v) || !headValues.has(v)) return v;
    let r = rename.get(v);
    if (!r) {
      r = `${v}__tail`;
      for (let i = 1; headValues.has(r); i++) r = `${v}__tail${i}`;
      rename.set(v, r);
    }
    return r;
  };
  const tailInits = new Map([...cut.tailInitializers].map(([k, t]) => [fresh(k), t]));
  const tail = cut.tail.map((n) => ({
    ...n,
    name: headNodeNames.has(n.name) ? `${n.name}__tail` : n.name,
    inputs: n.inputs.map((i) => (cut.cutValues.includes(i) ? i : fresh(i))),
    outputs: n.outputs.map(fresh),
  }));
  const outputs = cut.outputs.map((o) => ({ ...o }));
  return {
    ...head,
    nodes: [...head.nodes, ...tail],
    initializers: new Map([...head.initializers, ...tailInits]),
    outputs,
    opset: Math.max(head.opset, 11),
  };
}
