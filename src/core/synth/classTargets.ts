import * as tf from '@tensorflow/tfjs';

/**
 * Class-conditional synthesis (DeepInversion): every image gets a target class, and a cross-entropy term
 * on the model's logits pulls the image towards it. Classes go round robin over the images (image i gets
 * class i mod classes), so that every batch and the whole set hold the classes as evenly as the counts allow.
 */
export function roundRobinTargets(numImages: number, classes: number): Int32Array {
  return Int32Array.from({ length: numImages }, (_, i) => i % classes);
}

/** One-hot rows [n, classes] of targets[start, start + n): the labels of one synthesis batch. */
export function oneHotBatch(targets: Int32Array, start: number, n: number, classes: number): tf.Tensor2D {
  return tf.tidy(() => tf.oneHot(tf.tensor1d(targets.subarray(start, start + n), 'int32'), classes).toFloat() as tf.Tensor2D);
}

/**
 * Mean cross-entropy of logits [n, classes] (or [n, classes, 1, 1]) against one-hot rows: log-softmax
 * written out (logSumExp - target logit) so that the gradient stays finite for confident logits.
 */
export function classCrossEntropy(logits: tf.Tensor, oneHot: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const z = logits.reshape(oneHot.shape) as tf.Tensor2D;
    const picked = tf.sum(tf.mul(z, oneHot), 1);
    return tf.mean(tf.sub(tf.logSumExp(z, 1), picked)) as tf.Scalar;
  });
}

/** How many rows of logits have their largest value at the target class. */
export function countTargetHits(logits: tf.Tensor, oneHot: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const z = logits.reshape(oneHot.shape) as tf.Tensor2D;
    return tf.sum(tf.equal(tf.argMax(z, 1), tf.argMax(oneHot, 1)).toFloat()) as tf.Scalar;
  });
}
