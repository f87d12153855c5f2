import { describe, expect, it } from 'vitest';
import { defaultPipelineConfig } from '../core/pipeline/defaults.js';
import { withSizeBudget } from './SettingsPanel.js';

describe('size budget setting', () => {
  it('sets a fraction and the smallest target; clearing it removes the budget and keeps the target', () => {
    const on = withSizeBudget(defaultPipelineConfig(), 12.5);
    expect(on.sizeBudget).toEqual({ fraction: 0.125 });
    expect(on.quant.target).toBe('smallest');
    const off = withSizeBudget(on, Number.NaN);
    expect('sizeBudget' in off).toBe(false);
    expect(off.quant.target).toBe('smallest');
    expect('sizeBudget' in withSizeBudget(on, 150)).toBe(false);
  });
});
