import { defaultPipelineConfig } from '../core/pipeline/defaults.js';
import type { PipelineConfig } from '../core/pipeline/types.js';

/**
 * The settings a new session starts with: the core's defaults (W8A8: nearest rounding on 64 synthetic
 * images; changing the bit widths in the settings brings their defaults, see pipeline/defaults.ts), with
 * the TF.js export on as well.
 */
export function defaultConfig(): PipelineConfig {
  return { ...defaultPipelineConfig(), export: { onnx: true, tfjs: true } };
}

/** Normalization the sample model was trained with (see public/sample/README.md). */
export const SAMPLE_NORMALIZATION = { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], pixelRange: 255 };
