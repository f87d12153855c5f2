/**
 * The network as a plain node/edge list for the model view: one node per operator (plus the graph's inputs
 * and outputs), an edge wherever a value flows from its producer to a consumer. Weights (initializers) are
 * not nodes; they show as the layer's details instead. Small, structured-clone friendly (worker -> page).
 */
import { producerMap } from './graph.js';
import type { Graph } from './types.js';

export interface OutlineNode {
  id: string;
  opType: string;
  kind: 'input' | 'output' | 'op';
}

export interface GraphOutline {
  nodes: OutlineNode[];
  /** [from id, to id, value name] */
  edges: [string, string, string][];
}

const inputId = (name: string) => `input:${name}`;
const outputId = (name: string) => `output:${name}`;

export function graphOutline(graph: Graph): GraphOutline {
  const producers = producerMap(graph);
  const graphInputs = new Set(graph.inputs.map((i) => i.name));
  const nodes: OutlineNode[] = [
    ...graph.inputs.filter((i) => !graph.initializers.has(i.name)).map((i) => ({ id: inputId(i.name), opType: 'Input', kind: 'input' as const })),
    ...graph.nodes.map((n) => ({ id: n.name, opType: n.opType, kind: 'op' as const })),
    ...graph.outputs.map((o) => ({ id: outputId(o.name), opType: 'Output', kind: 'output' as const })),
  ];
  const edges: [string, string, string][] = [];
  const source = (value: string): string | undefined => producers.get(value)?.name ?? (graphInputs.has(value) && !graph.initializers.has(value) ? inputId(value) : undefined);
  for (const n of graph.nodes) {
    for (const v of new Set(n.inputs)) {
      const from = v ? source(v) : undefined;
      if (from) edges.push([from, n.name, v]);
    }
  }
  for (const o of graph.outputs) {
    const from = source(o.name);
    if (from) edges.push([from, outputId(o.name), o.name]);
  }
  return { nodes, edges };
}
