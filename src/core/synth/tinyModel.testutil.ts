import * as tf from '@tensorflow/tfjs';
import type { CapturedTensor } from '../runtime/types.js';
import type { BatchNormStats } from './batchNormStats.js';
import { SeededRandom } from './prng.js';
import type { SynthesisModel } from './synthesizer.js';

/**
 * A hand-written differentiable model for synthesis tests (no importer/executor needed):
 * NCHW input -> NHWC -> Conv3x3(c->4) -> [BN a] -> relu -> Conv3x3(4->6) -> [BN b]; with `classes`, a
 * classifier head on top: global average pool -> Dense(6->classes) -> logits (captured as 'logits').
 * Weights and BN statistics are seeded. The caller disposes `weights`.
 */
export function tinySynthesisModel(channels = 3, size = 8, seed = 1, classes = 0): SynthesisModel & { weights: tf.Tensor[] } {
  const rng = new SeededRandom(seed);
  const w1 = tf.tensor4d(rng.normalArray(9 * channels * 4).map((v) => v * 0.4), [3, 3, channels, 4]);
  const w2 = tf.tensor4d(rng.normalArray(9 * 4 * 6).map((v) => v * 0.3), [3, 3, 4, 6]);
  const stat = (name: string, input: string, c: number): BatchNormStats => ({
    nodeName: name,
    inputValue: input,
    mean: Float32Array.from({ length: c }, () => rng.normal() * 0.5),
    variance: Float32Array.from({ length: c }, () => 0.5 + rng.next()),
    epsilon: 1e-5,
    channels: c,
  });
  const batchNorms = [stat('bn_a', 'conv_a_out', 4), stat('bn_b', 'conv_b_out', 6)];
  const [a] = batchNorms;
  const aMean = tf.tensor1d(a.mean);
  const aStd = tf.tensor1d(Float32Array.from(a.variance, (v) => Math.sqrt(v + a.epsilon)));
  const w3 = classes > 0 ? tf.tensor2d(rng.normalArray(6 * classes), [6, classes]) : null;
  return {
    imageShape: [channels, size, size],
    batchNorms,
    ...(classes > 0 ? { classifier: { value: 'logits', classes } } : {}),
    weights: [w1, w2, aMean, aStd, ...(w3 ? [w3] : [])],
    captureBatchNormInputs(images) {
      const x = tf.transpose(images, [0, 2, 3, 1]);
      const c1 = tf.conv2d(x as tf.Tensor4D, w1, 1, 'same');
      const h = tf.relu(tf.div(tf.sub(c1, aMean), aStd)) as tf.Tensor4D;
      const c2 = tf.conv2d(h, w2, 1, 'same');
      const captured = new Map<string, CapturedTensor>([
        ['conv_a_out', { tensor: c1, layout: 'NHWC' as const }],
        ['conv_b_out', { tensor: c2, layout: 'NHWC' as const }],
      ]);
      if (w3) captured.set('logits', { tensor: tf.matMul(tf.mean(c2, [1, 2]) as tf.Tensor2D, w3), layout: 'NCHW' as const });
      return captured;
    },
  };
}
