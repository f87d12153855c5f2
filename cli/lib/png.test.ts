import { describe, expect, it } from 'vitest';
import { decodePng, encodePng } from './png.js';

describe('png', () => {
  it('round-trips RGBA bytes through a PNG', () => {
    const rgba = new Uint8ClampedArray(3 * 2 * 4);
    for (let i = 0; i < rgba.length; i++) rgba[i] = (i * 37) % 256;
    const bytes = encodePng({ width: 3, height: 2, rgba });
    expect(Array.from(bytes.subarray(1, 4))).toEqual([0x50, 0x4e, 0x47]); // "PNG"
    const back = decodePng(bytes);
    expect([back.width, back.height]).toEqual([3, 2]);
    expect(Array.from(back.rgba)).toEqual(Array.from(rgba));
  });
  it('refuses a buffer of the wrong size', () => {
    expect(() => encodePng({ width: 2, height: 2, rgba: new Uint8Array(5) })).toThrow(/needs 16 bytes/);
  });
});
