import type { PipelineConfig } from '../core/pipeline/types.js';

/** The settings a new session starts with: quick, 8-bit, adaptive rounding. */
export function defaultConfig(): PipelineConfig {
  return {
    version: 1,
    backend: 'auto',
    seed: 1,
    normalization: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], pixelRange: 255 },
    calibration: { source: 'synthetic', images: 64, steps: 200, batch: 32 },
    quant: {
      weightBits: 8, activationBits: 8, rounding: 'adaptive', keepFirstLast8bit: true, perChannel: true,
      activationObserver: 'mse', biasCorrection: true, adaroundIterations: 500, overrides: {},
    },
    export: { onnx: true, tfjs: true },
  };
}

/** Normalization the sample model was trained with (see public/sample/README.md). */
export const SAMPLE_NORMALIZATION = { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], pixelRange: 255 };
