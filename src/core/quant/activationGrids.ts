/**
 * Activation grids of a graph: which values are quantized (quant/quantPoints.ts), at how many bits, and
 * the grid of each, from the calibration histograms of the values that own a grid. Values that share a
 * grid (value-moving ops, Concat inputs) take their owner's parameters, so they need no histogram.
 *
 * Bits: a value read by quantized layers gets the narrowest activationBits among them (config default
 * or per-layer override; 32 = float); any other point the config's activationBits, but at least 8 with
 * activationBitsAt 'layer-inputs' (low bits are for layer inputs; quant/layerInputSplit.ts gives the layers
 * their own copy of a value that others read too); the network input 8 bit (the input image is 8-bit
 * data). A shared group takes the narrowest bits of its members; a group whose members all ask for float
 * stays float.
 */
import { topologicalOrder } from '../ir/graph.js';
import type { Graph } from '../ir/types.js';
import type { QuantConfig } from './config.js';
import { gridGraph, splitPoints, type LayerInputSplit } from './layerInputSplit.js';
import { activationQParams, type ActivationQParams, type RangeHistogram } from './observers.js';
import { activationPointPlan, type ActivationPointOptions, type PointPlacement } from './quantPoints.js';

export interface ActivationGridSpec {
  /** Quantized values, in execution order. */
  points: string[];
  /** The points that own a grid: calibrate these (capture them, build a histogram each). */
  owners: string[];
  /** Bits of each point (never 32: float values are not points). */
  bits: Map<string, number>;
  /** Point -> owner of its grid, for points that share one. */
  shareWith: Map<string, string>;
}

/**
 * `layerActivationBits`: each quantized layer's activation bits after overrides (absent or null: the
 * layer is left in float).
 */
export function activationGridSpec(
  graph: Graph,
  cfg: Pick<QuantConfig, 'activationBits' | 'activationBitsAt'>,
  layerActivationBits: Map<string, { activationBits: number } | null>,
  placement: PointPlacement = 'integer-kernels',
  /** Of a layer-input split (quant/layerInputSplit.ts splitPoints): values quantized besides, and values not quantized. */
  split: Pick<ActivationPointOptions, 'alsoPoints' | 'notPoints'> = {},
): ActivationGridSpec {
  const floatLayers = new Set([...layerActivationBits].filter(([, b]) => b === null).map(([n]) => n));
  const plan = activationPointPlan(graph, { floatLayers, placement, ...split });
  const otherPointBits = cfg.activationBitsAt === 'layer-inputs' ? Math.max(cfg.activationBits, 8) : cfg.activationBits;
  const desired = new Map<string, number>();
  const want = (v: string, bits: number) => desired.set(v, Math.min(desired.get(v) ?? Infinity, bits));
  for (const n of topologicalOrder(graph)) {
    const b = layerActivationBits.get(n.name);
    if (b) want(n.inputs[0], b.activationBits);
  }
  const inputs = new Set(graph.inputs.map((v) => v.name));
  for (const p of plan.points) {
    if (!desired.has(p)) want(p, otherPointBits);
    if (inputs.has(p) && desired.get(p)! < 32) desired.set(p, 8);
  }
  const owner = (p: string) => plan.shareWith.get(p) ?? p;
  const groupBits = new Map<string, number>();
  for (const p of plan.points) groupBits.set(owner(p), Math.min(groupBits.get(owner(p)) ?? Infinity, desired.get(p)!));
  const bits = new Map<string, number>();
  for (const p of plan.points) {
    const b = groupBits.get(owner(p))!;
    if (b < 32) bits.set(p, b);
  }
  const points = plan.points.filter((p) => bits.has(p));
  const shareWith = new Map([...plan.shareWith].filter(([p]) => bits.has(p)));
  return { points, owners: points.filter((p) => !shareWith.has(p)), bits, shareWith };
}

/**
 * Where a graph's activations get grids under `cfg`: the graph with its layer-input split (with
 * 'layer-inputs'; quant/layerInputSplit.ts) and the grid spec on it. What quantization, the size table and
 * the test plans all place.
 */
export function placeActivationGrids(
  graph: Graph,
  cfg: Pick<QuantConfig, 'activationBits' | 'activationBitsAt'>,
  layerActivationBits: Map<string, { activationBits: number } | null>,
  placement: PointPlacement = 'integer-kernels',
): LayerInputSplit & { spec: ActivationGridSpec } {
  const split = gridGraph(graph, cfg, layerActivationBits);
  return { ...split, spec: activationGridSpec(split.graph, cfg, layerActivationBits, placement, splitPoints(split)) };
}

/** Grid of every point: owners from their histograms, sharers copy their owner's. */
export function activationGrids(
  spec: ActivationGridSpec,
  histograms: Map<string, RangeHistogram>,
  cfg: Pick<QuantConfig, 'activationObserver' | 'percentile'>,
): Map<string, ActivationQParams> {
  const grids = new Map<string, ActivationQParams>();
  for (const p of spec.owners) {
    const h = histograms.get(p);
    if (!h) throw new RangeError(`no calibration statistics for activation '${p}'`);
    grids.set(p, activationQParams(h, { bits: spec.bits.get(p)!, method: cfg.activationObserver, percentile: cfg.percentile }));
  }
  const out = new Map<string, ActivationQParams>();
  for (const p of spec.points) out.set(p, grids.get(spec.shareWith.get(p) ?? p)!);
  return out;
}

/**
 * Where activations get grids. For ONNX Runtime's integer kernels (8-bit activations, ort targets) every
 * node unit needs its Q/DQ (residual Adds, pools, ...); below 8 bits there is no integer kernel to gain,
 * and each extra 4-bit requantization costs accuracy (ResNet-20 W4A4 adaptive: 89.71 with integer-kernel
 * placement, 90.51 at layer inputs only, same synthetic images), so only layer inputs are quantized.
 */
export function activationPlacement(cfg: Pick<QuantConfig, 'activationBits' | 'target'>): PointPlacement {
  return cfg.activationBits >= 8 && cfg.target !== 'smallest' ? 'integer-kernels' : 'layer-inputs';
}
