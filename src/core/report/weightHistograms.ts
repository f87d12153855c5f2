/**
 * Per quantized layer, the histogram of its float weights and of the weights it was rounded to (on the same
 * bins), for the model view's "before/after" chart: a 4-bit layer shows 16 spikes where a bell curve was.
 */
import type { QuantizationPlan } from '../exporters/qdq/qdqOnnxExporter.js';
import type { Graph } from '../ir/types.js';
import { dequantizedWeight } from '../quant/fakeQuant.js';

export interface WeightHistogram {
  min: number;
  max: number;
  /** Counts per bin, equal-width bins over [min, max]. */
  before: number[];
  after: number[];
}

function countInto(values: Float32Array, min: number, max: number, bins: number): number[] {
  const counts = new Array<number>(bins).fill(0);
  const width = (max - min) / bins || 1;
  for (const v of values) counts[Math.min(bins - 1, Math.max(0, Math.floor((v - min) / width)))]++;
  return counts;
}

/** `graph` is the BN-folded float graph the plan applies to. */
export function weightHistograms(graph: Graph, plan: QuantizationPlan, bins = 48): Record<string, WeightHistogram> {
  const out: Record<string, WeightHistogram> = {};
  const nodes = new Map(graph.nodes.map((n) => [n.name, n]));
  for (const layer of plan.layers) {
    const node = nodes.get(layer.node);
    const w = node && graph.initializers.get(node.inputs[1]);
    if (!w) continue;
    const before = w.data as Float32Array;
    const after = dequantizedWeight(layer.weightCodes, layer.weightScales, w.dims, layer.axis);
    let min = Infinity;
    let max = -Infinity;
    for (const arr of [before, after]) for (const v of arr) { if (v < min) min = v; if (v > max) max = v; }
    out[layer.node] = { min, max, before: countInto(before, min, max, bins), after: countInto(after, min, max, bins) };
  }
  return out;
}
