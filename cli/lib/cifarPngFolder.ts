/**
 * CIFAR-10 records written as PNG files in class folders (airplane/, automobile/, ... : sorted names are
 * the class indices), the layout a user drops into the page's "evaluate on my images".
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CIFAR10_CLASSES, CIFAR10_RECORD_BYTES } from '../../src/core/data/cifar10.js';
import { cifar10RecordRgba } from './calibrationImages.js';
import { encodePng } from './png.js';

export function writeCifarPngFolder(bytes: Uint8Array, records: readonly number[], outDir: string): string[] {
  return records.map((r) => {
    const cls = CIFAR10_CLASSES[bytes[r * CIFAR10_RECORD_BYTES]];
    mkdirSync(join(outDir, cls), { recursive: true });
    const path = join(outDir, cls, `${String(r).padStart(5, '0')}.png`);
    writeFileSync(path, encodePng(cifar10RecordRgba(bytes, r)));
    return path;
  });
}
