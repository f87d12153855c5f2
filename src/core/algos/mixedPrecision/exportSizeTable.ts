/**
 * What each layer's bit width costs in the written file, measured rather than modelled: the QDQ export
 * is built and serialized once with every layer at its reference (widest allowed) width, then once per
 * (layer, other width) with only that layer changed. The difference is exactly what the exporter does
 * with that width for the deployment target (int8 containers for ort-cpu/ort-web, packed int4 or the
 * 2/3-bit planes of packedLowBitWeight.ts for 'smallest', MatMulNBits blocks, dropped Q/DQ pairs), biases,
 * scales and graph included. Codes are placeholders: only their count and type set the size.
 * The 2/3-bit planes of all layers share one unpacking chain per width (packedLowBitWeight.ts): its
 * cost is in each layer's delta once, so it is measured apart (two layers at that width together vs
 * each alone) and reported in `shared`; total = base + shared costs of the widths used + per-layer
 * deltas less their shared part. Varint lengths may shift a byte; `measure` gives the exact size.
 */
import { buildQdqGraph, type QuantizationPlan } from '../../exporters/qdq/qdqOnnxExporter.js';
import { qdqOptionsForTarget } from '../../exporters/qdq/deploymentTargets.js';
import { compactNames } from '../../ir/passes/compactNames.js';
import type { Graph } from '../../ir/types.js';
import { activationPlacement, placeActivationGrids } from '../../quant/activationGrids.js';
import type { QuantConfig } from '../../quant/config.js';
import type { QuantLayer } from '../../quant/quantPoints.js';
import { weightLayout } from '../layerWeights.js';

export interface SizeTable {
  /** File bytes with every layer at its reference width (the first of its options' widest). */
  baseBytes: number;
  /** Per layer: bytes added (or saved, negative) by each width relative to its reference. */
  delta: Map<string, Map<number, number>>;
  /** Width -> bytes a file pays once when any layer uses that width (included in each `delta` of it). */
  shared: Map<number, number>;
  /** Per layer, the widths whose delta includes the shared part (a layer the exporter stores otherwise, e.g. a MatMulNBits Gemm, has none). */
  sharing: Map<string, Set<number>>;
  /** Exact file bytes with the layers at these widths (in the order given). */
  measure: (bits: number[]) => number;
}

/**
 * `layers` the quantized layers (BN-folded graph) with the widths each may take; `serialize` writes the
 * final file from the export graph (e.g. with a detector's float tail) and returns its bytes.
 */
export function exportSizeTable(
  folded: Graph,
  layers: { layer: QuantLayer; bits: number[]; activationBits: number }[],
  cfg: Pick<QuantConfig, 'activationBits' | 'perChannel' | 'target' | 'activationBitsAt'>,
  serialize: (qdq: Graph) => Uint8Array,
): SizeTable {
  // the activation points the run's quantization will place (quantizeGraph's split and placement rules)
  const activationBits = new Map(layers.map((l) => [l.layer.node.name, { activationBits: l.activationBits }]));
  const { graph, spec } = placeActivationGrids(folded, cfg, activationBits, activationPlacement(cfg));
  const activations: QuantizationPlan['activations'] = Object.fromEntries(spec.points.map((p) => [p, { scale: 1, zeroPoint: 0, bits: spec.bits.get(p)!, signed: false }]));
  const placeholder = layers.map(({ layer }) => {
    const w = folded.initializers.get(layer.weightName)!;
    const lay = weightLayout(layer.node, w);
    return { node: layer.node.name, weightCodes: new Int8Array(w.data.length), weightScales: new Float32Array(cfg.perChannel ? lay.cOut : 1).fill(1), axis: lay.axis };
  });
  const keep = new Set(layers.map((l) => l.layer.node.name));
  // float layers keep int8 weights under a budget (quantizeGraph's integerWeightsOnly)
  const options = { ...qdqOptionsForTarget(cfg.target), floatInputWeights: 'int8' as const };
  const size = (bits: number[]) => {
    const plan: QuantizationPlan = { layers: placeholder.map((p, i) => ({ ...p, weightBits: bits[i] })), activations };
    return serialize(compactNames(buildQdqGraph(graph, plan, options), keep)).byteLength;
  };
  const reference = layers.map((l) => Math.max(...l.bits));
  const baseBytes = size(reference);
  const delta = new Map<string, Map<number, number>>();
  layers.forEach((l, i) => {
    const d = new Map<number, number>([[reference[i], 0]]);
    for (const b of l.bits) if (b !== reference[i]) d.set(b, size(reference.map((r, j) => (j === i ? b : r))) - baseBytes);
    delta.set(l.layer.node.name, d);
  });
  // a shared part shows as the bytes two layers at one width save against the sum of each alone; a
  // layer shares it when it saves that much beside the first layer found to share it
  const shared = new Map<number, number>();
  const sharing = new Map(layers.map((l) => [l.layer.node.name, new Set<number>()]));
  const deltaOf = (i: number, b: number) => delta.get(layers[i].layer.node.name)!.get(b)!;
  for (const b of new Set(layers.flatMap((l) => l.bits))) {
    const candidates = layers.map((_, i) => i).filter((i) => layers[i].bits.includes(b) && reference[i] !== b);
    const pairSaving = (i: number, j: number) => deltaOf(i, b) + deltaOf(j, b) - (size(reference.map((r, k) => (k === i || k === j ? b : r))) - baseBytes);
    let anchor = -1;
    for (let x = 0; x < candidates.length && anchor < 0; x++)
      for (let y = x + 1; y < candidates.length && anchor < 0; y++) {
        const part = pairSaving(candidates[x], candidates[y]);
        if (part > 0) {
          shared.set(b, part);
          anchor = candidates[x];
          sharing.get(layers[candidates[x]].layer.node.name)!.add(b);
          sharing.get(layers[candidates[y]].layer.node.name)!.add(b);
        }
      }
    if (anchor < 0) continue;
    for (const i of candidates) {
      const name = layers[i].layer.node.name;
      if (!sharing.get(name)!.has(b) && pairSaving(anchor, i) === shared.get(b)) sharing.get(name)!.add(b);
    }
  }
  return { baseBytes, delta, shared, sharing, measure: size };
}
