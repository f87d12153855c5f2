import { LocalQuantError } from '../errors.js';

/**
 * The CIFAR-10 binary format: records of 1 label byte + 3072 pixel bytes (1024 R, 1024 G, 1024 B, each
 * plane row-major 32x32), no header. Parsing is pure (takes bytes), so the app and the CLI share it.
 */
export const CIFAR10_RECORD_BYTES = 3073;
export const CIFAR10_IMAGE_SIZE = 32;
export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'] as const;

export interface Cifar10Set {
  /** The raw file bytes (records are read from it lazily, batch by batch). */
  bytes: Uint8Array;
  count: number;
  labels: Uint8Array;
}

/** Checks the size and reads the labels; pixels are decoded per batch by `cifar10Batch`. */
export function parseCifar10(bytes: Uint8Array, what = 'The CIFAR-10 file'): Cifar10Set {
  if (bytes.length === 0 || bytes.length % CIFAR10_RECORD_BYTES !== 0) {
    throw new LocalQuantError('BAD_INPUT', `${what} has ${bytes.length} bytes, not a multiple of ${CIFAR10_RECORD_BYTES} (1 label byte + 32x32x3 pixels per record)`,
      'Use the CIFAR-10 binary version (data_batch_N.bin / test_batch.bin).');
  }
  const count = bytes.length / CIFAR10_RECORD_BYTES;
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const l = bytes[i * CIFAR10_RECORD_BYTES];
    if (l > 9) throw new LocalQuantError('BAD_INPUT', `${what}: record ${i} has label ${l}; CIFAR-10 labels are 0-9`, 'Is this a CIFAR-100 file?');
    labels[i] = l;
  }
  return { bytes, count, labels };
}

/**
 * Records [start, start + n) as a normalized NCHW float batch: x = (pixel / 255 - mean[c]) / std[c].
 * `indices` picks arbitrary records instead (e.g. a class-balanced spread).
 */
export function cifar10Batch(
  set: Cifar10Set,
  records: { start: number; count: number } | readonly number[],
  mean: readonly number[],
  std: readonly number[],
): { images: Float32Array; labels: Uint8Array; dims: [number, number, number, number] } {
  const idx = Array.isArray(records)
    ? (records as readonly number[])
    : Array.from({ length: Math.max(0, Math.min((records as { count: number }).count, set.count - (records as { start: number }).start)) }, (_, i) => (records as { start: number }).start + i);
  const plane = CIFAR10_IMAGE_SIZE * CIFAR10_IMAGE_SIZE;
  const images = new Float32Array(idx.length * 3 * plane);
  const labels = new Uint8Array(idx.length);
  // per-channel affine map of a byte: (b / 255 - mean) / std
  const lut = [0, 1, 2].map((c) => Float32Array.from({ length: 256 }, (_, b) => (b / 255 - mean[c]) / std[c]));
  idx.forEach((r, n) => {
    if (r < 0 || r >= set.count) throw new LocalQuantError('BAD_INPUT', `CIFAR-10 record ${r} does not exist (the file has ${set.count})`);
    const off = r * CIFAR10_RECORD_BYTES;
    labels[n] = set.bytes[off];
    for (let c = 0; c < 3; c++) {
      const src = off + 1 + c * plane;
      const dst = (n * 3 + c) * plane;
      const t = lut[c];
      for (let p = 0; p < plane; p++) images[dst + p] = t[set.bytes[src + p]];
    }
  });
  return { images, labels, dims: [idx.length, 3, CIFAR10_IMAGE_SIZE, CIFAR10_IMAGE_SIZE] };
}

/** Index of the largest value in each row of a [n, k] row-major array. */
export function argmaxRows(values: Float32Array | ArrayLike<number>, n: number, k: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (values[i * k + j] > values[i * k + best]) best = j;
    out[i] = best;
  }
  return out;
}
