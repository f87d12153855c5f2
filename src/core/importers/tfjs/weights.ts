import { concatBytes } from '../../data/bytes.js';
import { LocalQuantError } from '../../errors.js';
import type { ModelFile, TensorData } from '../../ir/types.js';
import type { WeightSpec, WeightsGroup } from './modelJson.js';

/**
 * Decodes the weightsManifest of a TF.js model.json the way tf.io.decodeWeights does: each group's shards
 * are concatenated in order and the weights are read one after another; quantized weights become
 * q * scale + min (float32: computed in double, stored as float32; int32: rounded), float16 is widened.
 */

const BYTES_PER_VALUE: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8, uint8: 1, uint16: 2, float16: 2 };

function sizeOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Stored byte length of one weight (strings are not supported: they never feed a CNN). */
export function weightByteLength(spec: WeightSpec): number {
  if (spec.dtype === 'string') throw new LocalQuantError('BAD_WEIGHTS', `Weight '${spec.name}' holds strings, which LocalQuant does not read.`, 'Remove string constants (lookup tables) from the model.');
  const per = spec.quantization ? BYTES_PER_VALUE[spec.quantization.dtype] : BYTES_PER_VALUE[spec.dtype];
  if (per === undefined) {
    throw new LocalQuantError('BAD_WEIGHTS', `Weight '${spec.name}' has an unknown ${spec.quantization ? 'quantization ' : ''}dtype '${spec.quantization?.dtype ?? spec.dtype}'.`, 'Supported: float32, int32, bool; quantized uint8, uint16, float16.');
  }
  return sizeOf(spec.shape) * per;
}

/** The file name part of a manifest path ("sub/group1-shard1of2.bin?v=3" -> "group1-shard1of2.bin"). */
export function baseName(path: string): string {
  const noQuery = path.split(/[?#]/)[0];
  const parts = noQuery.split(/[\\/]/);
  return decodeURIComponentSafe(parts[parts.length - 1]);
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

let float16Table: Float32Array | undefined;

/** IEEE half -> float32, exact for every bit pattern (subnormals, infinities, NaN). */
export function float16ToFloat32(bits: Uint16Array): Float32Array {
  if (!float16Table) {
    float16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) {
      const sign = h & 0x8000 ? -1 : 1;
      const exp = (h >> 10) & 0x1f;
      const frac = h & 0x3ff;
      let v: number;
      if (exp === 0) v = frac * 2 ** -24;
      else if (exp === 31) v = frac === 0 ? Infinity : NaN;
      else v = (1 + frac / 1024) * 2 ** (exp - 15);
      float16Table[h] = sign * v;
    }
  }
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = float16Table[bits[i]];
  return out;
}

/** One weight from its bytes (exactly `weightByteLength(spec)` of them, any alignment). */
export function decodeWeight(spec: WeightSpec, bytes: Uint8Array): TensorData {
  const n = sizeOf(spec.shape);
  const dims = spec.shape.slice();
  const aligned = bytes.slice(); // copy: typed array views need aligned offsets
  const q = spec.quantization;
  if (q) {
    if (q.dtype === 'float16') {
      if (spec.dtype !== 'float32') throw new LocalQuantError('BAD_WEIGHTS', `Weight '${spec.name}' is float16-quantized but has dtype ${spec.dtype}.`);
      return { dtype: 'float32', dims, data: float16ToFloat32(new Uint16Array(aligned.buffer, 0, n)) };
    }
    if (q.scale === undefined || q.min === undefined) throw new LocalQuantError('BAD_WEIGHTS', `Weight '${spec.name}' is ${q.dtype}-quantized but has no scale/min.`);
    const raw = q.dtype === 'uint8' ? aligned : new Uint16Array(aligned.buffer, 0, n);
    const { scale, min } = q;
    if (spec.dtype === 'float32') {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = raw[i] * scale + min;
      return { dtype: 'float32', dims, data: out };
    }
    if (spec.dtype === 'int32') {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = Math.round(raw[i] * scale + min);
      return { dtype: 'int32', dims, data: out };
    }
    throw new LocalQuantError('BAD_WEIGHTS', `Weight '${spec.name}' of dtype ${spec.dtype} cannot be ${q.dtype}-quantized.`);
  }
  switch (spec.dtype) {
    case 'float32':
      return { dtype: 'float32', dims, data: new Float32Array(aligned.buffer, 0, n) };
    case 'int32':
      return { dtype: 'int32', dims, data: new Int32Array(aligned.buffer, 0, n) };
    case 'bool':
      return { dtype: 'bool', dims, data: new Uint8Array(aligned.buffer, 0, n) };
    default:
      throw new LocalQuantError('BAD_WEIGHTS', `Weight '${spec.name}' has dtype ${spec.dtype}, which LocalQuant does not read.`);
  }
}

/** All weights of all groups, by manifest name. Shards are matched by base name among `files`. */
export function decodeWeightsManifest(manifest: WeightsGroup[], files: ModelFile[]): Map<string, TensorData> {
  const byName = new Map<string, ModelFile>();
  for (const f of files) byName.set(baseName(f.name), f);
  const out = new Map<string, TensorData>();
  for (const [g, group] of manifest.entries()) {
    const needed = group.weights.reduce((a, w) => a + weightByteLength(w), 0);
    const shardNames = group.paths.map(baseName);
    const missing = shardNames.filter((s) => !byName.has(s));
    if (missing.length > 0) {
      const present = shardNames.filter((s) => byName.has(s)).reduce((a, s) => a + byName.get(s)!.bytes.length, 0);
      throw new LocalQuantError(
        'MISSING_FILE',
        `Weight file${missing.length > 1 ? 's' : ''} ${missing.map((m) => `'${m}'`).join(', ')} of weight group ${g + 1} ${missing.length > 1 ? 'are' : 'is'} missing: the group's ${group.weights.length} weights need ${needed} bytes in ${shardNames.length} shard(s) (${Math.max(0, needed - present)} bytes not supplied).`,
        'Select the model.json together with all the .bin files listed in its weightsManifest.',
      );
    }
    const bytes = concatBytes(shardNames.map((s) => byName.get(s)!.bytes));
    // Both directions: tensorflowjs_converter writes shards holding exactly the listed weights, so extra
    // bytes mean a manifest that does not describe the shards (weights would be read from wrong offsets).
    if (bytes.length !== needed) {
      throw new LocalQuantError(
        bytes.length < needed ? 'MISSING_FILE' : 'INVALID_MODEL',
        `Weight group ${g + 1} (${shardNames.join(', ')}) has ${bytes.length} bytes but its ${group.weights.length} weights need ${needed} bytes: ${bytes.length < needed ? 'a shard is truncated or from another model' : 'the shards hold data the manifest does not list (another model\'s shards, or an edited manifest)'}.`,
        'Download the weight files again, completely, and select them with the model.json.',
      );
    }
    let offset = 0;
    for (const spec of group.weights) {
      const len = weightByteLength(spec);
      out.set(spec.name, decodeWeight(spec, bytes.subarray(offset, offset + len)));
      offset += len;
    }
  }
  return out;
}
