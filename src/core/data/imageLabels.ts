/**
 * Labels for a folder of the user's images, from where the files are: class sub-folders ("cat/001.png"),
 * or a CSV of "file,label" rows. Folder names are classes in sorted order (torchvision's ImageFolder and
 * Keras' image_dataset_from_directory do the same), unless every name is a whole number: then the number is
 * the class index. CSV labels are class indices.
 */
import { LocalQuantError } from '../errors.js';

export interface ImageLabels {
  /** Class index per path (same order as the input); null where a path has no label. */
  labels: (number | null)[];
  /** Display names by class index, when folders gave them. */
  classNames?: string[];
  source: 'folders' | 'csv' | 'none';
}

const baseName = (p: string) => p.split('/').pop() ?? p;

/** `paths` relative to the dropped folder, with '/' separators ("cifar/cat/001.png"). */
export function labelsFromFolders(paths: string[]): ImageLabels {
  const parts = paths.map((p) => p.split('/').filter(Boolean));
  // The class folder is the one holding the file; a common root folder above it is not a class.
  const classOf = parts.map((s) => (s.length >= 2 ? s[s.length - 2] : null));
  const depthOk = parts.every((s) => s.length === parts[0].length);
  const names = [...new Set(classOf.filter((c): c is string => c !== null))].sort();
  if (!depthOk || names.length < 2) return { labels: paths.map(() => null), source: 'none' };
  if (names.every((n) => /^\d+$/.test(n))) return { labels: classOf.map((c) => (c === null ? null : Number(c))), source: 'folders' };
  const index = new Map(names.map((n, i) => [n, i]));
  return { labels: classOf.map((c) => (c === null ? null : index.get(c)!)), classNames: names, source: 'folders' };
}

/** CSV rows "file,label" (a header row is skipped); files are matched by base name. */
export function labelsFromCsv(paths: string[], csv: string): ImageLabels {
  const byFile = new Map<string, number>();
  for (const [i, line] of csv.split(/\r?\n/).entries()) {
    if (!line.trim()) continue;
    const [file, label] = line.split(',').map((s) => s.trim().replace(/^"|"$/g, ''));
    if (label === undefined) throw new LocalQuantError('BAD_INPUT', `Label file line ${i + 1} has no comma: "${line.slice(0, 60)}".`, 'Write one "file,label" pair per line.');
    if (!/^\d+$/.test(label)) {
      if (i === 0) continue;
      throw new LocalQuantError('BAD_INPUT', `Label file line ${i + 1}: "${label}" is not a class index.`, 'Labels are whole numbers: the model\'s output index of the class.');
    }
    byFile.set(baseName(file), Number(label));
  }
  const labels = paths.map((p) => byFile.get(baseName(p)) ?? null);
  if (!labels.some((l) => l !== null)) throw new LocalQuantError('BAD_INPUT', 'No image of the folder is named in the label file.', 'The first CSV column must be the image file names.');
  return { labels, source: 'csv' };
}
