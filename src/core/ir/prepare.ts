import { cloneGraph } from './graph.js';
import { foldConstants } from './constantFolding.js';
import { inferShapes } from './shapeInference.js';
import type { Graph } from './types.js';
import { checkPreparedShapes } from './validate/preparedShapes.js';

/**
 * The graph the executor and the pipeline run: a copy (initializer data shared, treat it as immutable)
 * with concrete shapes for every value and the shape arithmetic folded into initializers. Inference and
 * folding alternate, because a folded Reshape target lets the next shapes be inferred. A value whose
 * shape still depends on run-time data keeps shape null in valueInfo.
 *
 * The result is specific to `inputShapes` when a Shape node was folded (its value bakes in e.g. the
 * batch size); the graph inputs then declare those concrete shapes, so that a graph exported from it
 * says so. Export from the imported graph to keep dynamic dimensions.
 */
export function prepareGraph(graph: Graph, inputShapes: Record<string, number[]> = {}): Graph {
  const g = cloneGraph(graph, { shareTensors: true });
  const shapeNodes = g.nodes.filter((n) => n.opType === 'Shape').length;
  for (let pass = 0; pass < 8; pass++) {
    inferShapes(g, inputShapes);
    if (foldConstants(g) === 0) break;
  }
  if (g.nodes.filter((n) => n.opType === 'Shape').length < shapeNodes) {
    for (const v of g.inputs) v.shape = g.valueInfo.get(v.name)?.shape?.slice() ?? v.shape;
  }
  // Value infos of values folded away or removed are dropped so that valueInfo describes this graph.
  const live = new Set<string>([...g.inputs.map((v) => v.name), ...g.initializers.keys()]);
  for (const n of g.nodes) for (const o of n.outputs) if (o) live.add(o);
  for (const k of [...g.valueInfo.keys()]) if (!live.has(k)) g.valueInfo.delete(k);
  checkPreparedShapes(g);
  return g;
}
