import type { LayerRow } from './LayersPanel.js';

/**
 * The layer rows with the bits the run applied (the report's layers), replacing the bits planned when rounding
 * began: an input the channel-noise rule kept float reads 32, a value read by layers of different bits the
 * narrowest; a float layer reads 32/32.
 */
export function withAppliedBits(rows: LayerRow[], applied: Record<string, { weightBits: number | null; activationBits: number }> | undefined): LayerRow[] {
  if (!applied) return rows;
  return rows.map((r) => {
    const a = applied[r.name];
    return a ? { ...r, weightBits: a.weightBits ?? 32, activationBits: a.activationBits } : r;
  });
}
