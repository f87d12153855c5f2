import { LocalQuantError } from '../errors.js';
import type { Graph, ModelFile } from '../ir/types.js';
import { importOnnx } from './onnx/importOnnx.js';
import { describeBytes, looksLikeOnnx, tryParseJson } from './sniff.js';
import { importTfjs } from './tfjs/index.js';

export { importOnnx } from './onnx/importOnnx.js';
export { SUPPORTED_ONNX_OPS } from './onnx/supportedOps.js';

/** A TF.js model.json: format layers-model / graph-model, or a modelTopology object. */
function isTfjsModelJson(json: unknown): boolean {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return false;
  const j = json as { format?: unknown; modelTopology?: unknown };
  return j.format === 'layers-model' || j.format === 'graph-model' || (typeof j.modelTopology === 'object' && j.modelTopology !== null);
}

const isOnnxName = (name: string) => /\.onnx$/i.test(name);

export type DetectedFormat = { kind: 'onnx'; model: ModelFile } | { kind: 'tfjs'; modelJson: ModelFile } | { kind: 'none' };

/** Which model the files hold, by content (file names only break ties between ONNX-looking files). */
export function detectModel(files: ModelFile[]): DetectedFormat {
  for (const f of files) if (isTfjsModelJson(tryParseJson(f.bytes))) return { kind: 'tfjs', modelJson: f };
  const named = files.filter((f) => isOnnxName(f.name));
  const sniffed = files.filter((f) => looksLikeOnnx(f.bytes));
  const candidates = named.length ? named : sniffed;
  if (candidates.length > 1) {
    throw new LocalQuantError(
      'BAD_INPUT',
      `Several ONNX models were supplied (${candidates.map((f) => `'${f.name}'`).join(', ')}); LocalQuant works on one model at a time.`,
      'Choose one .onnx file (plus its external data files, if it has any).',
    );
  }
  return candidates.length ? { kind: 'onnx', model: candidates[0] } : { kind: 'none' };
}

/**
 * Imports a model from the files a user supplied: an ONNX model (the other files are its external
 * data), or a TF.js model.json with its weight shards. Detection is by content, not only by name.
 */
export function importModel(files: ModelFile[]): Graph {
  if (files.length === 0) throw new LocalQuantError('NOT_A_MODEL', 'No model file was supplied.', 'Choose an ONNX model (.onnx) or a TF.js model.json with its weight files.');
  const found = detectModel(files);
  if (found.kind === 'tfjs') return importTfjs(files);
  if (found.kind === 'onnx') {
    return importOnnx(
      found.model.bytes,
      files.filter((f) => f !== found.model),
      { fileName: `'${found.model.name}'` },
    );
  }
  const seen = files.map((f) => `'${f.name}' ${describeBytes(f.bytes)}`).join('; ');
  throw new LocalQuantError(
    'NOT_A_MODEL',
    `No ONNX model or TF.js model.json found: ${seen}.`,
    'Choose an ONNX model (.onnx), or a TF.js model.json together with its .bin weight files.',
  );
}
