import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { encodePngRgba, pngDataUrl } from './pngEncode.js';

describe('encodePngRgba', () => {
  it('round-trips through an independent PNG decoder (pngjs)', () => {
    const width = 5;
    const height = 3;
    const rgba = new Uint8Array(width * height * 4).map((_, i) => (i * 37) % 256);
    const decoded = PNG.sync.read(Buffer.from(encodePngRgba({ width, height, rgba })));
    expect([decoded.width, decoded.height]).toEqual([width, height]);
    expect(Array.from(decoded.data)).toEqual(Array.from(rgba));
  });

  it('refuses a pixel buffer that does not match the size', () => {
    expect(() => encodePngRgba({ width: 2, height: 2, rgba: new Uint8Array(15) })).toThrow(/needs 16 bytes/);
  });

  it('makes a base64 data URL', () => {
    const url = pngDataUrl({ width: 1, height: 1, rgba: new Uint8Array([1, 2, 3, 255]) });
    expect(url.startsWith('data:image/png;base64,iVBORw0KGgo')).toBe(true);
  });
});
