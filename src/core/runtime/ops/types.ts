import type * as tf from '@tensorflow/tfjs';
import type { Node, TensorData } from '../../ir/types.js';

/**
 * A value as the executor holds it: `nhwc` is true when a 4-D value (NCHW in the graph) is stored
 * channels-last. Every other value is stored in its graph layout.
 */
export interface HeldValue {
  tensor: tf.Tensor;
  nhwc: boolean;
}

/** What an op implementation sees of the running graph. */
export interface OpContext {
  readonly node: Node;
  readonly opset: number;
  /** Whether input i is given (present and not ''). */
  has(i: number): boolean;
  /** Input i as held (either layout). */
  held(i: number): HeldValue;
  /** Input i in graph layout (NCHW for 4-D). */
  plain(i: number): tf.Tensor;
  /** Input i (4-D) channels-last. */
  nhwc(i: number): tf.Tensor;
  /** Input i after the op's weight transform (`OpSpec.weightTransform`), cached for initializers. */
  weight(i: number): tf.Tensor;
  /** Input i read on the JS side (initializer, else the runtime tensor's values); undefined when absent. */
  constant(i: number): TensorData | undefined;
  /** Input i when it is known on the JS side without reading a runtime tensor (an initializer). */
  known(i: number): TensorData | undefined;
  /** Graph-layout shape of input i. */
  shape(i: number): number[];
}

export interface OpSpec {
  run(ctx: OpContext): HeldValue[];
  /** Inputs read on the JS side (shapes, axes, pads...): an initializer there needs no tfjs tensor. */
  constInputs?: readonly number[];
  /**
   * A transform applied to a weight input before use (e.g. OIHW -> HWIO for tf.conv2d). For an
   * initializer it runs once when the executor is built; for an override, on every call (differentiable).
   */
  weightTransform?: (node: Node, inputIndex: number, dims: number[]) => ((w: tf.Tensor) => tf.Tensor) | undefined;
}

export const plainValue = (tensor: tf.Tensor): HeldValue => ({ tensor, nhwc: false });
export const nhwcValue = (tensor: tf.Tensor): HeldValue => ({ tensor, nhwc: true });
