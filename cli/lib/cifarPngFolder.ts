/**
 * CIFAR-10 records written as PNG files in class folders (airplane/, automobile/, ... : sorted names are
 * the class indices), the layout a user drops into the page's "evaluate on my images".
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CIFAR10_CLASSES, CIFAR10_IMAGE_SIZE, CIFAR10_RECORD_BYTES } from '../../src/core/data/cifar10.js';
import { encodePng } from './png.js';

export function writeCifarPngFolder(bytes: Uint8Array, records: readonly number[], outDir: string): string[] {
  const plane = CIFAR10_IMAGE_SIZE * CIFAR10_IMAGE_SIZE;
  return records.map((r) => {
    const off = r * CIFAR10_RECORD_BYTES;
    const cls = CIFAR10_CLASSES[bytes[off]];
    const rgba = new Uint8Array(plane * 4);
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < 3; c++) rgba[p * 4 + c] = bytes[off + 1 + c * plane + p];
      rgba[p * 4 + 3] = 255;
    }
    mkdirSync(join(outDir, cls), { recursive: true });
    const path = join(outDir, cls, `${String(r).padStart(5, '0')}.png`);
    writeFileSync(path, encodePng({ width: CIFAR10_IMAGE_SIZE, height: CIFAR10_IMAGE_SIZE, rgba }));
    return path;
  });
}
