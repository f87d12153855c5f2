import { ACTIVATION_OPS } from './activation.js';
import { CONV_OPS } from './conv.js';
import { DEPTH_SPACE_OPS } from './depthSpace.js';
import { ELEMENTWISE_OPS } from './elementwise.js';
import { MATMUL_OPS } from './matmul.js';
import { NORMALIZATION_OPS } from './normalization.js';
import { POOL_OPS } from './pool.js';
import { POSTPROCESS_OPS } from './postprocess.js';
import { QUANTIZE_OPS } from './quantize.js';
import { REDUCE_OPS } from './reduce.js';
import { RESIZE_OPS } from './resize.js';
import { SHAPE_OPS } from './shape.js';
import { SLICING_OPS } from './slicing.js';
import type { OpSpec } from './types.js';

/** Every ONNX op the executor runs, by op type (default domain). */
export const OPS: Readonly<Record<string, OpSpec>> = {
  ...CONV_OPS,
  ...POOL_OPS,
  ...NORMALIZATION_OPS,
  ...ACTIVATION_OPS,
  ...ELEMENTWISE_OPS,
  ...MATMUL_OPS,
  ...SHAPE_OPS,
  ...DEPTH_SPACE_OPS,
  ...SLICING_OPS,
  ...REDUCE_OPS,
  ...RESIZE_OPS,
  ...QUANTIZE_OPS,
  ...POSTPROCESS_OPS,
};

export type { HeldValue, OpContext, OpSpec } from './types.js';
