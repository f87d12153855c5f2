import { LocalQuantError } from '../errors.js';
import type { AttrValue, Graph, Node, TensorData } from './types.js';

/**
 * Nodes in an order where every node comes after the producers of its inputs. Stable: a graph that is
 * already ordered (as ONNX requires) keeps its order.
 */
export function topologicalOrder(graph: Graph): Node[] {
  const producer = producerMap(graph);
  const indexOf = new Map(graph.nodes.map((n, i) => [n, i]));
  const pending = new Map<Node, number>();
  const dependents = new Map<Node, Node[]>();
  for (const n of graph.nodes) {
    const deps = new Set<Node>();
    for (const i of n.inputs) {
      const p = i ? producer.get(i) : undefined;
      if (p && p !== n) deps.add(p);
    }
    pending.set(n, deps.size);
    for (const d of deps) {
      const list = dependents.get(d) ?? [];
      list.push(n);
      dependents.set(d, list);
    }
  }
  // Ready nodes are taken in original order (a small binary heap keyed by original index).
  const ready: Node[] = graph.nodes.filter((n) => pending.get(n) === 0);
  const order: Node[] = [];
  const heapPush = (n: Node) => {
    ready.push(n);
    let i = ready.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (indexOf.get(ready[p])! <= indexOf.get(ready[i])!) break;
      [ready[p], ready[i]] = [ready[i], ready[p]];
      i = p;
    }
  };
  const heapPop = (): Node => {
    const top = ready[0];
    const last = ready.pop()!;
    if (ready.length) {
      ready[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < ready.length && indexOf.get(ready[l])! < indexOf.get(ready[m])!) m = l;
        if (r < ready.length && indexOf.get(ready[r])! < indexOf.get(ready[m])!) m = r;
        if (m === i) break;
        [ready[m], ready[i]] = [ready[i], ready[m]];
        i = m;
      }
    }
    return top;
  };
  // The initial list is in original order, which is already a valid heap.
  while (ready.length) {
    const n = heapPop();
    order.push(n);
    for (const d of dependents.get(n) ?? []) {
      const left = pending.get(d)! - 1;
      pending.set(d, left);
      if (left === 0) heapPush(d);
    }
  }
  if (order.length !== graph.nodes.length) {
    const stuck = graph.nodes.find((n) => pending.get(n)! > 0)!;
    throw new LocalQuantError('NOT_A_MODEL', `The model's graph has a cycle (through node '${stuck.name}').`, 'Export the model again; ONNX graphs must be acyclic.');
  }
  return order;
}

/** value name -> the node producing it (of a graph, or of any list of nodes such as a schedule). */
export function producerMap(graph: Pick<Graph, 'nodes'>): Map<string, Node> {
  const m = new Map<string, Node>();
  for (const n of graph.nodes) for (const o of n.outputs) if (o) m.set(o, n);
  return m;
}

/** value name -> the nodes reading it (in graph order; a node reading a value twice appears once). */
export function consumerMap(graph: Pick<Graph, 'nodes'>): Map<string, Node[]> {
  const m = new Map<string, Node[]>();
  for (const n of graph.nodes) {
    for (const i of new Set(n.inputs)) {
      if (!i) continue;
      const list = m.get(i);
      if (list) list.push(n);
      else m.set(i, [n]);
    }
  }
  return m;
}

/** The node producing `value`, or undefined for graph inputs, initializers and unknown names. */
export function producerOf(graph: Graph, value: string): Node | undefined {
  return graph.nodes.find((n) => n.outputs.includes(value));
}

/** The nodes reading `value`. */
export function consumersOf(graph: Graph, value: string): Node[] {
  return graph.nodes.filter((n) => n.inputs.includes(value));
}

/**
 * The nodes that must run to obtain `targets` when the values in `known` are already at hand (graph
 * inputs and initializers have no producer and end the search). Used by the executor to run part of a
 * graph and by value streams to advance it step by step.
 */
export function nodesNeededFor(producer: Map<string, Node>, targets: Iterable<string>, known: { has(value: string): boolean }): Set<Node> {
  const need = new Set<Node>();
  const stack = [...targets];
  while (stack.length) {
    const v = stack.pop()!;
    if (known.has(v)) continue;
    const p = producer.get(v);
    if (!p || need.has(p)) continue;
    need.add(p);
    for (const i of p.inputs) if (i) stack.push(i);
  }
  return need;
}

/**
 * Liveness over any schedule of steps that read values (nodes, or an executor's fused node groups):
 * value -> index of the last step reading it. Values no step reads are absent.
 */
export function lastReads(steps: readonly { inputs: readonly string[] }[]): Map<string, number> {
  const m = new Map<string, number>();
  steps.forEach((s, idx) => {
    for (const i of s.inputs) if (i) m.set(i, idx);
  });
  return m;
}

/**
 * Liveness: value -> index (in `order`) of the last node that reads it. Graph outputs map to
 * order.length (alive to the end). Values nobody reads are absent. An executor can free a value
 * right after running node lastUse.get(value).
 */
export function lastUse(graph: Graph, order: Node[] = topologicalOrder(graph)): Map<string, number> {
  const m = lastReads(order);
  for (const o of graph.outputs) m.set(o.name, order.length);
  return m;
}

function cloneAttr(v: AttrValue, shareTensors: boolean): AttrValue {
  if (Array.isArray(v)) return v.slice() as AttrValue;
  if (typeof v === 'object' && v !== null) {
    if ('nodes' in v) return cloneGraph(v, { shareTensors });
    return cloneTensor(v, shareTensors);
  }
  return v;
}

function cloneTensor(t: TensorData, share: boolean): TensorData {
  return { dtype: t.dtype, dims: t.dims.slice(), data: share ? t.data : t.data.slice() };
}

/**
 * A copy of the graph whose nodes, value infos and maps can be edited freely. With shareTensors the
 * initializer data arrays are shared (treat them as immutable: replace a TensorData, never write into it).
 */
export function cloneGraph(graph: Graph, opts: { shareTensors?: boolean } = {}): Graph {
  const share = opts.shareTensors ?? false;
  return {
    name: graph.name,
    format: graph.format,
    interfaceLayout: graph.interfaceLayout,
    inputs: graph.inputs.map((v) => ({ ...v, shape: v.shape ? v.shape.slice() : null })),
    outputs: graph.outputs.map((v) => ({ ...v, shape: v.shape ? v.shape.slice() : null })),
    nodes: graph.nodes.map((n) => {
      const attrs: Node['attrs'] = {};
      for (const [k, v] of Object.entries(n.attrs)) attrs[k] = cloneAttr(v, share);
      const copy: Node = { name: n.name, opType: n.opType, inputs: n.inputs.slice(), outputs: n.outputs.slice(), attrs };
      if (n.domain !== undefined) copy.domain = n.domain;
      return copy;
    }),
    initializers: new Map([...graph.initializers].map(([k, t]) => [k, cloneTensor(t, share)])),
    valueInfo: new Map([...graph.valueInfo].map(([k, v]) => [k, { ...v, shape: v.shape ? v.shape.slice() : null }])),
    opset: graph.opset,
    metadata: { ...graph.metadata },
  };
}

/**
 * The batch size the first input declares, when it is fixed (exports for one image: detectors declare 1);
 * undefined when the batch is free. Whoever runs such a model runs it in chunks of this many images.
 */
export function declaredBatch(graph: Pick<Graph, 'inputs'>): number | undefined {
  const declared = graph.inputs[0]?.shape?.[0];
  return typeof declared === 'number' && declared > 0 ? declared : undefined;
}
