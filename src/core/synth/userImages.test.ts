import { describe, expect, it } from 'vitest';
import { prepareUserImages, type DecodedImage } from './userImages.js';

const norm = { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };

function solid(width: number, height: number, rgb: [number, number, number]): DecodedImage {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let p = 0; p < width * height; p++) data.set([...rgb, 255], p * 4);
  return { width, height, data };
}

describe('prepareUserImages', () => {
  it('normalizes a solid image per channel in NCHW order', () => {
    const out = prepareUserImages([solid(5, 7, [255, 0, 127.5 as number])], [3, 4, 4], { normalization: norm });
    expect(out.length).toBe(48);
    expect(out[0]).toBeCloseTo(1, 5);
    expect(out[16]).toBeCloseTo(-1, 5);
    expect(out[32]).toBeCloseTo((128 / 255 - 0.5) / 0.5, 5);
  });

  it('resizes exactly when scaling by 2 (nearest keeps blocks, bilinear averages pairs)', () => {
    // 4x2 source: columns 0..3 with red values 0, 100, 200, 250; downscale to 2x1.
    const img: DecodedImage = { width: 4, height: 2, data: new Uint8Array(4 * 2 * 4) };
    const reds = [0, 100, 200, 250];
    for (let y = 0; y < 2; y++) for (let x = 0; x < 4; x++) img.data[(y * 4 + x) * 4] = reds[x];
    const id = { mean: [0, 0, 0], std: [1 / 255, 1 / 255, 1 / 255] }; // normalized value = pixel
    const bil = prepareUserImages([img], [3, 1, 2], { normalization: id, fit: 'stretch' });
    expect(bil[0]).toBeCloseTo(50, 4);
    expect(bil[1]).toBeCloseTo(225, 4);
    const near = prepareUserImages([img], [3, 1, 2], { normalization: id, fit: 'stretch', resize: 'nearest' });
    // centre 0.5 -> round(0.5) = 1 (100); centre 2.5 -> round(2.5) = 3 (250)
    expect([near[0], near[1]]).toEqual([100, 250]);
  });

  it('center-crops to the model aspect ratio and makes gray for 1-channel models', () => {
    // 6x2 image: left third red, middle third green, right third blue; crop to square -> the middle 2x2.
    const img: DecodedImage = { width: 6, height: 2, data: new Uint8Array(6 * 2 * 4) };
    for (let y = 0; y < 2; y++) for (let x = 0; x < 6; x++) img.data[(y * 6 + x) * 4 + Math.floor(x / 2)] = 255;
    const id = { mean: [0], std: [1 / 255] };
    const out = prepareUserImages([img], [1, 2, 2], { normalization: id });
    for (const v of out) expect(v).toBeCloseTo(0.587 * 255, 3);
  });

  it('refuses incomplete images and unsupported channel counts', () => {
    expect(() => prepareUserImages([{ width: 4, height: 4, data: new Uint8Array(10) }], [3, 2, 2], { normalization: norm }))
      .toThrow(/not a complete RGBA image/);
    expect(() => prepareUserImages([solid(2, 2, [0, 0, 0])], [4, 2, 2], { normalization: norm })).toThrow(/4-channel/);
  });
});
