/**
 * The W8A8 default image count scaled to what synthesis costs on this model. A synthesis step's cost
 * follows the model's activations per image (backprop reads and writes each of them a few times):
 * measured on wasm on this 2-core machine, ResNet-20 (2.6 MiB per image) 0.012 CPU s per image-step,
 * nsfwjs' MobileNetV2-224 (84 MiB) 0.35-0.45, about 4-5 ms per MiB. At 64 x 40 that is 30 s for ResNet-20
 * but 900-1100 CPU s for MobileNetV2, 95 % of its run. Above a work budget the image count drops (to no
 * fewer than MIN_IMAGES); the steps per image stay, since they set how well each image matches the BN
 * statistics. Only the W8A8 defaults (nearest rounding) scale: there the images set only the activation
 * ranges, and bench/mobilenet.ts measured the cost (see SYNTHESIS_WORK_BUDGET). Below 8 bits adaptive
 * rounding fits each layer on the images, and fewer of them is not measured.
 */
import type { Graph } from '../ir/types.js';
import { tryActivationBytesPerImage } from '../runtime/memoryBudget.js';
import { findImageInput } from '../synth/graphInput.js';

/**
 * Synthesis work the W8A8 defaults stay within: images x steps x MiB of activations per image (about 500
 * CPU s at 4-5 ms per MiB-step on this machine's wasm). ResNet-20 at 64 x 40 uses 6,700; MobileNetV2-224
 * at 64 x 40 would use 215,000 and gets 32 images.
 */
export const SYNTHESIS_WORK_BUDGET = 120_000;

/** Fewest images the scaling leaves (a multiple of 8: whole batches on most backends). */
export const MIN_IMAGES = 32;

export interface ScaledImages {
  images: number;
  /** Why fewer images than the bit-width default, for the report's notes; absent when unchanged. */
  reason?: string;
}

/**
 * The synthetic image count for `defaultImages` x `steps` on `graph` (W8A8 defaults): unchanged within the
 * work budget, else the largest multiple of 8 within it, at least MIN_IMAGES. A graph whose activation
 * size cannot be inferred keeps the default.
 */
export function imagesForModelCost(graph: Graph, defaultImages: number, steps: number): ScaledImages {
  let mib: number;
  try {
    const input = findImageInput(graph);
    const [c, h, w] = input.imageShape;
    const bytes = tryActivationBytesPerImage(graph, { [input.name]: input.layout === 'NHWC' ? [h, w, c] : [c, h, w] });
    if (!bytes) return { images: defaultImages };
    mib = bytes.total / 2 ** 20;
  } catch {
    return { images: defaultImages };
  }
  if (defaultImages * steps * mib <= SYNTHESIS_WORK_BUDGET) return { images: defaultImages };
  const images = Math.max(MIN_IMAGES, Math.min(defaultImages, 8 * Math.floor(SYNTHESIS_WORK_BUDGET / (steps * mib) / 8)));
  if (images >= defaultImages) return { images: defaultImages };
  return {
    images,
    reason: `${images} synthetic images x ${steps} steps instead of ${defaultImages}: this model computes ${mib.toFixed(0)} MiB of activations per image and synthesis time grows with that; at 8 bits the images only set the activation ranges (--images sets the count).`,
  };
}
