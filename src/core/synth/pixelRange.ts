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
