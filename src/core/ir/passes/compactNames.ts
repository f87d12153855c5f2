/**
 * Short names for everything the user never addresses: internal values, initializers and helper nodes.
 * An exported int8 model is mostly its weights, so the tens of kilobytes that long generated names
 * ('/layer2/layer2.0/conv1/Conv_bias_zero_point', repeated in producers and consumers) would cost matter
 * for the size target. Graph inputs/outputs and the nodes named in `keepNodeNames` keep their names.
 */
import type { Graph } from '../types.js';

export function compactNames(graph: Graph, keepNodeNames: ReadonlySet<string> = new Set()): Graph {
  const keep = new Set([...graph.inputs.map((v) => v.name), ...graph.outputs.map((v) => v.name)]);
  const map = new Map<string, string>();
  let next = 0;
  const short = (v: string): string => {
    if (!v || keep.has(v)) return v;
    let s = map.get(v);
    if (!s) {
      s = (next++).toString(36);
      map.set(v, s);
    }
    return s;
  };
  const initializers = new Map([...graph.initializers].map(([k, t]) => [short(k), t]));
  let n = 0;
  const nodes = graph.nodes.map((node) => ({
    ...node,
    name: keepNodeNames.has(node.name) ? node.name : `n${(n++).toString(36)}`,
    inputs: node.inputs.map(short),
    outputs: node.outputs.map(short),
  }));
  const valueInfo = new Map([...graph.valueInfo].map(([k, v]) => [short(k), { ...v, name: short(k) }]));
  return { ...graph, nodes, initializers, valueInfo };
}
