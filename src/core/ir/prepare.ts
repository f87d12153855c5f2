import { cloneGraph } from './graph.js';
import { foldConstants } from './constantFolding.js';
import { inferShapes } from './shapeInference.js';
import type { Graph } from './types.js';

/**
 * The graph the executor and the pipeline run: a copy (initializer data shared, treat it as immutable)
 * with concrete shapes for every value and the shape arithmetic folded into initializers. Inference and
 * folding alternate, because a folded Reshape target lets the next shapes be inferred. A value whose
 * shape still depends on run-time data keeps shape null in valueInfo.
 */
export function prepareGraph(graph: Graph, inputShapes: Record<string, number[]> = {}): Graph {
  const g = cloneGraph(graph, { shareTensors: true });
  for (let pass = 0; pass < 8; pass++) {
    inferShapes(g, inputShapes);
    if (foldConstants(g) === 0) break;
  }
  // Value infos of values folded away or removed are dropped so that valueInfo describes this graph.
  const live = new Set<string>([...g.inputs.map((v) => v.name), ...g.initializers.keys()]);
  for (const n of g.nodes) for (const o of n.outputs) if (o) live.add(o);
  for (const k of [...g.valueInfo.keys()]) if (!live.has(k)) g.valueInfo.delete(k);
  return g;
}
