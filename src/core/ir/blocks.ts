/**
 * Reconstruction blocks (BRECQ): the parts of a graph whose weight layers are optimised together on the
 * block's output. A block runs from one cut value to another, where a cut is a point of the execution
 * order at which exactly one activation value is alive (everything later depends on it alone). Between
 * two cuts lies either a residual block (from its fork to its join Add: two values alive inside) or a
 * single layer; consecutive single-layer segments form a chain of at most MAX_CHAIN_LAYERS layers.
 * An element-wise tail after a cut (the ReLU after a residual Add) belongs to the block before it, so
 * that a block's output is what the next block reads.
 */
import { lastUse, topologicalOrder } from './graph.js';
import { opsWhere } from './opKinds.js';
import type { Graph, Node } from './types.js';

export interface ReconstructionBlock {
  /** Common name prefix of the block's layers (e.g. "/layer1/layer1.0"), else "first .. last". */
  name: string;
  /** Values the block starts from (one cut value; all graph inputs for the first block of a multi-input graph). */
  inputs: string[];
  /** Values the block's output is matched on. */
  outputs: string[];
  /** Weight layers (node names) inside, in execution order. */
  layers: string[];
}

/** Longest chain of single-layer segments merged into one block (BRECQ's blocks have 2-3 layers). */
export const MAX_CHAIN_LAYERS = 3;

/** Ops with one data input whose output has its input's shape: kept with the block before them. */
const ELEMENTWISE_TAIL = opsWhere('elementwise');

interface Segment {
  nodes: Node[];
  inputs: string[];
  outputs: string[];
  layers: string[];
  /** Two or more values alive somewhere inside (a fork and its join). */
  branched: boolean;
}

function segments(graph: Graph, layers: Set<string>): Segment[] {
  const order = topologicalOrder(graph);
  const last = lastUse(graph, order);
  const isValue = (v: string) => !!v && !graph.initializers.has(v);
  const live = new Set(graph.inputs.map((v) => v.name).filter((v) => isValue(v) && last.has(v)));
  const out: Segment[] = [];
  let cur: Segment = { nodes: [], inputs: [...live], outputs: [], layers: [], branched: false };
  order.forEach((n, i) => {
    cur.nodes.push(n);
    if (layers.has(n.name)) cur.layers.push(n.name);
    for (const o of n.outputs) if (isValue(o) && last.has(o)) live.add(o);
    for (const v of [...live]) if (last.get(v)! <= i) live.delete(v);
    if (live.size === 1) {
      cur.outputs = [...live];
      out.push(cur);
      cur = { nodes: [], inputs: [...live], outputs: [], layers: [], branched: false };
    } else if (live.size > 1) cur.branched = true;
  });
  if (cur.nodes.length) {
    cur.outputs = graph.outputs.map((o) => o.name);
    out.push(cur);
  }
  return out;
}

function commonPrefix(names: string[]): string {
  let p = names[0];
  for (const n of names) while (!n.startsWith(p)) p = p.slice(0, -1);
  const cut = p.lastIndexOf('/');
  return cut > 0 ? p.slice(0, cut) : '';
}

/** The blocks of `graph` that contain at least one of `layers` (weight-layer node names), in execution order. */
export function reconstructionBlocks(graph: Graph, layers: Iterable<string>): ReconstructionBlock[] {
  const segs = segments(graph, new Set(layers));
  const merged: Segment[] = [];
  let pendingInputs: string[] | undefined; // a layer-free segment that is not a tail joins the next block
  for (const s of segs) {
    const prev = merged[merged.length - 1];
    if (!s.layers.length) {
      if (prev && !pendingInputs && s.nodes.every((n) => ELEMENTWISE_TAIL.has(n.opType))) prev.outputs = s.outputs;
      else pendingInputs ??= s.inputs;
      continue;
    }
    const inputs = pendingInputs ?? s.inputs;
    pendingInputs = undefined;
    const chain = prev && !prev.branched && !s.branched && prev.outputs.join() === inputs.join() && prev.layers.length + s.layers.length <= MAX_CHAIN_LAYERS;
    if (chain) {
      prev.nodes.push(...s.nodes);
      prev.layers.push(...s.layers);
      prev.outputs = s.outputs;
    } else merged.push({ ...s, inputs, nodes: [...s.nodes], layers: [...s.layers] });
  }
  return merged.map((s) => {
    const prefix = s.layers.length > 1 ? commonPrefix(s.layers) : '';
    return { name: prefix || (s.layers.length > 1 ? `${s.layers[0]} .. ${s.layers[s.layers.length - 1]}` : s.layers[0]), inputs: s.inputs, outputs: s.outputs, layers: s.layers };
  });
}
