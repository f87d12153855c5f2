/**
 * A trained NetSpec as a TF.js layers model (Keras topology, NHWC), built with tf.layers and saved by tfjs
 * itself. Keras forms: stride-1 convs pad 'same' (= symmetric k//2 for odd k); stride-2 convs get a
 * ZeroPadding2D(k//2) and 'valid' (Keras 'same' would pad only the end); the paper's hard-sigmoid
 * ReLU6(x+3)/6 = clip(x/6 + 0.5, 0, 1) is Rescaling(1/6, 0.5) then ReLU(max_value 1), because Keras's
 * "hard_sigmoid" activation is 0.2x + 0.5; global pooling is followed by Reshape to [1,1,C] as in the spec.
 */
import * as tf from '@tensorflow/tfjs';
import { BN_EPSILON, BN_MOMENTUM, type NetSpec } from './netSpec.js';
import type { WeightArrays } from './toGraph.js';

const kerasName = (name: string) => name.replace(/\./g, '_');

export function toLayersModel(spec: NetSpec, weights: WeightArrays): tf.LayersModel {
  const w = (name: string, shape: number[]): tf.Tensor => {
    const t = weights.get(name);
    if (!t) throw new Error(`weight ${name} missing`);
    return tf.tensor(t, shape);
  };
  const values = new Map<string, tf.SymbolicTensor>();
  const input = tf.input({ shape: [spec.size, spec.size, spec.channels], name: spec.input });
  values.set(spec.input, input);
  const get = (v: string) => values.get(v)!;
  const pending: { layer: tf.layers.Layer; weights: tf.Tensor[] }[] = [];
  const apply = (layer: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[], weightValues: tf.Tensor[] = []) => {
    const out = layer.apply(x) as tf.SymbolicTensor;
    if (weightValues.length) pending.push({ layer, weights: weightValues });
    return out;
  };

  for (const op of spec.ops) {
    let y: tf.SymbolicTensor;
    switch (op.kind) {
      case 'conv': {
        const name = kerasName(op.name);
        let x = get(op.input);
        const p = Math.floor(op.k / 2);
        const padding = op.stride === 1 ? 'same' : 'valid';
        if (op.stride !== 1 && p > 0) x = apply(tf.layers.zeroPadding2d({ padding: p, name: `${name}_pad` }), x);
        if (op.groups === 1) {
          const ws = [w(`${op.name}.weight`, [op.k, op.k, op.cin, op.cout]), ...(op.bias ? [w(`${op.name}.bias`, [op.cout])] : [])];
          y = apply(tf.layers.conv2d({ filters: op.cout, kernelSize: op.k, strides: op.stride, padding, useBias: op.bias, name }), x, ws);
        } else {
          if (op.groups !== op.cin || op.cout !== op.cin) throw new Error(`${op.name}: only depthwise (groups = channels) grouped convs are supported`);
          const ws = [w(`${op.name}.weight`, [op.k, op.k, op.cin, 1]), ...(op.bias ? [w(`${op.name}.bias`, [op.cout])] : [])];
          y = apply(tf.layers.depthwiseConv2d({ kernelSize: op.k, strides: op.stride, padding, depthMultiplier: 1, useBias: op.bias, name }), x, ws);
        }
        break;
      }
      case 'bn':
        y = apply(tf.layers.batchNormalization({ axis: -1, epsilon: BN_EPSILON, momentum: 1 - BN_MOMENTUM, name: kerasName(op.name) }), get(op.input),
          ['weight', 'bias', 'running_mean', 'running_var'].map((s) => w(`${op.name}.${s}`, [op.c])));
        break;
      case 'relu': y = apply(tf.layers.reLU(), get(op.input)); break;
      case 'relu6': y = apply(tf.layers.reLU({ maxValue: 6 }), get(op.input)); break;
      case 'hardSigmoid':
        y = apply(tf.layers.reLU({ maxValue: 1 }), apply(tf.layers.rescaling({ scale: 1 / 6, offset: 0.5 }), get(op.input)));
        break;
      case 'concat': y = apply(tf.layers.concatenate({ axis: -1 }), op.inputs.map(get)); break;
      case 'slice': {
        const x = get(op.input);
        if (x.shape[3] !== op.channels) throw new Error(`slice to ${op.channels} of ${x.shape[3]} channels has no Keras layer`);
        y = x;
        break;
      }
      case 'add': y = apply(tf.layers.add(), op.inputs.map(get)); break;
      case 'mul': y = apply(tf.layers.multiply(), op.inputs.map(get)); break;
      case 'gap': {
        const x = get(op.input);
        y = apply(tf.layers.reshape({ targetShape: [1, 1, x.shape[3] as number] }), apply(tf.layers.globalAveragePooling2d({}), x));
        break;
      }
      case 'dropout': y = apply(tf.layers.dropout({ rate: op.rate }), get(op.input)); break;
      case 'dense':
        y = apply(tf.layers.dense({ units: op.cout, name: kerasName(op.name) }), apply(tf.layers.flatten(), get(op.input)),
          [w(`${op.name}.weight`, [op.cin, op.cout]), w(`${op.name}.bias`, [op.cout])]);
        break;
    }
    values.set(op.output, y);
  }
  const model = tf.model({ inputs: input, outputs: get(spec.output), name: spec.name.replace(/\./g, '_') });
  for (const { layer, weights: ws } of pending) {
    layer.setWeights(ws);
    tf.dispose(ws);
  }
  return model;
}

/** model.json (weights in one shard beside it) and the shard bytes. */
export async function layersModelFiles(model: tf.LayersModel, shardName = 'weights.bin'): Promise<{ modelJson: string; shard: Uint8Array }> {
  let files: { modelJson: string; shard: Uint8Array } | null = null;
  await model.save(tf.io.withSaveHandler(async (a) => {
    const data = a.weightData instanceof ArrayBuffer ? a.weightData : tf.io.concatenateArrayBuffers(a.weightData as ArrayBuffer[]);
    files = {
      modelJson: JSON.stringify({
        format: 'layers-model', generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`, convertedBy: null,
        modelTopology: a.modelTopology, weightsManifest: [{ paths: [shardName], weights: a.weightSpecs }],
      }),
      shard: new Uint8Array(data),
    };
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  return files!;
}
