import type { PipelineConfig } from './types.js';

/** The settings whose defaults depend on the bit widths. */
export interface BitWidthDefaults {
  rounding: PipelineConfig['quant']['rounding'];
  /** Synthetic calibration images and synthesis steps per batch. */
  images: number;
  steps: number;
  adaroundIterations: number;
}

/**
 * Defaults by bit width, chosen by measurement (`npm run bench:defaults`; ResNet-20, 10,000 CIFAR-10 test
 * images in onnxruntime-node, float 91.73; bench-results/defaults.json):
 *  - 8-bit weights: round to nearest on 64 images x 40 steps. An 8-bit grid is fine enough that adaptive
 *    rounding and more images change nothing measurable (W8A8: 91.81 with 64 x 40, 91.70 with 32 x 40,
 *    91.69 with adaptive rounding on 256 x 80, which costs ~7x the time).
 *  - fewer weight bits (or 4-bit activations): adaptive rounding, which needs the images (see WEIGHT_BELOW_8).
 */
export function bitWidthDefaults(weightBits: number, activationBits: number): BitWidthDefaults {
  if (weightBits >= 8 && activationBits >= 8) return { rounding: 'nearest', images: 64, steps: 40, adaroundIterations: 1000 };
  return { ...WEIGHT_BELOW_8 };
}

const WEIGHT_BELOW_8: BitWidthDefaults = { rounding: 'adaptive', images: 128, steps: 60, adaroundIterations: 500 };

/** `config` at other bit widths, with the rounding, image count, steps and iterations that go with them. */
export function withBitWidths(config: PipelineConfig, weightBits: PipelineConfig['quant']['weightBits'], activationBits: PipelineConfig['quant']['activationBits']): PipelineConfig {
  const d = bitWidthDefaults(weightBits, activationBits);
  return {
    ...config,
    calibration: { ...config.calibration, images: d.images, steps: d.steps },
    quant: { ...config.quant, weightBits, activationBits, rounding: d.rounding, adaroundIterations: d.adaroundIterations },
  };
}

/** Defaults a user sees first: W8A8 with the settings bitWidthDefaults gives it, synthetic calibration. */
export function defaultPipelineConfig(): PipelineConfig {
  return withBitWidths({
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
  }, 8, 8);
}
