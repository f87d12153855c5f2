import type { DType } from './types.js';

/**
 * ONNX TensorProto.DataType numbers. onnx-proto (ONNX 1.10) lacks the enum members for the 4-bit types,
 * but the numbers are what goes on the wire: UINT4 = 21, INT4 = 22. In ir/ because the IR's dtypes are
 * ONNX's: the importers, the exporters and ir's own shape inference and constant folding all map through it.
 */
export const ONNX_DTYPE: Record<DType, number> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  uint16: 4,
  int16: 5,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
  uint4: 21,
  int4: 22,
};

const BY_NUMBER = new Map<number, DType>(Object.entries(ONNX_DTYPE).map(([k, v]) => [v, k as DType]));

export const ONNX_DTYPE_NAMES: Record<number, string> = {
  0: 'UNDEFINED', 1: 'FLOAT', 2: 'UINT8', 3: 'INT8', 4: 'UINT16', 5: 'INT16', 6: 'INT32', 7: 'INT64', 8: 'STRING',
  9: 'BOOL', 10: 'FLOAT16', 11: 'DOUBLE', 12: 'UINT32', 13: 'UINT64', 14: 'COMPLEX64', 15: 'COMPLEX128',
  16: 'BFLOAT16', 17: 'FLOAT8E4M3FN', 18: 'FLOAT8E4M3FNUZ', 19: 'FLOAT8E5M2', 20: 'FLOAT8E5M2FNUZ', 21: 'UINT4', 22: 'INT4',
};

/** The IR dtype for an ONNX data type number, or undefined when the IR has none. */
export function dtypeFromOnnx(n: number): DType | undefined {
  return BY_NUMBER.get(n);
}

/** IR version released with each opset (ORT rejects a model whose IR version is too old for its opset). */
export function irVersionForOpset(opset: number): number {
  if (opset >= 21) return 10;
  if (opset >= 19) return 9;
  if (opset >= 15) return 8;
  if (opset >= 12) return 7;
  if (opset === 11) return 6;
  if (opset === 10) return 5;
  if (opset === 9) return 4;
  return 3;
}
