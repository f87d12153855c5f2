/**
 * Content sniffing for model files: what a file looks like, in words a user recognises, for the
 * NOT_A_MODEL / TRUNCATED messages and for the importer registry's format detection.
 */

const MAGICS: [number[], string][] = [
  [[0x89, 0x50, 0x4e, 0x47], 'looks like a PNG image'],
  [[0xff, 0xd8, 0xff], 'looks like a JPEG image'],
  [[0x47, 0x49, 0x46, 0x38], 'looks like a GIF image'],
  [[0x89, 0x48, 0x44, 0x46], 'looks like an HDF5 file (a Keras .h5 model? convert it to ONNX or TF.js first)'],
  [[0x50, 0x4b, 0x03, 0x04], 'looks like a ZIP archive (a PyTorch .pt/.pth checkpoint or a zipped model? export to ONNX, or unzip it)'],
  [[0x1f, 0x8b], 'looks like a gzip archive (decompress it first)'],
  [[0x25, 0x50, 0x44, 0x46], 'looks like a PDF document'],
  [[0x80, 0x02], 'looks like a Python pickle (a PyTorch checkpoint? export it to ONNX first)'],
  [[0x80, 0x03], 'looks like a Python pickle (a PyTorch checkpoint? export it to ONNX first)'],
  [[0x80, 0x04], 'looks like a Python pickle (a PyTorch checkpoint? export it to ONNX first)'],
  [[0x80, 0x05], 'looks like a Python pickle (a PyTorch checkpoint? export it to ONNX first)'],
];

function startsWith(bytes: Uint8Array, magic: number[], at = 0): boolean {
  if (bytes.length < at + magic.length) return false;
  return magic.every((b, i) => bytes[at + i] === b);
}

/** First non-whitespace character index, or -1. */
function firstNonSpace(bytes: Uint8Array): number {
  let i = 0;
  if (startsWith(bytes, [0xef, 0xbb, 0xbf])) i = 3; // UTF-8 BOM
  for (; i < Math.min(bytes.length, 4096); i++) {
    const c = bytes[i];
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i;
  }
  return -1;
}

/** True when the bytes start like JSON ('{' or '[' after optional whitespace). */
export function looksLikeJson(bytes: Uint8Array): boolean {
  const i = firstNonSpace(bytes);
  return i >= 0 && (bytes[i] === 0x7b || bytes[i] === 0x5b);
}

/** Parsed JSON, or undefined when the bytes are not valid JSON text. */
export function tryParseJson(bytes: Uint8Array): unknown {
  if (!looksLikeJson(bytes)) return undefined;
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return undefined;
  }
}

function isMostlyText(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, 512);
  if (n === 0) return false;
  let printable = 0;
  for (let i = 0; i < n; i++) {
    const c = bytes[i];
    if (c === 0x09 || c === 0x0a || c === 0x0d || (c >= 0x20 && c < 0x7f) || c >= 0xc0) printable++;
  }
  return printable / n > 0.95;
}

function quoteStart(bytes: Uint8Array, max = 40): string {
  const i = Math.max(0, firstNonSpace(bytes));
  const text = new TextDecoder('utf-8').decode(bytes.subarray(i, i + max * 2)).replace(/\s+/g, ' ');
  return text.length > max ? `${text.slice(0, max)}...` : text;
}

function hexStart(bytes: Uint8Array, n = 8): string {
  return Array.from(bytes.subarray(0, n), (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/** A short description of what a file looks like: 'is empty', 'starts with {"modelTopology"...', 'looks like a PNG image'. */
export function describeBytes(bytes: Uint8Array): string {
  if (bytes.length === 0) return 'is empty (0 bytes)';
  for (const [magic, what] of MAGICS) if (startsWith(bytes, magic)) return what;
  if (startsWith(bytes, [0x54, 0x46, 0x4c, 0x33], 4)) return 'looks like a TensorFlow Lite model (.tflite), which LocalQuant does not read';
  if (looksLikeJson(bytes)) return `is JSON text, starting with ${quoteStart(bytes)}`;
  if (isMostlyText(bytes)) {
    const start = quoteStart(bytes).toLowerCase();
    if (start.startsWith('<!doctype html') || start.startsWith('<html')) return 'is an HTML page (a download that saved an error or login page?)';
    if (start.startsWith('version https://git-lfs')) return 'is a Git LFS pointer, not the model itself (run git lfs pull)';
    return `is text, starting with "${quoteStart(bytes)}"`;
  }
  return `is ${bytes.length} bytes of binary data starting with ${hexStart(bytes)}`;
}

/**
 * Cheap check whether bytes can be an ONNX ModelProto: the first field tag must be one of ModelProto's
 * (ir_version 0x08 with a small varint, opset_import 0x42, producer_name 0x12, graph 0x3a, ...).
 */
export function looksLikeOnnx(bytes: Uint8Array): boolean {
  if (bytes.length < 2) return false;
  const tag = bytes[0];
  if (tag === 0x08) return bytes[1] >= 1 && bytes[1] <= 20;
  return [0x12, 0x1a, 0x22, 0x28, 0x32, 0x3a, 0x42, 0x72].includes(tag) && !looksLikeJson(bytes) && !isMostlyText(bytes);
}
