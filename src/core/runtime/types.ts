import type * as tf from '@tensorflow/tfjs';

/**
 * Contract of the tfjs executor (implemented in ./executor.ts).
 *
 * Values inside the executor may be held channels-last (NHWC) for speed, because tfjs convolutions are
 * NHWC-native; the graph's semantics stay NCHW. `layout` tells a caller how a captured 4-D tensor is
 * laid out. Graph inputs and outputs are always in the graph's declared (ONNX, NCHW) layout.
 */
export type TensorLayout = 'NCHW' | 'NHWC' | 'plain';

export interface CapturedTensor {
  tensor: tf.Tensor;
  /** 'NHWC' when a 4-D value is held channels-last; 'plain' for anything not 4-D. */
  layout: TensorLayout;
}

/** Called for every value a node produces, before any consumer sees it (fake quantization, taps). */
export type ValueHook = (valueName: string, value: CapturedTensor) => tf.Tensor | undefined;

export interface ExecuteOptions {
  /** Value names to return besides the graph outputs; the caller owns (must dispose) them. */
  capture?: Iterable<string>;
  /** Tensors to use instead of initializers of the same name (trainable or fake-quantized weights). Not disposed. */
  overrides?: Map<string, tf.Tensor>;
  /** Replace a produced value (same layout as given); return undefined to leave it. */
  hook?: ValueHook;
  /**
   * Values the hook is called for (default: every value). With it, values outside the set may be
   * computed inside fused kernels (Conv+BN+Relu), so a hooked run is as fast as a plain one.
   */
  hookValues?: Iterable<string>;
  /** Stop after all captured values exist (skip the rest of the graph). */
  stopAfterCaptures?: boolean;
  /**
   * Values already computed (by an earlier run, in the layout given): the run starts from them instead
   * of recomputing their producers, and graph inputs are needed only where the run still reads them.
   * The hook is not applied to them again. Not disposed; a captured start value comes back as a clone.
   * Used with `capture` + `stopAfterCaptures` to walk a graph in steps (runtime/valueStream.ts).
   */
  start?: Map<string, CapturedTensor>;
}

export interface ExecuteResult {
  /** Graph outputs by name (NCHW semantics). Owned by the caller. */
  outputs: Map<string, tf.Tensor>;
  captured: Map<string, CapturedTensor>;
}
