import { cloneGraph } from '../graph.js';
import { inferShapes } from '../shapeInference.js';
import type { Graph } from '../types.js';
import { dropUnusedInitializers } from './foldBatchNorm.js';

/**
 * Exports with a fixed batch of 1 reshape to constants such as [1, 7, 256]; calibration runs the
 * network on batches of images, where that target is wrong. A Reshape whose input and target both
 * lead with that batch 1 gets 0 there instead ("copy the input's dimension", allowzero = 0), which is
 * the same model at batch 1 and follows the batch otherwise. Returns a new graph (tensors shared) and
 * how many targets changed; a graph whose shapes cannot be inferred is returned as it is.
 */
export function batchFreeReshapes(graph: Graph): { graph: Graph; changed: number } {
  const inputs = graph.inputs.filter((v) => v.shape && v.shape.length > 0);
  if (!inputs.length || !inputs.every((v) => v.shape![0] === 1 || typeof v.shape![0] !== 'number')) return { graph, changed: 0 };
  const probe = cloneGraph(graph, { shareTensors: true });
  try {
    inferShapes(probe, Object.fromEntries(inputs.map((v) => [v.name, v.shape!.map((d) => (typeof d === 'number' ? d : 1))])));
  } catch {
    return { graph, changed: 0 };
  }
  const out = cloneGraph(graph, { shareTensors: true });
  let changed = 0;
  for (const n of out.nodes) {
    if (n.opType !== 'Reshape' || n.attrs.allowzero === 1) continue;
    const target = out.initializers.get(n.inputs[1]);
    const inShape = probe.valueInfo.get(n.inputs[0])?.shape;
    if (!target || target.dims.length !== 1 || Number(target.data[0]) !== 1 || inShape?.[0] !== 1) continue;
    const data = Int32Array.from(target.data as ArrayLike<number>, Number);
    data[0] = 0;
    // a new initializer: the target may be shared with a Reshape that keeps its 1
    const name = `${n.inputs[1]}_batch`;
    out.initializers.set(name, { dtype: target.dtype, dims: target.dims.slice(), data });
    n.inputs = [n.inputs[0], name];
    changed++;
  }
  return { graph: changed ? dropUnusedInitializers(out) : graph, changed };
}
