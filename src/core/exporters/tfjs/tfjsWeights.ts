/**
 * Weight storage for a TF.js graph model: float32 / int32 tensors as they are, and quantized layer
 * weights as TF.js per-tensor affine codes (value = q * scale + min, uint8 or uint16).
 */

export interface TfjsQuantization {
  dtype: 'uint8' | 'uint16';
  scale: number;
  min: number;
}

export interface TfjsWeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  quantization?: TfjsQuantization;
}

export interface EncodedWeight {
  spec: TfjsWeightSpec;
  bytes: Uint8Array;
}

export function encodeFloat(name: string, shape: number[], values: Float32Array): EncodedWeight {
  return { spec: { name, shape, dtype: 'float32' }, bytes: new Uint8Array(values.slice().buffer) };
}

export function encodeInt(name: string, shape: number[], values: Int32Array): EncodedWeight {
  return { spec: { name, shape, dtype: 'int32' }, bytes: new Uint8Array(values.slice().buffer) };
}

/**
 * Integer codes with one scale per group of elements (`scaleOf(i)`), as a TF.js per-tensor affine tensor.
 * When every scale is the same the codes map exactly onto uint8 (q = code - minCode). Otherwise no single
 * uint8 grid holds every channel's grid, so the dequantized values are stored on a uint16 grid spanning
 * [min, max] (error at most (max - min) / 131070 per element).
 */
export function encodeQuantized(name: string, shape: number[], codes: ArrayLike<number>, scaleOf: (i: number) => number, uniformScale: number | null): { weight: EncodedWeight; exact: boolean } {
  const n = codes.length;
  if (uniformScale !== null) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      lo = Math.min(lo, codes[i]);
      hi = Math.max(hi, codes[i]);
    }
    if (n === 0) lo = hi = 0;
    if (hi - lo <= 255) {
      const q = new Uint8Array(n);
      for (let i = 0; i < n; i++) q[i] = codes[i] - lo;
      return { weight: { spec: { name, shape, dtype: 'float32', quantization: { dtype: 'uint8', scale: uniformScale, min: lo * uniformScale } }, bytes: q }, exact: true };
    }
  }
  const values = new Float32Array(n);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    values[i] = Math.fround(codes[i] * scaleOf(i));
    lo = Math.min(lo, values[i]);
    hi = Math.max(hi, values[i]);
  }
  if (n === 0) lo = hi = 0;
  const scale = hi > lo ? (hi - lo) / 65535 : 1;
  const q = new Uint16Array(n);
  for (let i = 0; i < n; i++) q[i] = Math.max(0, Math.min(65535, Math.round((values[i] - lo) / scale)));
  return { weight: { spec: { name, shape, dtype: 'float32', quantization: { dtype: 'uint16', scale, min: lo } }, bytes: new Uint8Array(q.buffer) }, exact: false };
}
