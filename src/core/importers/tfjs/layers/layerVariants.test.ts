import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { prepareGraph } from '../../../ir/prepare.js';
import type { ModelFile } from '../../../ir/types.js';
import { initBackend } from '../../../runtime/backends.js';
import { importTfjs } from '../index.js';
import { jsonFile, relativeMaxDiff, runGraph, saveLayersModel } from '../testSupport.js';
import { randomizeBatchNorms, sequentialConvNet } from './testModels.js';

/** Config and weight-name variants real layers models come in, and the hand-off to prepareGraph. */

beforeAll(async () => {
  await initBackend('wasm');
});

async function predictDiff(model: tf.LayersModel, files: ModelFile[], shape: number[]): Promise<number> {
  const graph = importTfjs(files);
  const x = tf.randomNormal(shape, 0, 1, 'float32', 77);
  const ref = model.predict(x) as tf.Tensor;
  const [ours] = runGraph(graph, { [graph.inputs[0].name]: x });
  const d = relativeMaxDiff(ours, ref);
  tf.dispose([x, ref, ours]);
  return d;
}

function editJson(files: ModelFile[], edit: (json: Record<string, any>) => void): ModelFile[] {
  const json = JSON.parse(new TextDecoder().decode(files[0].bytes));
  edit(json);
  return [jsonFile('model.json', json), ...files.slice(1)];
}

describe('layers model variants', () => {
  it('a nested model (a functional backbone inside a Sequential, as Teachable Machine exports) is inlined', async () => {
    const inner = tf.sequential({
      name: 'backbone',
      layers: [tf.layers.conv2d({ inputShape: [6, 6, 3], filters: 4, kernelSize: 3, activation: 'relu' }), tf.layers.batchNormalization({}), tf.layers.globalAveragePooling2d({})],
    });
    randomizeBatchNorms(inner, 3);
    const model = tf.sequential({ layers: [inner, tf.layers.dense({ units: 2, activation: 'softmax' })] });
    const files = await saveLayersModel(model);
    expect(await predictDiff(model, files, [2, 6, 6, 3])).toBeLessThan(1e-5);
    model.dispose();
  });

  it('unknown height/width: SAME padding becomes auto_pad SAME_UPPER and runs at any size', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [null, null, 3] as unknown as number[], filters: 4, kernelSize: 3, strides: 2, padding: 'same' }),
        tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }),
        tf.layers.globalAveragePooling2d({}),
      ],
    });
    const files = await saveLayersModel(model);
    const graph = importTfjs(files);
    expect(graph.nodes.find((n) => n.opType === 'Conv')!.attrs.auto_pad).toBe('SAME_UPPER');
    expect(graph.inputs[0].shape).toEqual(['N', null, null, 3]);
    for (const shape of [[1, 7, 9, 3], [2, 8, 5, 3]]) expect(await predictDiff(model, files, shape)).toBeLessThan(1e-5);
    model.dispose();
  });

  it('Keras 3 config forms (batch_shape, {args} inbound nodes) and scoped / ":0" weight names', async () => {
    const input = tf.input({ shape: [5, 5, 2], name: 'in' });
    const c = tf.layers.conv2d({ filters: 3, kernelSize: 3, name: 'c' }).apply(input) as tf.SymbolicTensor;
    const bn = tf.layers.batchNormalization({ name: 'bn' }).apply(c) as tf.SymbolicTensor;
    const net = tf.model({ inputs: input, outputs: bn });
    randomizeBatchNorms(net, 8);
    const files = await saveLayersModel(net);
    const keras3 = editJson(files, (json) => {
      for (const layer of json.modelTopology.config.layers) {
        if (layer.config.batch_input_shape) {
          layer.config.batch_shape = layer.config.batch_input_shape;
          delete layer.config.batch_input_shape;
        }
        layer.inbound_nodes = layer.inbound_nodes.map((node: [string, number, number][]) => ({
          args: node.map(([name, n, t]) => ({ class_name: '__keras_tensor__', config: { shape: [], dtype: 'float32', keras_history: [name, n, t] } })),
          kwargs: {},
        }));
      }
      for (const w of json.weightsManifest[0].weights) w.name = `functional/${w.name}:0`;
    });
    expect(await predictDiff(net, keras3, [2, 5, 5, 2])).toBeLessThan(1e-5);
    net.dispose();
  });

  it('Dense on a 4-D input (MatMul over the channels)', async () => {
    const model = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [4, 4, 3], filters: 5, kernelSize: 1 }), tf.layers.dense({ units: 2, activation: 'relu' })] });
    expect(await predictDiff(model, await saveLayersModel(model), [2, 4, 4, 3])).toBeLessThan(1e-5);
    model.dispose();
  });

  it('Keras Normalization (mean/variance in the config) follows (x - mean) / max(sqrt(var), 1e-7)', async () => {
    const model = tf.sequential({ layers: [tf.layers.rescaling({ inputShape: [3, 3, 2], scale: 1, name: 'norm' })] });
    const files = editJson(await saveLayersModel(model), (json) => {
      const layer = json.modelTopology.config.layers[0];
      layer.class_name = 'Normalization';
      layer.config = { ...layer.config, axis: -1, mean: [0.5, -1], variance: [4, 0.25] };
    });
    const graph = importTfjs(files);
    const x = tf.randomNormal([2, 3, 3, 2], 0, 1, 'float32', 5);
    const manual = tf.tidy(() => x.sub(tf.tensor1d([0.5, -1])).div(tf.tensor1d([2, 0.5])));
    const [ours] = runGraph(graph, { [graph.inputs[0].name]: x });
    expect(relativeMaxDiff(ours, manual)).toBeLessThan(1e-6);
    tf.dispose([x, manual, ours]);
    model.dispose();
  });

  it('outputs that alias each other (a layer output, its Dropout, its Permute) each keep their name', async () => {
    const input = tf.input({ shape: [3, 4, 2], name: 'in' });
    const c = tf.layers.conv2d({ filters: 3, kernelSize: 1, name: 'c' }).apply(input) as tf.SymbolicTensor;
    const d = tf.layers.dropout({ rate: 0.3, name: 'd' }).apply(c) as tf.SymbolicTensor;
    const p = tf.layers.permute({ dims: [2, 1, 3], name: 'p' }).apply(c) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: [c, d, p] });
    const graph = importTfjs(await saveLayersModel(model));
    expect(graph.outputs.map((o) => o.name)).toEqual(['c', 'd', 'p']);
    const x = tf.randomNormal([2, 3, 4, 2], 0, 1, 'float32', 6);
    const refs = model.predict(x) as tf.Tensor[];
    const ours = runGraph(graph, { in: x });
    ours.forEach((t, i) => expect(relativeMaxDiff(t, refs[i])).toBeLessThan(1e-6));
    tf.dispose([x, ...refs, ...ours]);
    model.dispose();
  });

  it('the imported graph goes through prepareGraph with the same shapes', async () => {
    const model = sequentialConvNet();
    const graph = importTfjs(await saveLayersModel(model));
    const prepared = prepareGraph(graph, { [graph.inputs[0].name]: [2, 9, 9, 3] });
    for (const [name, info] of graph.valueInfo) {
      const p = prepared.valueInfo.get(name);
      if (!p || !info.shape) continue;
      expect(p.shape!.slice(1)).toEqual(info.shape.slice(1));
    }
    expect(prepared.valueInfo.get(graph.outputs[0].name)?.shape).toEqual([2, 3]);
    model.dispose();
  });
});
