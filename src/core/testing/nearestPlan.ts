/**
 * A quick quantization plan for export tests and benchmarks: BN folded, weights rounded to nearest
 * (per-channel MSE scales), activation grids (quant/activationGrids.ts) from a few images run through our
 * executor. The same grids and weight grid as the pipeline's nearest rounding, without its layer-by-layer
 * calibration, so that export tests take seconds.
 */
import * as tf from '@tensorflow/tfjs';
import { weightLayout } from '../algos/layerWeights.js';
import type { QuantizationPlan } from '../exporters/qdq/qdqOnnxExporter.js';
import { foldBatchNorm } from '../ir/passes/foldBatchNorm.js';
import type { Graph } from '../ir/types.js';
import { activationGrids, placeActivationGrids } from '../quant/activationGrids.js';
import { defaultQuantConfig, layerBits, type QuantConfig } from '../quant/config.js';
import { RangeHistogram } from '../quant/observers.js';
import { quantizableLayers } from '../quant/quantPoints.js';
import { fromRows, perChannelWeightScales, quantizeRowsNearest, weightAsRows } from '../quant/weightScale.js';
import { GraphExecutor } from '../runtime/executor.js';

/** `fast`: min/max ranges and max-abs weight scales instead of MSE searches (for tests about structure, not accuracy). */
export async function nearestPlan(graph: Graph, images: Float32Array, shape: number[], cfg: Partial<QuantConfig> = {}, o: { fast?: boolean } = {}): Promise<{ folded: Graph; plan: QuantizationPlan }> {
  const c: QuantConfig = { ...defaultQuantConfig(), ...(o.fast ? { activationObserver: 'minmax' as const } : {}), ...cfg };
  const bnFolded = foldBatchNorm(graph).graph;
  const layers = quantizableLayers(bnFolded);
  const bits = new Map(layers.map((l) => [l.node.name, layerBits(c, l.node.name, l)]));
  const { graph: folded, spec } = placeActivationGrids(bnFolded, c, bits);
  const hists = new Map(spec.owners.map((p) => [p, new RangeHistogram()]));
  const exec = new GraphExecutor(folded);
  try {
    const x = tf.tensor(images, shape);
    const r = exec.execute({ [folded.inputs[0].name]: x }, { capture: spec.owners });
    for (const [n, t] of r.captured) {
      hists.get(n)!.observe((await t.tensor.data()) as Float32Array);
      t.tensor.dispose();
    }
    tf.dispose([x, ...r.outputs.values()]);
  } finally {
    exec.dispose();
  }
  const plan: QuantizationPlan = { layers: [], activations: Object.fromEntries(activationGrids(spec, hists, c)) };
  for (const l of layers) {
    const b = bits.get(l.node.name);
    if (!b) continue;
    const w = folded.initializers.get(l.weightName)!;
    const lay = weightLayout(l.node, w);
    const { rows, cOut } = weightAsRows(w.data as Float32Array, w.dims, lay.axis);
    const scales = perChannelWeightScales(rows, cOut, { bits: b.weightBits, method: o.fast ? 'max' : 'mse' });
    const codes = fromRows(quantizeRowsNearest(rows, scales, b.weightBits), w.dims, lay.axis);
    plan.layers.push({ node: l.node.name, weightCodes: codes, weightScales: scales, weightBits: b.weightBits, axis: lay.axis });
  }
  return { folded, plan };
}
