/**
 * A size budget turned into per-layer weight bits: the widths each layer may take (2, 3, 4, 8; fixed by
 * a per-layer override, 8 for first/last with keepFirstLast8bit, none for float layers), their measured
 * file cost (exportSizeTable.ts), their sensitivity on the calibration images (layerSensitivity.ts), and
 * the cheapest assignment within the budget (bitAllocation.ts). The result is weightBits overrides for
 * the quantization that follows, and what the report records: budget asked, predicted size, the bits and
 * sensitivity per layer, and the frontier of size vs predicted error.
 */
import { LocalQuantError } from '../../errors.js';
import { inferenceForm } from '../../ir/passes/inferenceForm.js';
import type { Graph } from '../../ir/types.js';
import { layerBits, type LayerOverride, type QuantConfig } from '../../quant/config.js';
import { quantizableLayers } from '../../quant/quantPoints.js';
import { allocateBits, paretoFrontierWithShared, type LayerOptions } from './bitAllocation.js';
import { exportSizeTable } from './exportSizeTable.js';
import { layerSensitivity, type SensitivityMetric } from './layerSensitivity.js';

/** Exactly one of: a share of the float model file, or bytes. */
export interface SizeBudget {
  fraction?: number;
  bytes?: number;
}

export const BUDGET_BITS = [2, 3, 4, 8] as const;

/** Most frontier points kept in the report (evenly spread over the sizes). */
const FRONTIER_POINTS = 64;

export interface MixedPrecisionReport {
  budget: SizeBudget & { bytesAllowed: number };
  /** File size of the chosen bits, measured on a placeholder export before rounding; the written size is report.sizes.quantizedBytes. */
  predictedBytes: number;
  /** Sum of the chosen layers' sensitivities (the DP's objective). */
  predictedSensitivity: number;
  metric: SensitivityMetric;
  /** Calibration images the sensitivities were measured on. */
  images: number;
  layers: { name: string; bits: number; sensitivity: number; options: { bits: number; deltaBytes: number; sensitivity: number }[] }[];
  /** (layers[].options: deltaBytes is the file size change against the layer at its widest option.) */
  /** Size (sum of per-layer costs: an upper bound within ~100 bytes per 2/3-bit layer) vs predicted error, smallest first; bits in the order of `layers`. */
  frontier: { bytes: number; sensitivity: number; bits: number[] }[];
  seconds: number;
}

export function budgetBytes(budget: SizeBudget, floatBytes: number): number {
  return budget.bytes ?? Math.floor((budget.fraction ?? 1) * floatBytes);
}

export async function planSizeBudget(
  graph: Graph,
  calibration: { images: Float32Array; shape: number[] },
  cfg: QuantConfig,
  budget: SizeBudget,
  floatBytes: number,
  serialize: (qdq: Graph) => Uint8Array,
  signal?: AbortSignal,
): Promise<{ overrides: Record<string, LayerOverride>; report: MixedPrecisionReport }> {
  const t0 = performance.now();
  const folded = inferenceForm(graph);
  const layers = quantizableLayers(folded).flatMap((layer) => {
    const b = layerBits(cfg, layer.node.name, layer);
    if (!b) return [];
    const fixed = cfg.overrides[layer.node.name]?.weightBits !== undefined || (cfg.keepFirstLast8bit && (layer.first || layer.last));
    return [{ layer, bits: fixed ? [b.weightBits] : [...BUDGET_BITS], activationBits: b.activationBits }];
  });
  const allowed = budgetBytes(budget, floatBytes);
  const sizes = exportSizeTable(folded, layers, cfg, serialize);
  const describe = (bytes: number) => `${bytes} bytes (${((100 * bytes) / floatBytes).toFixed(1)}% of the ${floatBytes}-byte float file)`;
  const hint = cfg.target === 'smallest' ? 'Raise the budget, or let more layers go below 8 bit (first/last, overrides).' : `Target "${cfg.target}" stores weights below 8 bit in int8 containers; target "smallest" packs them (4, 3 and 2 bit).`;
  // an infeasible budget is refused before the sensitivities are measured
  const smallest = sizes.baseBytes + layers.reduce((a, l) => a + Math.min(...sizes.delta.get(l.layer.node.name)!.values()), 0);
  if (smallest > allowed) allocateBits([{ bytes: smallest, cost: 0, bits: [] }], allowed, describe, hint);
  const sens = await layerSensitivity(folded, layers, calibration, { perChannel: cfg.perChannel, signal });
  const table: LayerOptions[] = layers.map(({ layer, bits }) => ({
    name: layer.node.name,
    options: bits.map((b) => ({ bits: b, bytes: sizes.delta.get(layer.node.name)!.get(b)!, cost: sens.values.get(layer.node.name)!.get(b)!, ...(sizes.sharing.get(layer.node.name)!.has(b) ? { shared: b } : {}) })),
  }));
  const frontier = paretoFrontierWithShared(sizes.baseBytes, table, sizes.shared);
  const chosen = allocateBits(frontier, allowed, describe, hint);
  const overrides: Record<string, LayerOverride> = { ...cfg.overrides };
  table.forEach((l, i) => (overrides[l.name] = { ...overrides[l.name], weightBits: chosen.bits[i] }));
  if (chosen.bits.length !== layers.length) throw new LocalQuantError('INTERNAL', 'bit allocation lost a layer');
  return {
    overrides,
    report: {
      budget: { ...budget, bytesAllowed: allowed },
      predictedBytes: sizes.measure(chosen.bits),
      predictedSensitivity: chosen.cost,
      metric: sens.metric,
      images: sens.images,
      layers: table.map((l, i) => ({
        name: l.name,
        bits: chosen.bits[i],
        sensitivity: l.options.find((o) => o.bits === chosen.bits[i])!.cost,
        options: l.options.map((o) => ({ bits: o.bits, deltaBytes: o.bytes, sensitivity: o.cost })),
      })),
      frontier: spread(frontier, FRONTIER_POINTS).map((p) => ({ bytes: p.bytes, sensitivity: p.cost, bits: p.bits })),
      seconds: (performance.now() - t0) / 1000,
    },
  };
}

/** At most `n` points, evenly spread over the frontier's sizes, ends kept. */
function spread<T extends { bytes: number }>(points: T[], n: number): T[] {
  if (points.length <= n) return points;
  const lo = points[0].bytes;
  const hi = points[points.length - 1].bytes;
  const out: T[] = [];
  let j = 0;
  for (let i = 0; i < n; i++) {
    const want = lo + ((hi - lo) * i) / (n - 1);
    while (j < points.length - 1 && points[j].bytes < want) j++;
    if (out[out.length - 1] !== points[j]) out.push(points[j]);
  }
  return out;
}

/** One line for the log: budget, predicted size, bits per layer. */
export function describeAllocation(r: MixedPrecisionReport): string {
  const counts = new Map<number, number>();
  for (const l of r.layers) counts.set(l.bits, (counts.get(l.bits) ?? 0) + 1);
  const mix = [...counts].sort((a, b) => a[0] - b[0]).map(([b, n]) => `${n} at ${b} bit`).join(', ');
  return `Size budget ${r.budget.bytesAllowed} bytes: predicted ${r.predictedBytes} bytes with ${mix} (predicted ${r.metric} ${r.predictedSensitivity.toExponential(2)}, ${r.seconds.toFixed(1)} s).`;
}
