import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../runtime/backends.js';
import { importTfjs } from '../index.js';
import { compareLayersModel, relativeMaxDiff, runGraph, saveLayersModel } from '../testSupport.js';

const TOL = 1e-5;

beforeAll(async () => {
  await initBackend('wasm');
});

/** Random non-trivial BN statistics so that a wrong axis or a dropped statistic shows. */
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

async function expectMatches(model: tf.LayersModel, inputShapes: number[][]): Promise<number[]> {
  const before = tf.memory().numTensors;
  const inputs = inputShapes.map((s, i) => tf.randomNormal(s, 0, 1, 'float32', 100 + i));
  const { diffs } = await compareLayersModel(model, inputs);
  tf.dispose(inputs);
  expect(tf.memory().numTensors).toBe(before);
  for (const d of diffs) expect(d).toBeLessThan(TOL);
  return diffs;
}

describe('importTfjs: layers models', () => {
  it('sequential conv net: Conv2D same/valid, bias on/off, fused activations, BN, pools, Flatten, Dense softmax', async () => {
    const model = tf.sequential({
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
    randomizeBatchNorms(model);
    await expectMatches(model, [[2, 9, 9, 3]]);
    model.dispose();
  });

  it('depthwise, separable and transposed convolutions, activations and padding layers', async () => {
    const model = tf.sequential({
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
    await expectMatches(model, [[2, 7, 8, 3]]);
    model.dispose();
  });

  it('activation layers: ReLU(max_value), LeakyReLU, PReLU, ELU, Softmax, Rescaling, Reshape, Permute, GlobalMaxPooling', async () => {
    const model = tf.sequential({
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
    await expectMatches(model, [[2, 6, 6, 2]]);
    model.dispose();
  });

  it('channels_first layers', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [3, 6, 6], filters: 4, kernelSize: 3, padding: 'same', dataFormat: 'channelsFirst', activation: 'relu' }),
        tf.layers.batchNormalization({ axis: 1 }),
        tf.layers.maxPooling2d({ poolSize: 2, dataFormat: 'channelsFirst' }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 3 }),
      ],
    });
    // Default BN statistics here: tfjs-layers predicts wrongly with non-default statistics on axis 1 (next test).
    await expectMatches(model, [[2, 3, 6, 6]]);
    model.dispose();
  });

  it('BN over axis 1 follows the Keras formula (where tfjs-layers predict itself is off)', async () => {
    const model = tf.sequential({ layers: [tf.layers.batchNormalization({ inputShape: [3, 4, 4], axis: 1, epsilon: 1e-3 })] });
    randomizeBatchNorms(model, 13);
    const [g, b, mu, v] = model.layers[0].getWeights();
    const x = tf.randomNormal([2, 3, 4, 4], 0, 1, 'float32', 21);
    const r = (t: tf.Tensor) => t.reshape([1, 3, 1, 1]);
    const manual = tf.tidy(() => x.sub(r(mu)).div(r(v).add(1e-3).sqrt()).mul(r(g)).add(r(b)));
    const graph = importTfjs(await saveLayersModel(model));
    const [ours] = runGraph(graph, { [graph.inputs[0].name]: x });
    expect(relativeMaxDiff(ours, manual)).toBeLessThan(TOL);
    tf.dispose([x, manual, ours]);
    model.dispose();
  });

  it('functional model: shared input, shared layer, Add/Multiply/Concatenate/Average/Maximum/Minimum/Subtract, two outputs', async () => {
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
    const model = tf.model({ inputs: [input, side], outputs: [bn, logits] });
    randomizeBatchNorms(model, 11);
    const diffs = await expectMatches(model, [[2, 6, 6, 3], [2, 5]]);
    expect(diffs).toHaveLength(2);
    model.dispose();
  });

  it('keeps the interface NHWC with NCHW convolutions inside, and BN statistics intact', async () => {
    const model = tf.sequential({
      layers: [tf.layers.conv2d({ inputShape: [5, 5, 3], filters: 4, kernelSize: 3, useBias: false, name: 'c1' }), tf.layers.batchNormalization({ name: 'bn1', epsilon: 0.01 })],
    });
    randomizeBatchNorms(model, 5);
    const graph = importTfjs(await saveLayersModel(model));
    expect(graph.format).toBe('tfjs-layers');
    expect(graph.interfaceLayout).toBe('NHWC');
    expect(graph.inputs[0].shape).toEqual(['N', 5, 5, 3]);
    expect(graph.outputs[0].shape).toEqual(['N', 3, 3, 4]);
    const ops = graph.nodes.map((n) => n.opType);
    expect(ops).toEqual(['Transpose', 'Conv', 'BatchNormalization', 'Transpose']);
    const bnNode = graph.nodes.find((n) => n.opType === 'BatchNormalization')!;
    expect(bnNode.attrs.epsilon).toBeCloseTo(0.01, 8);
    const bnLayer = model.getLayer('bn1');
    const [gamma, beta, mean, variance] = bnLayer.getWeights().map((w) => w.dataSync());
    const [, scaleName, biasName, meanName, varName] = bnNode.inputs;
    expect(Array.from(graph.initializers.get(scaleName)!.data)).toEqual(Array.from(gamma));
    expect(Array.from(graph.initializers.get(biasName)!.data)).toEqual(Array.from(beta));
    expect(Array.from(graph.initializers.get(meanName)!.data)).toEqual(Array.from(mean));
    expect(Array.from(graph.initializers.get(varName)!.data)).toEqual(Array.from(variance));
    expect(Array.from(mean).some((v) => v !== 0)).toBe(true);
    model.dispose();
  });

  it('BN with center/scale off gets beta 0 / gamma 1', async () => {
    const model = tf.sequential({ layers: [tf.layers.batchNormalization({ inputShape: [4, 4, 2], center: false, scale: false, name: 'bn' })] });
    randomizeBatchNorms(model, 9);
    const graph = importTfjs(await saveLayersModel(model));
    const bn = graph.nodes.find((n) => n.opType === 'BatchNormalization')!;
    expect(Array.from(graph.initializers.get(bn.inputs[1])!.data)).toEqual([1, 1]);
    expect(Array.from(graph.initializers.get(bn.inputs[2])!.data)).toEqual([0, 0]);
    await expectMatches(model, [[2, 4, 4, 2]]);
    model.dispose();
  });
});
