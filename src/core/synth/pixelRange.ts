import type { Normalization } from './options.js';

/** Per-channel [lo, hi] of valid pixels (0..1 before normalization), in normalized space. */
export function pixelRange(norm: Normalization, channels: number): { lo: number[]; hi: number[] } {
  const lo: number[] = [];
  const hi: number[] = [];
  for (let c = 0; c < channels; c++) {
    const m = norm.mean[c % norm.mean.length];
    const s = norm.std[c % norm.std.length];
    lo.push((0 - m) / s);
    hi.push((1 - m) / s);
  }
  return { lo, hi };
}

/** Clamp NCHW images (any count) to the valid pixel range, in place. */
export function clampPixelsInPlace(images: Float32Array, imageShape: [number, number, number], norm: Normalization): void {
  const [c, h, w] = imageShape;
  const plane = h * w;
  const { lo, hi } = pixelRange(norm, c);
  for (let i = 0; i < images.length; i++) {
    const ch = Math.floor(i / plane) % c;
    images[i] = Math.min(hi[ch], Math.max(lo[ch], images[i]));
  }
}

/**
 * A normalization given for pixels p in 0..255 as (p / pixelRange - mean) / std, rewritten in the 0..1
 * pixel units the synthesizer, the pixel clamp, the previews and own images use:
 * (p / r - m) / s = (p / 255 - m r / 255) / (s r / 255). pixelRange 255 leaves mean/std as they are;
 * pixelRange 1 (a model trained on raw 0..255 pixels) scales them by 1/255.
 */
export function unitPixelNormalization(n: Normalization & { pixelRange: number }): Normalization {
  const k = n.pixelRange / 255;
  return { mean: n.mean.map((m) => m * k), std: n.std.map((s) => s * k) };
}
