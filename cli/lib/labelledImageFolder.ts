/**
 * A folder of the user's images for evaluation, read recursively (class sub-folders) and decoded in Node;
 * labels from the folder names or a file,label CSV (core/data/imageLabels.ts, as the page does).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative } from 'node:path';
import { labelsFromCsv, labelsFromFolders, type ImageLabels } from '../../src/core/data/imageLabels.js';
import { LocalQuantError } from '../../src/core/errors.js';
import type { RgbaImage } from '../../src/core/pipeline/types.js';
import { decodeImageFile, IMAGE_EXTENSIONS } from './calibrationImages.js';

function walk(dir: string, out: string[]): void {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (IMAGE_EXTENSIONS.includes(extname(name).toLowerCase())) out.push(p);
  }
}

export function readLabelledImageFolder(dir: string, labelsCsv?: string): { paths: string[]; images: RgbaImage[]; labels: ImageLabels } {
  const files: string[] = [];
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a folder');
    walk(dir, files);
  } catch {
    throw new LocalQuantError('MISSING_FILE', `Cannot read the image folder '${dir}'.`, 'Give a folder of PNG/JPEG images, optionally in class sub-folders.');
  }
  if (!files.length) throw new LocalQuantError('BAD_INPUT', `No PNG or JPEG files in '${dir}'.`, 'Give a folder of .png, .jpg or .jpeg images.');
  const paths = files.map((f) => relative(dir, f).split('\\').join('/'));
  let csv: string | undefined;
  if (labelsCsv) {
    try {
      csv = readFileSync(labelsCsv, 'utf8');
    } catch {
      throw new LocalQuantError('MISSING_FILE', `Cannot read the label file '${labelsCsv}'.`);
    }
  }
  const labels = csv !== undefined ? labelsFromCsv(paths, csv) : labelsFromFolders(paths);
  return { paths, images: files.map(decodeImageFile), labels };
}
