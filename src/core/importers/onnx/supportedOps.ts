/**
 * The ONNX operators LocalQuant imports (default domain '' / 'ai.onnx', opsets 7..21). The tfjs executor
 * implements exactly these, in the normalized forms below; any other operator is refused at import.
 *
 * Normalized forms (what the importer hands downstream, whatever opset the file declared). They are the
 * opset-13 forms, except Reduce* axes which stay an attribute:
 *  - Constant: gone; its value is an initializer named after its output.
 *  - Clip: min and max are inputs 1 and 2 ('' when absent), never attributes (opset < 11 attrs moved).
 *  - Slice: starts, ends, axes, steps are inputs (opset < 10 attrs moved to int64 initializers).
 *  - Pad: pads is input 1, constant_value input 2 (opset < 11 attrs moved); `mode` stays an attribute;
 *    an opset-18 `axes` input 3 is kept when the file has one.
 *  - Squeeze / Unsqueeze: axes is input 1 (opset < 13 attr moved).
 *  - ReduceMean / ReduceSum: axes is the ints attribute `axes` (a constant axes input, as opset 13 ReduceSum
 *    and opset 18 ReduceMean have it, is moved to the attribute); no `axes` = all axes (unless
 *    noop_with_empty_axes = 1, kept as an attribute). The ONNX writer moves it back to an input for
 *    opsets where ONNX wants one.
 *  - Split: the split sizes are input 1 (opset < 13 attr moved); opset 18 `num_outputs` is kept as given.
 *  - Upsample (opset 7-9) and Resize opset 10: become opset-11+ Resize with inputs [X, roi '', scales]
 *    and attrs mode, coordinate_transformation_mode 'asymmetric', nearest_mode 'floor' (their semantics).
 *    Every Resize carries explicit mode / coordinate_transformation_mode / nearest_mode attributes.
 *  - BatchNormalization: one output (training-mode outputs dropped; the model must not use them);
 *    opset < 9 `spatial` attribute dropped (spatial = 0 is refused).
 *  - Dropout: one output, one input (inference: identity); mask output must be unused.
 *  - Softmax opset < 13 (flattens to 2-D at `axis`): becomes Shape + Flatten(axis) + Softmax(axis=1) +
 *    Reshape back, which is exact; opset 13+ Softmax is kept (axis default -1 made explicit).
 *  - Cast: `to` is the ONNX TensorProto data type number; to FLOAT16/BFLOAT16 becomes to FLOAT (1), as
 *    float16 tensors, inputs and outputs are float32 in the IR.
 *  - Conv / pools: auto_pad kept as given (shape inference and the executor resolve it).
 * Attributes are numbers, number[], string or TensorData; the ONNX writer tells INT from FLOAT with the
 * table in exporters/onnx/attributeSchema.ts.
 */
export const SUPPORTED_ONNX_OPS = [
  'Conv',
  'ConvTranspose',
  'BatchNormalization',
  'Relu',
  'LeakyRelu',
  'PRelu',
  'Clip',
  'Sigmoid',
  'HardSigmoid',
  'HardSwish',
  'Tanh',
  'Softmax',
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Pow',
  'Sqrt',
  'Neg',
  'Abs',
  'Exp',
  'MatMul',
  'Gemm',
  'Flatten',
  'Reshape',
  'Transpose',
  'Squeeze',
  'Unsqueeze',
  'Concat',
  'Split',
  'Slice',
  'Pad',
  'MaxPool',
  'AveragePool',
  'GlobalAveragePool',
  'GlobalMaxPool',
  'ReduceMean',
  'ReduceSum',
  'Resize',
  'DepthToSpace',
  'SpaceToDepth',
  'Identity',
  'Dropout',
  'Shape',
  'Gather',
  'Cast',
  'ConstantOfShape',
  'Expand',
  'QuantizeLinear',
  'DequantizeLinear',
  // detection post-processing: the float tail (ir/cut.ts), run forward-only by runtime/ops/postprocess.ts
  'Equal',
  'Greater',
  'GreaterOrEqual',
  'Less',
  'LessOrEqual',
  'Not',
  'And',
  'Or',
  'Where',
  'TopK',
  'ArgMax',
  'ArgMin',
  'NonMaxSuppression',
  'NonZero',
  'GatherND',
  'Floor',
  'Mod',
  'Tile',
  'Range',
] as const;

export type SupportedOnnxOp = (typeof SUPPORTED_ONNX_OPS)[number];

/** Ops accepted in a file but rewritten by the importer (never seen downstream). */
export const NORMALIZED_AWAY_OPS = ['Constant', 'Upsample'] as const;

const SUPPORTED = new Set<string>([...SUPPORTED_ONNX_OPS, ...NORMALIZED_AWAY_OPS]);

export function isSupportedOnnxOp(opType: string): boolean {
  return SUPPORTED.has(opType);
}

export const MIN_ONNX_OPSET = 7;
export const MAX_ONNX_OPSET = 21;
