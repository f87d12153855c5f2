import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { defaultPipelineConfig } from '../core/pipeline/defaults.js';
import { CalibrationGallery } from './CalibrationGallery.js';
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

  it('the gallery captions each image with its target class, and shows no caption without labels', () => {
    const img = { width: 2, height: 2, rgba: new Uint8ClampedArray(16).fill(128) };
    const html = renderToStaticMarkup(createElement(CalibrationGallery, { images: [img, img, img], labels: ['cat', 'dog', 'class 2'] }));
    expect([...html.matchAll(/data-testid="gallery-label">([^<]*)</g)].map((m) => m[1])).toEqual(['cat', 'dog', 'class 2']);
    expect(html).toContain('aria-label="Calibration image 2, dog"');
    expect(renderToStaticMarkup(createElement(CalibrationGallery, { images: [img] }))).not.toContain('gallery-label');
  });
});
