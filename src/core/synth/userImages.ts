import { LocalQuantError } from '../errors.js';
import { resolveSynthesisOptions, type Normalization, type SynthesisOptions } from './options.js';
import type { SynthesisResult } from './synthesizer.js';

/** A decoded image as a browser ImageData or a PNG decoder gives it: RGBA bytes, row-major. */
export interface DecodedImage {
  width: number;
  height: number;
  data: Uint8Array | Uint8ClampedArray;
}

export type ResizeMode = 'bilinear' | 'nearest';

export interface PrepareImagesOptions {
  normalization: Normalization;
  /** Default 'bilinear'. */
  resize?: ResizeMode;
  /**
   * 'center-crop' (default): crop the largest centred region with the model's aspect ratio, then resize;
   * 'stretch': resize the whole image.
   */
  fit?: 'center-crop' | 'stretch';
}

/**
 * The user's own images as a calibration batch: cropped/resized to [H, W] in JS (no DOM), converted to
 * the model's channels (1: luminance, 3: RGB; alpha ignored) and normalized: (pixel / 255 - mean) / std.
 * Returns NCHW float32 for `images.length` images.
 */
export function prepareUserImages(
  images: DecodedImage[],
  imageShape: [number, number, number],
  opts: PrepareImagesOptions,
): Float32Array {
  const [c, h, w] = imageShape;
  if (c !== 1 && c !== 3) {
    throw new LocalQuantError('BAD_INPUT', `The model takes ${c}-channel inputs; own images can feed only 1- or 3-channel models.`);
  }
  if (images.length === 0) throw new LocalQuantError('BAD_INPUT', 'No images were given.', 'Choose a folder that contains PNG or JPEG images.');
  const out = new Float32Array(images.length * c * h * w);
  const resize = opts.resize ?? 'bilinear';
  const { mean, std } = opts.normalization;
  images.forEach((img, i) => {
    if (img.width <= 0 || img.height <= 0 || img.data.length < img.width * img.height * 4) {
      throw new LocalQuantError('BAD_INPUT', `Image ${i + 1} is not a complete RGBA image (${img.width}x${img.height}, ${img.data.length} bytes).`);
    }
    const crop = opts.fit === 'stretch' ? { x0: 0, y0: 0, cw: img.width, ch: img.height } : centerCrop(img.width, img.height, w / h);
    const base = i * c * h * w;
    for (let y = 0; y < h; y++) {
      // Pixel-centre mapping: output pixel centre -> source coordinate inside the crop.
      const sy = crop.y0 + ((y + 0.5) * crop.ch) / h - 0.5;
      for (let x = 0; x < w; x++) {
        const sx = crop.x0 + ((x + 0.5) * crop.cw) / w - 0.5;
        const rgb = resize === 'nearest' ? sampleNearest(img, sx, sy) : sampleBilinear(img, sx, sy);
        const values = c === 1 ? [0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]] : rgb;
        for (let k = 0; k < c; k++) {
          out[base + k * h * w + y * w + x] = (values[k] / 255 - mean[k % mean.length]) / std[k % std.length];
        }
      }
    }
  });
  return out;
}

function centerCrop(iw: number, ih: number, aspect: number): { x0: number; y0: number; cw: number; ch: number } {
  if (iw / ih > aspect) {
    const cw = ih * aspect;
    return { x0: (iw - cw) / 2, y0: 0, cw, ch: ih };
  }
  const ch = iw / aspect;
  return { x0: 0, y0: (ih - ch) / 2, cw: iw, ch };
}

function pixel(img: DecodedImage, x: number, y: number, k: number): number {
  const cx = Math.min(img.width - 1, Math.max(0, x));
  const cy = Math.min(img.height - 1, Math.max(0, y));
  return img.data[(cy * img.width + cx) * 4 + k];
}

function sampleNearest(img: DecodedImage, sx: number, sy: number): number[] {
  const x = Math.round(sx);
  const y = Math.round(sy);
  return [pixel(img, x, y, 0), pixel(img, x, y, 1), pixel(img, x, y, 2)];
}

function sampleBilinear(img: DecodedImage, sx: number, sy: number): number[] {
  const x0 = Math.floor(sx);
  const y0 = Math.floor(sy);
  const fx = sx - x0;
  const fy = sy - y0;
  const out = [0, 0, 0];
  for (let k = 0; k < 3; k++) {
    const top = pixel(img, x0, y0, k) * (1 - fx) + pixel(img, x0 + 1, y0, k) * fx;
    const bottom = pixel(img, x0, y0 + 1, k) * (1 - fx) + pixel(img, x0 + 1, y0 + 1, k) * fx;
    out[k] = top * (1 - fy) + bottom * fy;
  }
  return out;
}

/**
 * The user's own images as a calibration result (method 'user-images'), so that they travel the same way
 * as synthetic ones. Uses `options.normalization` (required) and keeps at most `options.numImages` when given.
 */
export function userImagesResult(
  images: DecodedImage[],
  imageShape: [number, number, number],
  options: Partial<SynthesisOptions> & { resize?: ResizeMode; fit?: 'center-crop' | 'stretch' },
): SynthesisResult {
  if (!options.normalization) {
    throw new LocalQuantError('BAD_CONFIG', 'Own images need the model\'s input normalization (mean and std per channel).');
  }
  const started = performance.now();
  const picked = options.numImages ? images.slice(0, options.numImages) : images;
  const o = resolveSynthesisOptions({ ...options, numImages: Math.max(1, picked.length) });
  const data = prepareUserImages(picked, imageShape, { normalization: o.normalization!, resize: options.resize, fit: options.fit });
  const seconds = (performance.now() - started) / 1000;
  return {
    images: data, shape: [picked.length, ...imageShape], method: 'user-images', lossHistory: [], bnLossHistory: [],
    startLoss: 0, endLoss: 0, startBnLoss: 0, endBnLoss: 0, seconds, imagesPerSecond: picked.length / Math.max(seconds, 1e-9), options: o,
  };
}
