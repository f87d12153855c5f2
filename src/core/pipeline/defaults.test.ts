import { describe, expect, it } from 'vitest';
import { bitWidthDefaults, defaultPipelineConfig, withBitWidths } from './defaults.js';
import { validatePipelineConfig } from './validateConfig.js';

describe('defaults by bit width', () => {
  it('8-bit weights and activations round to nearest on few images; fewer bits get adaptive rounding and more images', () => {
    const w8 = bitWidthDefaults(8, 8);
    expect(w8.rounding).toBe('nearest');
    for (const [w, a] of [[4, 8], [4, 4], [8, 4], [2, 8]]) {
      const d = bitWidthDefaults(w, a);
      expect(d.rounding).toBe('adaptive');
      expect(d.images * d.steps).toBeGreaterThan(w8.images * w8.steps);
    }
    expect(bitWidthDefaults(8, 32)).toEqual(w8);
  });

  it('defaultPipelineConfig is the W8A8 row; withBitWidths moves every bit-dependent setting and nothing else', () => {
    const c = defaultPipelineConfig();
    expect(c.quant).toMatchObject({ weightBits: 8, activationBits: 8, rounding: 'nearest' });
    expect(c.calibration).toMatchObject({ images: bitWidthDefaults(8, 8).images, steps: bitWidthDefaults(8, 8).steps });
    const w4 = withBitWidths(c, 4, 4);
    const d = bitWidthDefaults(4, 4);
    expect(w4.quant).toMatchObject({ weightBits: 4, activationBits: 4, rounding: d.rounding, adaroundIterations: d.adaroundIterations });
    expect(w4.calibration).toEqual({ ...c.calibration, images: d.images, steps: d.steps });
    expect({ ...w4.quant, weightBits: 8, activationBits: 8, rounding: c.quant.rounding, adaroundIterations: c.quant.adaroundIterations }).toEqual(c.quant);
    expect(() => validatePipelineConfig(w4)).not.toThrow();
  });
});
