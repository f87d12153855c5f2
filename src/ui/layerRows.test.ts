import { describe, expect, it } from 'vitest';
import type { LayerRow } from './LayersPanel.js';
import { withAppliedBits } from './layerRows.js';

const row = (name: string, w: number, a: number): LayerRow => ({ name, opType: 'Conv', weightBits: w, activationBits: a, status: 'done' });

describe('layer rows after a run', () => {
  it('show the bits the report says were applied, not the ones planned', () => {
    const rows = [row('dw', 8, 8), row('pw', 4, 4), row('fc', 8, 4)];
    const out = withAppliedBits(rows, { dw: { weightBits: 8, activationBits: 32 }, fc: { weightBits: null, activationBits: 32 } });
    expect(out.map((r) => `${r.weightBits}/${r.activationBits}`)).toEqual(['8/32', '4/4', '32/32']);
    expect(out[0].status).toBe('done');
    expect(withAppliedBits(rows, undefined)).toBe(rows);
  });
});
