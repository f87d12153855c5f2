import onnxProto from 'onnx-proto';
import { LocalQuantError } from '../../errors.js';
import type { DType, ModelFile, TensorData, TypedArray } from '../../ir/types.js';
import { ONNX_DTYPE_NAMES, dtypeFromOnnx } from '../../ir/onnxDataTypes.js';
import { unpackInt4 } from '../../quant/primitives.js';
import { checkedElementCount } from '../../ir/validate/tensorChecks.js';

type Long = { low: number; high: number; unsigned?: boolean };

const INT32_MAX = 2147483647;
const INT32_MIN = -2147483648;

/** A protobuf int64 (number or Long) as a JS number (exact up to 2^53). */
export function longToNumber(v: number | Long | null | undefined): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number') return v;
  const lo = v.low >>> 0;
  return v.unsigned ? (v.high >>> 0) * 4294967296 + lo : v.high * 4294967296 + lo;
}

export function clampInt32(v: number): number {
  return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : v;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Bytes per element as stored (4-bit types: 0.5). */
function storedElementSize(onnxType: number): number {
  switch (onnxType) {
    case 1: case 6: case 12: return 4;
    case 2: case 3: case 9: return 1;
    case 4: case 5: case 10: case 16: return 2;
    case 7: case 11: case 13: return 8;
    case 21: case 22: return 0.5;
    default: return 0;
  }
}

export interface TensorContext {
  /** Files beside the model, searched by basename for external data. */
  externalFiles?: ModelFile[];
  /** What the tensor is, for messages: "initializer 'conv1.weight'". */
  what: string;
}

/**
 * An ONNX TensorProto as an IR tensor. float16/bfloat16 are widened to float32; int64/uint32 land in an
 * Int32Array (clamped); int4/uint4 are unpacked to one code per element (Int8Array/Uint8Array).
 */
export function decodeTensor(t: onnxProto.onnx.ITensorProto, ctx: TensorContext): TensorData {
  const dims = (t.dims ?? []).map((d) => longToNumber(d as number | Long));
  const onnxType = t.dataType ?? 0;
  const count = checkedElementCount(dims, ctx.what);
  const typeName = ONNX_DTYPE_NAMES[onnxType] ?? `data type ${onnxType}`;
  const unsupported = () =>
    new LocalQuantError('BAD_WEIGHTS', `The model's ${ctx.what} has element type ${typeName}, which LocalQuant does not read.`, 'Re-export the model with float32 weights.');

  let raw: Uint8Array | undefined;
  if (t.dataLocation === onnxProto.onnx.TensorProto.DataLocation.EXTERNAL) {
    raw = readExternal(t, ctx, Math.ceil(count * storedElementSize(onnxType)));
  } else if (t.rawData && t.rawData.length > 0) {
    raw = t.rawData;
  }

  if (raw) {
    const size = storedElementSize(onnxType);
    if (size === 0) throw unsupported();
    const expected = Math.ceil(count * size);
    // Both directions: short data would leave weights undefined, long data means the dims or the type are
    // not what was written (e.g. float32 bytes labelled float16).
    if (raw.length !== expected) {
      throw new LocalQuantError(
        raw.length < expected ? 'BAD_WEIGHTS' : 'INVALID_MODEL',
        `The model's ${ctx.what} should hold ${expected} bytes (${count} elements of ${typeName}, shape [${dims.join(', ')}]) but has ${raw.length}.`,
        'The file may be damaged or truncated: export or download it again.',
      );
    }
    return fromRaw(raw, onnxType, dims, count, unsupported);
  }
  return fromTypedFields(t, onnxType, dims, count, ctx, unsupported);
}

function fromRaw(raw: Uint8Array, onnxType: number, dims: number[], count: number, unsupported: () => Error): TensorData {
  // Copy so that the view is aligned and does not keep the whole model buffer alive. (In Node, protobufjs
  // hands out Buffers, whose slice() is a view, so copy explicitly.)
  const copy = new Uint8Array(raw.length);
  copy.set(raw);
  const buf = copy.buffer;
  const dv = new DataView(buf);
  switch (onnxType) {
    case 1: return { dtype: 'float32', dims, data: new Float32Array(buf) };
    case 2: return { dtype: 'uint8', dims, data: new Uint8Array(buf) };
    case 3: return { dtype: 'int8', dims, data: new Int8Array(buf) };
    case 4: return { dtype: 'uint16', dims, data: new Uint16Array(buf) };
    case 5: return { dtype: 'int16', dims, data: new Int16Array(buf) };
    case 6: return { dtype: 'int32', dims, data: new Int32Array(buf) };
    case 9: return { dtype: 'bool', dims, data: new Uint8Array(buf) };
    case 11: return { dtype: 'float64', dims, data: new Float64Array(buf) };
    case 7:
    case 13: {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const lo = dv.getUint32(i * 8, true);
        const hi = onnxType === 7 ? dv.getInt32(i * 8 + 4, true) : dv.getUint32(i * 8 + 4, true);
        out[i] = clampInt32(hi * 4294967296 + lo);
      }
      return { dtype: 'int64', dims, data: out };
    }
    case 12: {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = clampInt32(dv.getUint32(i * 4, true));
      return { dtype: 'int64', dims, data: out };
    }
    case 10: {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfToFloat(dv.getUint16(i * 2, true));
      return { dtype: 'float32', dims, data: out };
    }
    case 16: {
      const out = new Float32Array(count);
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) u[i] = dv.getUint16(i * 2, true) << 16;
      return { dtype: 'float32', dims, data: out };
    }
    case 21:
    case 22:
      return { dtype: onnxType === 22 ? 'int4' : 'uint4', dims, data: unpackInt4(new Uint8Array(buf), count, onnxType === 22) };
    default:
      throw unsupported();
  }
}

