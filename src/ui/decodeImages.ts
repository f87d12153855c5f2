/**
 * The user's own calibration images, decoded in the page (createImageBitmap + OffscreenCanvas: PNG, JPEG,
 * WebP, whatever the browser reads) to RGBA. Large photos are scaled down here, keeping their aspect
 * ratio, so that a folder of camera images does not cost gigabytes; the core then crops and resizes them
 * to the model's input. Nothing leaves the page.
 */
import type { RgbaImage } from '../core/pipeline/types.js';

/** Longest side kept: above any input size LocalQuant's models take, small enough for hundreds of images. */
const MAX_SIDE = 512;

export const IMAGE_FILE = /\.(png|jpe?g|webp|bmp|gif)$/i;

export interface DecodedFolder {
  images: RgbaImage[];
  /** Files that looked like images but could not be decoded. */
  failed: string[];
}

/** One image file as RGBA, scaled down to MAX_SIDE on its longest side; throws when the browser cannot read it. */
export async function decodeImageFile(file: File): Promise<RgbaImage> {
  const bitmap = await createImageBitmap(file);
  const k = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  const width = Math.max(1, Math.round(bitmap.width * k));
  const height = Math.max(1, Math.round(bitmap.height * k));
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2d context');
  ctx.drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  return { width, height, rgba: ctx.getImageData(0, 0, width, height).data };
}

export async function decodeImageFiles(files: File[], limit: number): Promise<DecodedFolder> {
  const picked = files.filter((f) => f.type.startsWith('image/') || IMAGE_FILE.test(f.name)).sort((a, b) => a.name.localeCompare(b.name)).slice(0, limit);
  const images: RgbaImage[] = [];
  const failed: string[] = [];
  for (const file of picked) {
    try {
      images.push(await decodeImageFile(file));
    } catch {
      failed.push(file.name);
    }
  }
  return { images, failed };
}

/** Every file of dropped items, folders walked recursively (DataTransferItem.webkitGetAsEntry). */
export async function droppedFiles(items: DataTransferItemList): Promise<File[]> {
  const entries = [...items].map((i) => i.webkitGetAsEntry()).filter((e): e is FileSystemEntry => !!e);
  const out: File[] = [];
  const walk = async (entry: FileSystemEntry): Promise<void> => {
    if (entry.isFile) {
      out.push(await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject)));
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      // readEntries returns at most ~100 entries per call: read until it returns none.
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
        if (!batch.length) break;
        for (const e of batch) await walk(e);
      }
    }
  };
  for (const e of entries) await walk(e);
  return out;
}
