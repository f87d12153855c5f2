import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../../runtime/backends.js';
import { importTfjs } from '../index.js';
import { activationLayersNet, channelsFirstNet, convVariantsNet, functionalNet, randomizeBatchNorms, sequentialConvNet } from './testModels.js';
import { compareLayersModel, relativeMaxDiff, runGraph, saveLayersModel } from '../testSupport.js';

const TOL = 1e-5;

beforeAll(async () => {
  await initBackend('wasm');
});

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
    const model = sequentialConvNet();
    randomizeBatchNorms(model);
    await expectMatches(model, [[2, 9, 9, 3]]);
    model.dispose();
  });

  it('depthwise, separable and transposed convolutions, activations and padding layers', async () => {
    const model = convVariantsNet();
    await expectMatches(model, [[2, 7, 8, 3]]);
    model.dispose();
  });

  it('activation layers: ReLU(max_value), LeakyReLU, PReLU, ELU, Softmax, Rescaling, Reshape, Permute, GlobalMaxPooling', async () => {
    const model = activationLayersNet();
    await expectMatches(model, [[2, 6, 6, 2]]);
    model.dispose();
  });

  it('channels_first layers', async () => {
    const model = channelsFirstNet();
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
    const model = functionalNet();
    randomizeBatchNorms(model, 11);
    const diffs = await expectMatches(model, [[2, 6, 6, 3], [2, 5]]);
    expect(diffs).toHaveLength(2);
    // The shared layer's two calls read one kernel.
    const graph = importTfjs(await saveLayersModel(model));
    const sharedConvs = graph.nodes.filter((n) => n.opType === 'Conv' && n.name.startsWith('shared'));
    expect(sharedConvs).toHaveLength(2);
    expect(sharedConvs[0].inputs[1]).toBe(sharedConvs[1].inputs[1]);
    expect(graph.inputs.map((i) => i.name)).toEqual(['image', 'side']);
    expect(graph.outputs.map((o) => o.name)).toEqual(['bn', 'logits']);
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
