import { defaultPipelineConfig } from '../core/pipeline/defaults.js';
import type { PipelineConfig } from '../core/pipeline/types.js';

/**
 * The settings a new session starts with: the core's defaults (W8A8, adaptive rounding, first/last 8 bit,
 * synthetic calibration), with fewer images so that a first try in the browser is quick.
 */
export function defaultConfig(): PipelineConfig {
  const cfg = defaultPipelineConfig();
  return { ...cfg, calibration: { ...cfg.calibration, images: 64 }, export: { onnx: true, tfjs: true } };
}

/** Normalization the sample model was trained with (see public/sample/README.md). */
export const SAMPLE_NORMALIZATION = { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], pixelRange: 255 };
