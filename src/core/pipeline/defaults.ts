import type { PipelineConfig } from './types.js';

/** Defaults a user sees first: W4A8 adaptive with first/last at 8 bit, synthetic calibration (see README for the measurements). */
export function defaultPipelineConfig(): PipelineConfig {
  return {
    version: 1,
    backend: 'auto',
    seed: 0,
    normalization: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], pixelRange: 255 },
    calibration: { source: 'synthetic', images: 256, steps: 80, batch: 64 },
    quant: {
      weightBits: 8,
      activationBits: 8,
      rounding: 'adaptive',
      keepFirstLast8bit: true,
      perChannel: true,
      activationObserver: 'mse',
      biasCorrection: false,
      adaroundIterations: 1000,
      overrides: {},
      target: 'ort-cpu',
      reconstruction: 'layer',
      qdrop: false,
    },
    export: { onnx: true, tfjs: false },
  };
}
