import type { PipelineConfig } from './types.js';

/**
 * Default threshold (dB) of the channel-noise rule (pipeline/activationFallback.ts; config quant.floatActivationsBelowDb). CenterNet W8A8 box agreement on 8 held-out photos (bench/detectors.ts): 36 % with
 * every grid, 88 % at 10 dB (37 of 207 points float), 92 % at 20 dB (52 float). The lowest figures of
 * nets without drowned channels stay well above it: ResNet-20 29.8 dB, the random-weight test nets
 * (MobileNetV2-like, YOLO- and SSD-style detectors) 32-37 dB.
 */
export const FLOAT_ACTIVATIONS_BELOW_DB = 20;

/**
 * Whether the config asks for 8-bit activation grids (its activationBits, or a per-layer override): the channel-noise
 * rule judges only those, so its threshold does nothing otherwise. The 8-bit inputs the depthwise rule gives at A4
 * (quant/config.ts depthwiseInputKeeps8bit) are not judged: they are already the wider grid.
 */
export function hasEightBitGrids(q: { activationBits: number; overrides?: Record<string, { activationBits?: number }> }): boolean {
  return q.activationBits === 8 || Object.values(q.overrides ?? {}).some((o) => o.activationBits === 8);
}

/** The settings whose defaults depend on the bit widths. */
export interface BitWidthDefaults {
  rounding: PipelineConfig['quant']['rounding'];
  /** Synthetic calibration images and synthesis steps per batch. */
  images: number;
  steps: number;
  adaroundIterations: number;
}

/**
 * Defaults by bit width, chosen by measurement (`npm run bench:defaults`; ResNet-20 on this 2-core machine,
 * top-1 on the 10,000 CIFAR-10 test images in onnxruntime-node, float 91.73; bench:quant's rows on the same
 * code with 256 cached synthetic images x 80 steps and 1000 iterations as the reference: W8A8 nearest 91.72,
 * W4A4 adaptive first/last 8 bit 90.55):
 *  - 8-bit weights and activations: round to nearest on 64 images x 40 steps: 91.76-91.81 (32 images:
 *    91.70). An 8-bit grid is fine enough that adaptive rounding and more images change nothing measurable.
 *  - below 8 bits: adaptive rounding, 1000 iterations, on 128 images x 60 steps (W4A4: 90.54; with 500
 *    iterations 90.24): half the synthesis of 256 x 80, a third fewer steps per image (BN loss 0.66 vs 0.44).
 */
export function bitWidthDefaults(weightBits: number, activationBits: number): BitWidthDefaults {
  if (weightBits >= 8 && activationBits >= 8) return { rounding: 'nearest', images: 64, steps: 40, adaroundIterations: 1000 };
  return { ...BELOW_8_BITS };
}

const BELOW_8_BITS: BitWidthDefaults = { rounding: 'adaptive', images: 128, steps: 60, adaroundIterations: 1000 };

/** `config` at other bit widths, with the rounding, image count, steps and iterations that go with them. */
export function withBitWidths(config: PipelineConfig, weightBits: PipelineConfig['quant']['weightBits'], activationBits: PipelineConfig['quant']['activationBits']): PipelineConfig {
  const d = bitWidthDefaults(weightBits, activationBits);
  const quant = { ...config.quant, weightBits, activationBits, rounding: d.rounding, adaroundIterations: d.adaroundIterations };
  // settings about activation grids that the new widths would make inert (validation refuses them)
  if (activationBits !== 8) delete quant.floatActivationsBelowDb;
  if (activationBits === 32) quant.equalization = false;
  if (activationBits >= 8) quant.activationBitsAt = 'layer-inputs';
  return { ...config, calibration: { ...config.calibration, images: d.images, steps: d.steps }, quant };
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
      equalization: false,
      activationBitsAt: 'layer-inputs',
    },
    export: { onnx: true, tfjs: false },
  }, 8, 8);
}

/** Which settings a front end left to bitWidthDefaults (not given by the user). */
export interface DefaultedSettings {
  rounding?: boolean;
  images?: boolean;
  steps?: boolean;
  iterations?: boolean;
}

/**
 * The report note naming the settings that came from the bit-width defaults, with the values applied
 * (`applied`: the report's config), or undefined when none did or none applied.
 */
export function bitWidthDefaultsNote(applied: PipelineConfig, from: DefaultedSettings): string | undefined {
  const { quant: q, calibration: c } = applied;
  const parts: string[] = [];
  if (from.rounding) parts.push(`${q.rounding} rounding`);
  if (from.images && c.steps > 0) parts.push(`${c.images} synthetic images`);
  if (from.steps && c.steps > 0) parts.push(`${c.steps} synthesis steps`);
  if (from.iterations && q.adaroundIterations > 0) parts.push(`${q.adaroundIterations} adaptive-rounding iterations`);
  if (!parts.length) return undefined;
  return `Defaults for W${q.weightBits}A${q.activationBits} applied (they depend on the bit widths): ${parts.join(', ')}. `
    + 'With 8-bit weights and activations, rounding to nearest on 64 images scores as adaptive rounding on 256 does, in a fraction of the time; lower bit widths get adaptive rounding on more images.';
}
