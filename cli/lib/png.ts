import { writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';

/** An 8-bit RGBA image (what previews and de-normalized synthetic images are). */
export interface RgbaImage {
  width: number;
  height: number;
  rgba: Uint8Array | Uint8ClampedArray;
}

/** PNG bytes of an RGBA image. */
export function encodePng(img: RgbaImage): Buffer {
  if (img.rgba.length !== img.width * img.height * 4) {
    throw new Error(`encodePng: ${img.width}x${img.height} needs ${img.width * img.height * 4} bytes, got ${img.rgba.length}`);
  }
  const png = new PNG({ width: img.width, height: img.height, colorType: 6 });
  png.data = Buffer.from(img.rgba.buffer, img.rgba.byteOffset, img.rgba.length);
  return PNG.sync.write(png, { colorType: 6 });
}

/** Decoded RGBA of PNG bytes. */
export function decodePng(bytes: Uint8Array): RgbaImage {
  const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
  return { width: png.width, height: png.height, rgba: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.length) };
}

export function writePng(path: string, img: RgbaImage): void {
  writeFileSync(path, encodePng(img));
}