/** Typed-field int4 data (one packed byte per int32 element), zero-filled when the field is short. */
function nibbleBytes(fields: ArrayLike<number>, count: number): Uint8Array {
  const out = new Uint8Array(Math.ceil(count / 2));
  for (let i = 0; i < Math.min(out.length, fields.length); i++) out[i] = fields[i];
  return out;
}

function fromTypedFields(
  t: onnxProto.onnx.ITensorProto,
  onnxType: number,
  dims: number[],
  count: number,
  ctx: TensorContext,
  unsupported: () => Error,
): TensorData {
  const dtype = dtypeFromOnnx(onnxType);
  let data: TypedArray;
  let outType: DType | undefined = dtype;
  switch (onnxType) {
    case 1:
      data = Float32Array.from(t.floatData ?? []);
      break;
    case 11:
      data = Float64Array.from(t.doubleData ?? []);
      break;
    case 7:
      data = Int32Array.from(t.int64Data ?? [], (v) => clampInt32(longToNumber(v as number | Long)));
      break;
    case 12:
    case 13:
      data = Int32Array.from(t.uint64Data ?? [], (v) => clampInt32(longToNumber(v as number | Long)));
      outType = 'int64';
      break;
    case 10:
      data = Float32Array.from(t.int32Data ?? [], (v) => halfToFloat(v & 0xffff));
      outType = 'float32';
      break;
    case 16:
      data = Float32Array.from(t.int32Data ?? [], (v) => new Float32Array(new Uint32Array([(v & 0xffff) << 16]).buffer)[0]);
      outType = 'float32';
      break;
    case 2: data = Uint8Array.from(t.int32Data ?? []); break;
    case 3: data = Int8Array.from(t.int32Data ?? []); break;
    case 4: data = Uint16Array.from(t.int32Data ?? []); break;
    case 5: data = Int16Array.from(t.int32Data ?? []); break;
    case 6: data = Int32Array.from(t.int32Data ?? []); break;
    case 9: data = Uint8Array.from(t.int32Data ?? [], (v) => (v ? 1 : 0)); break;
    case 21:
    case 22:
      // int32_data holds the packed bytes, one per entry.
      data = unpackInt4(nibbleBytes(t.int32Data ?? [], count), count, onnxType === 22);
      break;
    default:
      throw unsupported();
  }
  if (!outType) throw unsupported();
  if (data.length !== count) {
    throw new LocalQuantError(
      'BAD_WEIGHTS',
      `The model's ${ctx.what} has shape [${dims.join(', ')}] (${count} elements) but holds ${data.length} values.`,
      'The file may be damaged: export it again.',
    );
  }
  return { dtype: outType, dims, data };
}

function basename(p: string): string {
  const parts = p.split(/[\\/]/);
  return parts[parts.length - 1];
}

function readExternal(t: onnxProto.onnx.ITensorProto, ctx: TensorContext, defaultLength: number): Uint8Array {
  const entries = new Map((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
  const location = entries.get('location');
  if (!location) throw new LocalQuantError('BAD_WEIGHTS', `The model's ${ctx.what} is stored externally but names no file.`, 'Export the model again.');
  const want = basename(location);
  const file = (ctx.externalFiles ?? []).find((f) => basename(f.name) === want);
  if (!file) {
    throw new LocalQuantError(
      'MISSING_FILE',
      `The model keeps its ${ctx.what} in a separate file '${location}', which was not supplied.`,
      `Select '${want}' together with the .onnx file (it holds the weights).`,
    );
  }
  const offset = entries.has('offset') ? Number(entries.get('offset')) : 0;
  const length = entries.has('length') ? Number(entries.get('length')) : defaultLength;
  for (const [key, v] of [['offset', offset], ['length', length]] as const) {
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new LocalQuantError('INVALID_MODEL', `The model's ${ctx.what} is stored in '${want}' at ${key} '${entries.get(key)}', which is not a byte count.`, 'The file is damaged or hand-edited: export the model again.');
    }
  }
  if (offset + length > file.bytes.length) {
    throw new LocalQuantError(
      'TRUNCATED',
      `The external data file '${want}' has ${file.bytes.length} bytes, but the model's ${ctx.what} needs bytes ${offset} to ${offset + length}.`,
      `The file '${want}' is probably truncated: copy it again.`,
    );
  }
  return file.bytes.subarray(offset, offset + length);
}
