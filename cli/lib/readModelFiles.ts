import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { LocalQuantError } from '../../src/core/errors.js';
import { onnxExternalDataLocations } from '../../src/core/importers/onnx/importOnnx.js';
import { looksLikeJson, tryParseJson } from '../../src/core/importers/sniff.js';
import type { ModelFile } from '../../src/core/ir/types.js';

function readOne(path: string, name = basename(path)): ModelFile {
  try {
    return { name, bytes: new Uint8Array(readFileSync(path)) };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message.split('\n')[0];
    throw new LocalQuantError('MISSING_FILE', `Cannot read '${path}': ${why}.`, 'Check the path.');
  }
}

/** A path a model names for a side file, kept inside the model's folder (a '../' path falls back to the basename). */
function besideModel(dir: string, relative: string): string {
  const p = resolve(dir, relative);
  return p.startsWith(dir + sep) ? p : join(dir, basename(relative));
}

/** Regular files directly inside `dir` (not recursive). */
function filesIn(dir: string): string[] {
  return readdirSync(dir)
    .map((f) => join(dir, f))
    .filter((p) => statSync(p).isFile());
}

/**
 * The files that make up the model at `path`, as the importer registry (importModel) wants them:
 *  - an ONNX file: it plus the external data files its initializers name (looked up beside it);
 *  - a TF.js model.json: it plus the weight shards its weightsManifest lists, found beside it;
 *  - a folder: its model.json / .onnx file with the files above.
 * Missing external files are left out, so that the importer reports them by name.
 */
export function readModelFiles(path: string): ModelFile[] {
  const full = resolve(path);
  if (!existsSync(full)) throw new LocalQuantError('MISSING_FILE', `Cannot read '${path}': no such file or folder.`, 'Check the path.');
  if (statSync(full).isDirectory()) {
    const entries = filesIn(full);
    const main = entries.find((p) => basename(p) === 'model.json') ?? entries.find((p) => p.endsWith('.onnx')) ?? entries.find((p) => p.endsWith('.json'));
    if (!main) throw new LocalQuantError('NOT_A_MODEL', `The folder '${path}' holds no model.json or .onnx file.`, 'Point to the model file itself.');
    return readModelFiles(main);
  }
  const main = readOne(full);
  const dir = dirname(full);
  if (looksLikeJson(main.bytes)) {
    const json = tryParseJson(main.bytes) as { weightsManifest?: { paths?: unknown }[] } | undefined;
    const manifest = json && Array.isArray(json.weightsManifest) ? json.weightsManifest : [];
    const shards = manifest.flatMap((g) => (Array.isArray(g.paths) ? (g.paths as unknown[]).filter((p): p is string => typeof p === 'string') : []));
    return [main, ...shards.map((p) => besideModel(dir, p)).filter((p) => existsSync(p)).map((p) => readOne(p, basename(p)))];
  }
  const external = onnxExternalDataLocations(main.bytes)
    .map((loc) => besideModel(dir, loc))
    .filter((p) => existsSync(p));
  return [main, ...external.map((p) => readOne(p, basename(p)))];
}

/** Total bytes of the files. */
export function totalBytes(files: ModelFile[]): number {
  return files.reduce((s, f) => s + f.bytes.length, 0);
}
