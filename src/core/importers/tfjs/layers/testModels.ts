import * as tf from '@tensorflow/tfjs';

/** Small tfjs layers models covering every translated layer class (shared by the executor and ORT tests). */

export /** Random non-trivial BN statistics so that a wrong axis or a dropped statistic shows. */
function randomizeBatchNorms(model: tf.LayersModel, seed = 1): void {
  let s = seed;
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const ws = layer.getWeights();
    const fresh = ws.map((w, i) => {
      const name = layer.weights[i].originalName;
      const shape = w.shape;
      if (name.endsWith('moving_variance')) return tf.randomUniform(shape, 0.5, 2, 'float32', s++);
      if (name.endsWith('gamma')) return tf.randomUniform(shape, 0.5, 1.5, 'float32', s++);
      return tf.randomNormal(shape, 0, 0.5, 'float32', s++);
    });
    layer.setWeights(fresh);
    tf.dispose(fresh);
  }
}

/** Conv2D same/valid, bias on/off, fused activations, BN, pools, Flatten, Dense. Input [N, 9, 9, 3]. */
export function sequentialConvNet(): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [9, 9, 3], filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
      tf.layers.batchNormalization({ epsilon: 1e-3 }),
      tf.layers.conv2d({ filters: 5, kernelSize: [2, 3], padding: 'valid', useBias: false, activation: 'relu6' }),
      tf.layers.conv2d({ filters: 5, kernelSize: 3, padding: 'same', dilationRate: 2, activation: 'swish' }),
      tf.layers.maxPooling2d({ poolSize: 2, strides: 1, padding: 'same' }),
      tf.layers.averagePooling2d({ poolSize: 2, padding: 'valid' }),
      tf.layers.flatten(),
      tf.layers.dropout({ rate: 0.5 }),
      tf.layers.dense({ units: 7, activation: 'tanh' }),
      tf.layers.dense({ units: 3, activation: 'softmax', useBias: false }),
    ],
  });
}

/** ZeroPadding, depthwise, separable, transposed convs, Cropping, UpSampling, GAP, softmax. Input [N, 7, 8, 3]. */
export function convVariantsNet(): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.zeroPadding2d({ inputShape: [7, 8, 3], padding: [[1, 2], [0, 1]] }),
      tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, strides: 2, padding: 'same', activation: 'elu' }),
      tf.layers.separableConv2d({ filters: 4, kernelSize: 3, padding: 'same', depthMultiplier: 2, activation: 'selu' }),
      tf.layers.conv2dTranspose({ filters: 3, kernelSize: 3, strides: 2, padding: 'same', activation: 'sigmoid' }),
      tf.layers.conv2dTranspose({ filters: 2, kernelSize: 2, strides: 2, padding: 'valid', activation: 'hardSigmoid' }),
      tf.layers.conv2dTranspose({ filters: 2, kernelSize: 1, strides: 2, padding: 'valid', useBias: false }),
      tf.layers.cropping2D({ cropping: [[1, 2], [3, 0]] }),
      tf.layers.upSampling2d({ size: [2, 1] }),
      tf.layers.upSampling2d({ size: [1, 2], interpolation: 'bilinear' }),
      tf.layers.activation({ activation: 'linear' }),
      tf.layers.globalAveragePooling2d({}),
      tf.layers.activation({ activation: 'softmax' }),
    ],
  });
}

/** ReLU(max_value), LeakyReLU, PReLU, ELU, Rescaling, Reshape, Permute, Softmax, GlobalMaxPooling. Input [N, 6, 6, 2]. */
export function activationLayersNet(): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [6, 6, 2], filters: 4, kernelSize: 1 }),
      tf.layers.reLU({ maxValue: 0.7 }),
      tf.layers.conv2d({ filters: 4, kernelSize: 1 }),
      tf.layers.leakyReLU({ alpha: 0.15 }),
      tf.layers.conv2d({ filters: 4, kernelSize: 1 }),
      tf.layers.prelu({ alphaInitializer: tf.initializers.randomUniform({ minval: 0.05, maxval: 0.5, seed: 3 }), sharedAxes: [1, 2] }),
      tf.layers.conv2d({ filters: 4, kernelSize: 1 }),
      tf.layers.elu(),
      tf.layers.rescaling({ scale: 0.5, offset: 0.25 }),
      tf.layers.conv2d({ filters: 4, kernelSize: 1 }),
      tf.layers.prelu({ alphaInitializer: tf.initializers.randomUniform({ minval: 0.05, maxval: 0.5, seed: 4 }) }),
      tf.layers.reshape({ targetShape: [3, 12, 4] }),
      tf.layers.permute({ dims: [2, 1, 3] }),
      tf.layers.conv2d({ filters: 3, kernelSize: 2 }),
      tf.layers.softmax({ axis: -1 }),
      tf.layers.globalMaxPooling2d({}),
    ],
  });
}

/** channels_first Conv2D / BN(axis 1) / MaxPooling, Flatten, Dense. Input [N, 3, 6, 6]. */
export function channelsFirstNet(): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [3, 6, 6], filters: 4, kernelSize: 3, padding: 'same', dataFormat: 'channelsFirst', activation: 'relu' }),
      tf.layers.batchNormalization({ axis: 1 }),
      tf.layers.maxPooling2d({ poolSize: 2, dataFormat: 'channelsFirst' }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 3 }),
    ],
  });
}

/** Two inputs (image [N, 6, 6, 3], side [N, 5]), shared conv layer, merges, BN, two outputs. */
export function functionalNet(): tf.LayersModel {
  const input = tf.input({ shape: [6, 6, 3], name: 'image' });
  const side = tf.input({ shape: [5], name: 'side' });
  const a = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'branch_a' }).apply(input) as tf.SymbolicTensor;
  const b = tf.layers.conv2d({ filters: 4, kernelSize: 1, name: 'branch_b' }).apply(input) as tf.SymbolicTensor;
  const shared = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'shared' });
  const sa = shared.apply(a) as tf.SymbolicTensor;
  const sb = shared.apply(b) as tf.SymbolicTensor;
  const sum = tf.layers.add().apply([sa, sb, a]) as tf.SymbolicTensor;
  const prod = tf.layers.multiply().apply([sum, b]) as tf.SymbolicTensor;
  const avg = tf.layers.average().apply([prod, sa]) as tf.SymbolicTensor;
  const mx = tf.layers.maximum().apply([avg, sb]) as tf.SymbolicTensor;
  const mn = tf.layers.minimum().apply([mx, a]) as tf.SymbolicTensor;
  const cat = tf.layers.concatenate({ axis: -1 }).apply([mn, b]) as tf.SymbolicTensor;
  const bn = tf.layers.batchNormalization({ name: 'bn' }).apply(cat) as tf.SymbolicTensor;
  const pooled = tf.layers.globalAveragePooling2d({}).apply(bn) as tf.SymbolicTensor;
  const joined = tf.layers.concatenate().apply([pooled, side]) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ units: 3, activation: 'softmax', name: 'logits' }).apply(joined) as tf.SymbolicTensor;
  return tf.model({ inputs: [input, side], outputs: [bn, logits] });
}
