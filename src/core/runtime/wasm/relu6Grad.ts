import * as tf from '@tensorflow/tfjs';

/**
 * Gradient of Relu6 as step(x) - step(x - 6): 1 on (0, 6], 0 elsewhere, the same mask as tfjs 4.22's
 * lessEqual(x, 6) * step(x), with no boolean tensor and casts. On wasm, LessEqual against a scalar is a slow
 * broadcasting kernel: it was 11 % of a MobileNetV2-224 synthesis step (34 ReLU6), twice the time of the
 * step-based mask. Backend-agnostic (registered for every backend).
 */
export const relu6Grad: tf.GradConfig = {
  kernelName: 'Relu6',
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => {
    const [x] = saved;
    return { x: () => tf.mul(dy as tf.Tensor, tf.sub(tf.step(x), tf.step(tf.sub(x, 6)))) };
  },
};
