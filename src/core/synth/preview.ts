import { nhwcToNchw } from '../data/layout.js';
import type { Normalization } from './options.js';
import type { PreviewImage } from './progress.js';

/**
 * One image of an NCHW normalized batch as RGBA bytes: de-normalized (pixel = (x * std + mean) * 255),
 * clipped to 0..255. One channel is shown as gray; more than three channels show the first three.
 */
export function imageToRgba(
  data: Float32Array,
  shape: readonly [number, number, number, number],
  index: number,
  norm: Normalization,
): PreviewImage {
  const [, c, h, w] = shape;
  const plane = h * w;
  const base = index * c * plane;
  const rgba = new Uint8ClampedArray(plane * 4);
  const chan = (k: number) => Math.min(k, c - 1);
  for (let p = 0; p < plane; p++) {
    for (let k = 0; k < 3; k++) {
      const ch = chan(k);
      const m = norm.mean[ch % norm.mean.length];
      const s = norm.std[ch % norm.std.length];
      rgba[p * 4 + k] = Math.round((data[base + ch * plane + p] * s + m) * 255);
    }
    rgba[p * 4 + 3] = 255;
  }
  return { width: w, height: h, rgba };
}

/** The first `count` images of a batch as previews. */
export function batchToRgba(
  data: Float32Array,
  shape: readonly [number, number, number, number],
  count: number,
  norm: Normalization,
): PreviewImage[] {
  const n = Math.min(count, shape[0]);
  const out: PreviewImage[] = [];
  for (let i = 0; i < n; i++) out.push(imageToRgba(data, shape, i, norm));
  return out;
}

/**
 * Up to `limit` images of a calibration set in the graph input's layout, as RGBA for the gallery and the
 * HTML report (NHWC sets are turned NCHW first).
 */
export function calibrationRgba(images: Float32Array, shape: readonly number[], layout: 'NCHW' | 'NHWC', norm: Normalization, limit: number): PreviewImage[] {
  const n = Math.min(limit, shape[0]);
  const per = shape.slice(1).reduce((a, b) => a * b, 1);
  const head = images.subarray(0, n * per);
  const nchw: [number, number, number, number] = layout === 'NHWC' ? [n, shape[3], shape[1], shape[2]] : [n, shape[1], shape[2], shape[3]];
  const data = layout === 'NHWC' ? nhwcToNchw(head, [n, shape[1], shape[2], shape[3]]) : head;
  return batchToRgba(data, nchw, n, norm);
}
