/**
 * Integer quantization primitives on Float32Array, matching ONNX QuantizeLinear/DequantizeLinear:
 * q = saturate(roundHalfToEven(x / scale) + zeroPoint), x' = (q - zeroPoint) * scale.
 */

export interface QRange {
  qmin: number;
  qmax: number;
}

/** Integer range of a `bits`-wide signed (two's complement) or unsigned code, bits in 2..8 (or 32 for bias). */
export function qrange(bits: number, signed: boolean): QRange {
  if (!Number.isInteger(bits) || bits < 2 || (bits > 8 && bits !== 16 && bits !== 32)) {
    throw new RangeError(`bits must be an integer in 2..8 (or 16/32); got ${bits}`);
  }
  if (signed) return { qmin: -(2 ** (bits - 1)), qmax: 2 ** (bits - 1) - 1 };
  return { qmin: 0, qmax: 2 ** bits - 1 };
}

/** Round half to even (banker's rounding), as ONNX QuantizeLinear does: 2.5 -> 2, 3.5 -> 4, -2.5 -> -2. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x); // rounds .5 toward +inf
  if (r - x === 0.5 && r % 2 !== 0) return r - 1; // x = k + 0.5 with odd k+1: go down to even k
  return r;
}

export function clampInt(q: number, range: QRange): number {
  return q < range.qmin ? range.qmin : q > range.qmax ? range.qmax : q;
}

/** Per-tensor (scale: number) or per-axis (scale: array, one per index along `axis`) parameters. */
export interface QuantParams {
  scale: number | Float32Array | number[];
  zeroPoint?: number | Int32Array | number[];
  bits: number;
  signed: boolean;
  /** Axis the scale/zero-point arrays run along (per-axis only); default 0. */
  axis?: number;
  /** Tensor dims, required for per-axis with axis != 0 or rank > 1. Default: [values.length]. */
  dims?: number[];
}

/** Strides to map a flat index to its index along `axis`: idx = floor(i / inner) % axisLen. */
function axisIndexer(p: QuantParams, length: number): ((i: number) => number) | null {
  if (typeof p.scale === 'number') return null;
  const n = p.scale.length;
  const dims = p.dims ?? [length];
  const axis = p.axis ?? 0;
  const ax = axis < 0 ? axis + dims.length : axis;
  if (ax < 0 || ax >= dims.length) throw new RangeError(`axis ${axis} out of range for rank ${dims.length}`);
  if (dims[ax] !== n) throw new RangeError(`per-axis scale has ${n} entries but dim ${ax} is ${dims[ax]}`);
  let inner = 1;
  for (let d = ax + 1; d < dims.length; d++) inner *= dims[d];
  const total = dims.reduce((a, b) => a * b, 1);
  if (total !== length) throw new RangeError(`dims ${JSON.stringify(dims)} do not match ${length} values`);
  return (i: number) => Math.floor(i / inner) % n;
}

function paramAt(v: number | ArrayLike<number> | undefined, idx: number): number {
  if (v === undefined) return 0;
  if (typeof v === 'number') return v;
  return v[idx];
}

/** Quantize to integer codes (returned as Int32Array so any bits/sign fits; narrow with toInt8/toUint8). */
export function quantize(values: Float32Array, p: QuantParams): Int32Array {
  const range = qrange(p.bits, p.signed);
  const at = axisIndexer(p, values.length);
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const k = at ? at(i) : 0;
    const s = paramAt(p.scale, k);
    const z = paramAt(p.zeroPoint, k);
    out[i] = clampInt(roundHalfEven(values[i] / s) + z, range);
  }
  return out;
}

export function dequantize(codes: ArrayLike<number>, p: QuantParams): Float32Array {
  const at = axisIndexer(p, codes.length);
  const out = new Float32Array(codes.length);
  for (let i = 0; i < codes.length; i++) {
    const k = at ? at(i) : 0;
    out[i] = (codes[i] - paramAt(p.zeroPoint, k)) * paramAt(p.scale, k);
  }
  return out;
}

/** quantize then dequantize: the float value the integer model will see. */
export function fakeQuantize(values: Float32Array, p: QuantParams): Float32Array {
  return dequantize(quantize(values, p), p);
}

export function toInt8(codes: ArrayLike<number>): Int8Array {
  return Int8Array.from(codes as ArrayLike<number>);
}

export function toUint8(codes: ArrayLike<number>): Uint8Array {
  return Uint8Array.from(codes as ArrayLike<number>);
}

/**
 * Pack 4-bit codes two per byte, low nibble first (ONNX INT4/UINT4): element 2i in bits 0-3 of byte i,
 * element 2i+1 in bits 4-7. An odd count leaves the last high nibble 0.
 */
export function packInt4(values: Int8Array | Uint8Array, signed: boolean): Uint8Array {
  const r = qrange(4, signed);
  const out = new Uint8Array(Math.ceil(values.length / 2));
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < r.qmin || v > r.qmax) throw new RangeError(`value ${v} at ${i} outside ${signed ? 'int4' : 'uint4'} range`);
    const nib = v & 0x0f;
    out[i >> 1] |= i & 1 ? nib << 4 : nib;
  }
  return out;
}

/** Inverse of packInt4: `count` 4-bit codes, sign-extended when signed. */
export function unpackInt4(bytes: Uint8Array, count: number, signed: boolean): Int8Array | Uint8Array {
  if (count > bytes.length * 2) throw new RangeError(`${count} nibbles do not fit in ${bytes.length} bytes`);
  const out = signed ? new Int8Array(count) : new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const b = bytes[i >> 1];
    const nib = i & 1 ? (b >> 4) & 0x0f : b & 0x0f;
    out[i] = signed && nib >= 8 ? nib - 16 : nib;
  }
  return out;
}
