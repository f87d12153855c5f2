import { describe, expect, it } from 'vitest';
import { defaultPipelineConfig } from '../core/pipeline/defaults.js';
import { withClassConditional } from './SettingsPanel.js';

describe('class-conditional setting', () => {
  it('sets the weight for synthesized sources, removes it when off or when the source synthesizes nothing', () => {
    const on = withClassConditional(defaultPipelineConfig(), 0.3);
    expect(on.calibration.classConditional).toEqual({ weight: 0.3 });
    expect('classConditional' in withClassConditional(on, null).calibration).toBe(false);
    const prior = withClassConditional({ ...on, calibration: { ...on.calibration, source: 'prior-only' } }, 0.3);
    expect(prior.calibration.classConditional).toEqual({ weight: 0.3 });
    const noise = withClassConditional({ ...on, calibration: { ...on.calibration, source: 'noise' } }, 0.3);
    expect('classConditional' in noise.calibration).toBe(false);
  });
});
