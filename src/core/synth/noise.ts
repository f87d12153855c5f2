import { clampPixelsInPlace } from './pixelRange.js';
import { resolveSynthesisOptions, type SynthesisOptions } from './options.js';
import { gaussianImages, type SynthesisResult } from './synthesizer.js';

/**
 * Calibration by Gaussian noise: N(0, 1) images in the model's normalized space (seeded), clamped to the
 * valid pixel range when the normalization is known. The baseline every synthetic method must beat.
 */
export function noiseImages(imageShape: [number, number, number], options: Partial<SynthesisOptions> = {}): SynthesisResult {
  const o = resolveSynthesisOptions(options);
  const started = performance.now();
  const images = gaussianImages(o.numImages, imageShape, o.seed);
  if (o.normalization && o.clampToPixelRange) clampPixelsInPlace(images, imageShape, o.normalization);
  const seconds = (performance.now() - started) / 1000;
  return {
    images,
    shape: [o.numImages, ...imageShape],
    method: 'noise',
    lossHistory: [],
    bnLossHistory: [],
    startLoss: 0,
    endLoss: 0,
    startBnLoss: 0,
    endBnLoss: 0,
    seconds,
    imagesPerSecond: o.numImages / Math.max(seconds, 1e-9),
    options: o,
  };
}
