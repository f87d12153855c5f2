import { LocalQuantError } from '../../errors.js';
import { checkedElementCount } from '../../ir/validate/tensorChecks.js';
import type { WeightsGroup } from './modelJson.js';

/**
 * The weightsManifest of a model.json checked against tfjs-core's io/types.ts (WeightsManifestConfig)
 * before any of it is used: a list of groups, each with string paths and weight entries that have a
 * string name, a shape of non-negative integers within the memory budget and a known dtype; quantized
 * entries have a known dtype and finite scale/min.
 */

function malformed(what: string, value: unknown): LocalQuantError {
  const shown = JSON.stringify(value)?.slice(0, 80) ?? String(value);
  return new LocalQuantError('INVALID_MODEL', `The model.json's weightsManifest is malformed: ${what} (got ${shown}).`, 'Convert the model again with tensorflowjs_converter, or restore the original model.json.');
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const DTYPES = new Set(['float32', 'int32', 'bool', 'string', 'complex64']);
const QUANT_DTYPES = new Set(['uint8', 'uint16', 'float16']);

export function checkedManifest(manifest: unknown): WeightsGroup[] {
  if (manifest === undefined || manifest === null) return [];
  if (!Array.isArray(manifest)) throw malformed('it must be a list of weight groups', manifest);
  manifest.forEach((group, g) => {
    if (!isObject(group)) throw malformed(`group ${g + 1} is not an object`, group);
    if (!Array.isArray(group.paths) || !group.paths.every((p) => typeof p === 'string')) throw malformed(`group ${g + 1} has no list of shard paths`, group.paths);
    if (!Array.isArray(group.weights)) throw malformed(`group ${g + 1} has no list of weights`, group.weights);
    for (const w of group.weights) {
      if (!isObject(w) || typeof w.name !== 'string') throw malformed(`a weight of group ${g + 1} has no name`, w);
      checkedElementCount(w.shape, `weight '${w.name}'`);
      if (typeof w.dtype !== 'string' || !DTYPES.has(w.dtype)) throw malformed(`weight '${w.name}' has dtype ${JSON.stringify(w.dtype)}`, w.dtype);
      const q = w.quantization;
      if (q === undefined) continue;
      if (!isObject(q) || typeof q.dtype !== 'string' || !QUANT_DTYPES.has(q.dtype)) throw malformed(`weight '${w.name}' has an unknown quantization`, q);
      for (const k of ['scale', 'min'] as const) {
        if (q[k] !== undefined && (typeof q[k] !== 'number' || !Number.isFinite(q[k]))) throw malformed(`weight '${w.name}' has quantization ${k} ${String(q[k])}`, q);
      }
    }
  });
  return manifest as WeightsGroup[];
}
