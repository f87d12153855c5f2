/**
 * The user's own calibration images for the CLI, decoded to RGBA in Node: a folder of PNG/JPEG files
 * (pngjs, jpeg-js: pure JS, nothing native) or the records of a CIFAR-10 binary file. The core crops,
 * resizes and normalizes them for the model (synth/userImages.ts), so any image size and any model
 * layout work.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import jpeg from 'jpeg-js';
import { CIFAR10_IMAGE_SIZE, CIFAR10_RECORD_BYTES, parseCifar10 } from '../../src/core/data/cifar10.js';
import { LocalQuantError } from '../../src/core/errors.js';
import type { RgbaImage } from '../../src/core/pipeline/types.js';
import { decodePng } from './png.js';

export const IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg'];

/** Pixel budget per JPEG (jpeg-js refuses to allocate more): 64 megapixels. */
const MAX_JPEG_MEGAPIXELS = 64;

export function decodeImageFile(path: string): RgbaImage {
  const bytes = readFileSync(path);
  const ext = extname(path).toLowerCase();
  try {
    if (ext === '.png') return decodePng(new Uint8Array(bytes));
    const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_JPEG_MEGAPIXELS });
    return { width: img.width, height: img.height, rgba: img.data };
  } catch (e) {
    throw new LocalQuantError('BAD_INPUT', `'${basename(path)}' is not a readable ${ext === '.png' ? 'PNG' : 'JPEG'} image (${(e as Error).message.split('\n')[0]}).`,
      'Remove or re-save that file, or choose another folder.');
  }
}

/** Up to `limit` PNG/JPEG images of `dir` (not recursive), sorted by file name. */
export function readImageFolder(dir: string, limit: number): { images: RgbaImage[]; from: string } {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a folder');
    names = readdirSync(dir);
  } catch {
    throw new LocalQuantError('MISSING_FILE', `Cannot read the image folder '${dir}'.`, 'Give a folder that holds PNG or JPEG files.');
  }
  const files = names.filter((f) => IMAGE_EXTENSIONS.includes(extname(f).toLowerCase())).sort();
  if (files.length === 0) throw new LocalQuantError('BAD_INPUT', `No PNG or JPEG files in '${dir}'.`, 'Choose a folder that holds .png, .jpg or .jpeg images.');
  const picked = files.slice(0, limit);
  return { images: picked.map((f) => decodeImageFile(join(dir, f))), from: `folder ${basename(dir)} (${picked.length} of ${files.length} images)` };
}

/** `limit` records spread evenly over a CIFAR-10 binary file (it is sorted by class), as 32x32 RGBA images. */
export function readCifar10Images(path: string, limit: number): { images: RgbaImage[]; from: string } {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch {
    throw new LocalQuantError('MISSING_FILE', `Cannot read the CIFAR-10 file '${path}'.`, 'Check the path of the CIFAR-10 binary file.');
  }
  const set = parseCifar10(bytes, `'${basename(path)}'`);
  const n = Math.min(limit, set.count);
  const images = Array.from({ length: n }, (_, i) => cifar10RecordRgba(bytes, Math.floor((i * set.count) / n)));
  return { images, from: `CIFAR-10 file ${basename(path)} (${n} of ${set.count} records)` };
}

/** Record `r` of a CIFAR-10 binary file (label byte, then planar R, G, B) as a 32x32 RGBA image. */
export function cifar10RecordRgba(bytes: Uint8Array, r: number): RgbaImage {
  const plane = CIFAR10_IMAGE_SIZE * CIFAR10_IMAGE_SIZE;
  const off = r * CIFAR10_RECORD_BYTES + 1;
  const rgba = new Uint8Array(plane * 4);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) rgba[p * 4 + c] = bytes[off + c * plane + p];
    rgba[p * 4 + 3] = 255;
  }
  return { width: CIFAR10_IMAGE_SIZE, height: CIFAR10_IMAGE_SIZE, rgba };
}
