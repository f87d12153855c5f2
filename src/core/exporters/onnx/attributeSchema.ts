/**
 * The IR keeps attribute numbers as plain JS numbers, so INT and FLOAT cannot be told apart by value.
 * The ONNX writer uses these tables (attribute names of the supported ops, and of common ops beyond
 * them) to restore the type: a name listed here is FLOAT / FLOATS, any other number is INT / INTS,
 * except that a non-integer value is always written as FLOAT(S) rather than truncated.
 */
export const FLOAT_ATTRS = new Set([
  'alpha', // LeakyRelu, HardSigmoid, Gemm, Elu, Selu
  'beta', // HardSigmoid, Gemm
  'gamma', // Selu
  'epsilon', // BatchNormalization, LayerNormalization, InstanceNormalization
  'momentum', // BatchNormalization
  'ratio', // Dropout before opset 12
  'cubic_coeff_a', // Resize
  'extrapolation_value', // Resize
  'min', // Clip before opset 11
  'max', // Clip before opset 11
  'lambd', // Shrink, HardShrink
  'bias', // LRN, Shrink
  'spatial_scale', // RoiAlign
  'threshold', // ThresholdedRelu
  'seed', // RandomNormal, Dropout (float in ONNX)
  'value_float', // Constant
  'mean', // RandomNormal
  'scale', // RandomNormal, ImageScaler
]);

export const FLOATS_ATTRS = new Set(['scales', 'value_floats', 'bias_values']);

export type OnnxAttrKind = 'INT' | 'FLOAT' | 'INTS' | 'FLOATS' | 'STRING' | 'STRINGS' | 'TENSOR' | 'GRAPH';

/** The ONNX attribute type to write for an IR attribute value. */
export function attrKind(name: string, value: unknown): OnnxAttrKind {
  if (typeof value === 'string') return 'STRING';
  if (typeof value === 'number') return FLOAT_ATTRS.has(name) || !Number.isInteger(value) ? 'FLOAT' : 'INT';
  if (Array.isArray(value)) {
    if (value.length > 0 && value.every((v) => typeof v === 'string')) return 'STRINGS';
    return FLOATS_ATTRS.has(name) || FLOAT_ATTRS.has(name) || !(value as number[]).every(Number.isInteger) ? 'FLOATS' : 'INTS';
  }
  if (typeof value === 'object' && value !== null && 'nodes' in value) return 'GRAPH';
  return 'TENSOR';
}
