import onnxProto from 'onnx-proto';
import type { DType, TensorData, TypedArray } from '../../ir/types.js';
import { ONNX_DTYPE } from '../../ir/onnxDataTypes.js';

const { onnx } = onnxProto;

/** Half-precision bits of a float (round to nearest even), for float16 initializers. */
export function floatToHalfBits(value: number): number {
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1))) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1))) half++;
  return sign | half;
}

/** Number of elements of a shape (1 for a scalar). */
export function elementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/**
 * Little-endian raw_data bytes of a tensor as ONNX stores it. int64 is written as 8 bytes per element
 * (the IR keeps it in an Int32Array); int4/uint4 are packed two per byte, low nibble first.
 */
export function encodeRawData(dtype: DType, data: TypedArray | ArrayLike<number>): Uint8Array {
  const n = data.length;
  switch (dtype) {
    case 'float32':
      return bytesOf(Float32Array.from(data as ArrayLike<number>));
    case 'float64':
      return bytesOf(Float64Array.from(data as ArrayLike<number>));
    case 'int8':
      return bytesOf(Int8Array.from(data as ArrayLike<number>));
    case 'uint8':
    case 'bool':
      return bytesOf(Uint8Array.from(data as ArrayLike<number>));
    case 'int16':
      return bytesOf(Int16Array.from(data as ArrayLike<number>));
    case 'uint16':
      return bytesOf(Uint16Array.from(data as ArrayLike<number>));
    case 'int32':
      return bytesOf(Int32Array.from(data as ArrayLike<number>));
    case 'int64': {
      const out = new BigInt64Array(n);
      for (let i = 0; i < n; i++) out[i] = BigInt(Math.trunc(data[i]));
      return bytesOf(out);
    }
    case 'float16': {
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) out[i] = floatToHalfBits(data[i]);
      return bytesOf(out);
    }
    case 'int4':
    case 'uint4': {
      const out = new Uint8Array(Math.ceil(n / 2));
      for (let i = 0; i < n; i++) {
        const nib = data[i] & 0x0f;
        out[i >> 1] |= i & 1 ? nib << 4 : nib;
      }
      return out;
    }
  }
}

function bytesOf(a: ArrayBufferView): Uint8Array {
  // Typed arrays are little-endian on every platform we run on (x86, ARM, browsers).
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice();
}

/** A TensorProto with raw_data for an IR tensor. */
export function tensorToProto(name: string, t: TensorData): onnxProto.onnx.ITensorProto {
  return onnx.TensorProto.create({
    name,
    dims: t.dims.slice(),
    dataType: ONNX_DTYPE[t.dtype],
    rawData: encodeRawData(t.dtype, t.data),
  });
}
