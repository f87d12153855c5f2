import { LocalQuantError } from '../../../errors.js';
import type { Dim, Graph, TensorData, ValueInfo } from '../../../ir/types.js';
import { GraphBuilder, type SrcTensor } from '../builder.js';
import type { ModelJson } from '../modelJson.js';
import { readingMalformed } from '../malformed.js';
import type { LayerContext, LayerTranslator } from './context.js';
import { conv2d, conv2dTranspose, dense, depthwiseConv2d, separableConv2d } from './convLayers.js';
import * as L from './otherLayers.js';
import { declaredInputShape, MODEL_CLASSES, parseModel, topLevelModelConfig, type KerasLayer, type KerasModel, type TensorRef } from './topology.js';

/**
 * TF.js layers model (Keras topology) -> IR. Layers are translated in dependency order; nested
 * Sequential/functional models are inlined.
 */

const TRANSLATORS: Record<string, LayerTranslator> = {
  Conv2D: conv2d,
  Convolution2D: conv2d,
  DepthwiseConv2D: depthwiseConv2d,
  SeparableConv2D: separableConv2d,
  SeparableConvolution2D: separableConv2d,
  Conv2DTranspose: conv2dTranspose,
  Deconvolution2D: conv2dTranspose,
  Dense: dense,
  BatchNormalization: L.batchNormalization,
  Activation: L.activationLayer,
  ReLU: L.reluLayer,
  LeakyReLU: L.leakyReluLayer,
  PReLU: L.preluLayer,
  ELU: L.eluLayer,
  Softmax: L.softmaxLayer,
  Add: L.addLayer,
  Subtract: L.subtractLayer,
  Multiply: L.multiplyLayer,
  Average: L.averageLayer,
  Maximum: L.maximumLayer,
  Minimum: L.minimumLayer,
  Concatenate: L.concatenateLayer,
  ZeroPadding2D: L.zeroPadding2d,
  Cropping2D: L.cropping2d,
  MaxPooling2D: L.maxPooling2d,
  MaxPool2D: L.maxPooling2d,
  AveragePooling2D: L.averagePooling2d,
  AvgPool2D: L.averagePooling2d,
  GlobalAveragePooling2D: L.globalAveragePooling2d,
  GlobalAvgPool2D: L.globalAveragePooling2d,
  GlobalMaxPooling2D: L.globalMaxPooling2d,
  GlobalMaxPool2D: L.globalMaxPooling2d,
  Flatten: L.flattenLayer,
  Reshape: L.reshapeLayer,
  Permute: L.permuteLayer,
  UpSampling2D: L.upSampling2d,
  Rescaling: L.rescalingLayer,
  Normalization: L.normalizationLayer,
  Dropout: L.identityLayer,
  SpatialDropout2D: L.identityLayer,
  GaussianNoise: L.identityLayer,
  GaussianDropout: L.identityLayer,
  AlphaDropout: L.identityLayer,
  ActivityRegularization: L.identityLayer,
};

export const SUPPORTED_LAYER_CLASSES = ['InputLayer', 'Sequential', 'Model', 'Functional', ...Object.keys(TRANSLATORS)];

/** Looks weights up by "<layer>/<weight>", tolerating scope prefixes (nested models), ":0" and Keras 3 "vars/<i>". */
class WeightIndex {
  private readonly bySuffix = new Map<string, string[]>();
  constructor(private readonly weights: Map<string, TensorData>) {
    for (const name of weights.keys()) {
      const parts = name.replace(/:\d+$/, '').split('/');
      if (parts.length < 2) continue;
      const key = parts.slice(-2).join('/');
      const list = this.bySuffix.get(key) ?? [];
      list.push(name);
      this.bySuffix.set(key, list);
      if (parts.length >= 3 && parts[parts.length - 2] === 'vars') {
        const k3 = parts.slice(-3).join('/');
        this.bySuffix.set(k3, [...(this.bySuffix.get(k3) ?? []), name]);
      }
    }
  }

  find(layer: string, weight: string, index: number): TensorData | undefined {
    for (const exact of [`${layer}/${weight}`, `${layer}/${weight}:0`, `${layer}/vars/${index}`]) {
      const t = this.weights.get(exact);
      if (t) return t;
    }
    const layerLast = layer.split('/').pop()!;
    for (const key of [`${layerLast}/${weight}`, `${layerLast}/vars/${index}`]) {
      const list = this.bySuffix.get(key) ?? [];
      const scoped = list.filter((n) => n.replace(/:\d+$/, '').endsWith(`/${layer}/${weight}`) || n.replace(/:\d+$/, '').endsWith(`/${layer}/vars/${index}`));
      if (scoped.length === 1) return this.weights.get(scoped[0]);
      if (list.length === 1) return this.weights.get(list[0]);
    }
    return undefined;
  }
}

interface RunState {
  b: GraphBuilder;
  weights: WeightIndex;
  inputNames: Set<string>;
  graphInputs: ValueInfo[];
  /** Initializers made from layer weights, by layer/weight/variant (shared layers reuse them). */
  weightConsts: Map<string, string>;
}

const refKey = (r: TensorRef) => `${r.layer}:${r.nodeIndex}:${r.tensorIndex}`;

function inputValueInfo(name: string, shape: Dim[]): ValueInfo {
  return { name, dtype: 'float32', shape: shape.map((d, i) => (d === null && i === 0 ? 'N' : d)) };
}

/** Translates a (possibly nested) model; `bound` gives tensors for its input layers when nested. */
function runModel(model: KerasModel, st: RunState, bound?: SrcTensor[]): SrcTensor[] {
  const { b } = st;
  const tensors = new Map<string, SrcTensor>();
  const inputLayerNames = new Set(model.inputs.map((r) => r.layer));
  model.inputs.forEach((ref, i) => {
    const layer = model.layers.find((l) => l.name === ref.layer);
    if (!layer) throw new LocalQuantError('NOT_A_MODEL', `Model input '${ref.layer}' is not among the layers.`);
    if (bound) {
      tensors.set(refKey(ref), bound[i]);
      return;
    }
    const shape = declaredInputShape(layer.config);
    if (!shape) throw new LocalQuantError('NOT_A_MODEL', `Input layer '${layer.name}' declares no shape.`);
    st.graphInputs.push(inputValueInfo(layer.name, shape));
    st.inputNames.add(layer.name);
    tensors.set(refKey(ref), b.tensor(layer.name, null, shape));
  });

  const pending = model.layers.filter((l) => !(l.className === 'InputLayer' && inputLayerNames.has(l.name)));
  // Calls done per layer; a layer's call k produces "<layer>:k:<tensor>".
  const done = new Map<string, number>();
  let progress = true;
  while (progress) {
    progress = false;
    for (const layer of pending) {
      let k = done.get(layer.name) ?? 0;
      while (k < layer.inbound.length) {
        const refs = layer.inbound[k];
        if (!refs.every((r) => tensors.has(refKey(r)))) break;
        const inputs = refs.map((r) => tensors.get(refKey(r))!);
        const outputs = readingMalformed(`Layer '${layer.name}' (${layer.className}) of the model.json`, () => callLayer(layer, k, inputs, st));
        outputs.forEach((t, i) => tensors.set(`${layer.name}:${k}:${i}`, t));
        k++;
        done.set(layer.name, k);
        progress = true;
      }
    }
  }
  return model.outputs.map((ref) => {
    const t = tensors.get(refKey(ref));
    if (!t) throw new LocalQuantError('NOT_A_MODEL', `Model output '${ref.layer}' cannot be computed from the inputs (a cycle or a missing inbound layer).`);
    return t;
  });
}

function callLayer(layer: KerasLayer, call: number, inputs: SrcTensor[], st: RunState): SrcTensor[] {
  if (MODEL_CLASSES.has(layer.className)) {
    const inner = parseModel({ class_name: layer.className, config: layer.config });
    return runModel(inner, st, inputs);
  }
  const translate = TRANSLATORS[layer.className];
  if (!translate) {
    throw new LocalQuantError(
      'UNSUPPORTED_OP',
      `Layer '${layer.name}' has class ${layer.className}, which LocalQuant does not translate.`,
      `Supported layer classes: ${SUPPORTED_LAYER_CLASSES.join(', ')}.`,
    );
  }
  const ctx: LayerContext = {
    b: st.b,
    layer,
    hint: call === 0 ? layer.name : `${layer.name}_${call}`,
    weight(name, index, optional) {
      const t = st.weights.find(layer.name, name, index);
      if (!t && !optional) {
        throw new LocalQuantError('MISSING_INITIALIZER', `Layer '${layer.name}' (${layer.className}) has no weight '${name}' in the weights manifest.`, 'The weight files may belong to another model: export model.json and weights together.');
      }
      return t;
    },
    weightConst(name, make, variant = '') {
      const key = `${layer.name}/${name}#${variant}`;
      let init = st.weightConsts.get(key);
      if (init === undefined) {
        init = st.b.constant(`${layer.name}/${name}`, make());
        st.weightConsts.set(key, init);
      }
      return init;
    },
  };
  return [translate(ctx, inputs)];
}

function outputNames(model: KerasModel): string[] {
  const seen = new Map<string, number>();
  return model.outputs.map((r) => {
    const base = r.nodeIndex === 0 && r.tensorIndex === 0 ? r.layer : `${r.layer}_${r.nodeIndex}_${r.tensorIndex}`;
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    return n === 0 ? base : `${base}_${n}`;
  });
}

export function importLayersModel(model: ModelJson, weights: Map<string, TensorData>): Graph {
  const mc = topLevelModelConfig(model.modelTopology);
  const keras = parseModel(mc);
  const b = new GraphBuilder();
  const outNames = outputNames(keras);
  for (const l of keras.layers) if (l.className === 'InputLayer') b.reserve(l.name);
  for (const n of outNames) b.reserve(n);
  const st: RunState = { b, weights: new WeightIndex(weights), inputNames: new Set(), graphInputs: [], weightConsts: new Map() };
  const outs = runModel(keras, st);
  const outputs: ValueInfo[] = outs.map((t, i) => {
    b.bindOutput(t, outNames[i], st.inputNames);
    return { name: outNames[i], dtype: t.dtype, shape: t.shape ? t.shape.map((d, j) => (d === null && j === 0 ? 'N' : d)) : null };
  });
  const channelsFirst = keras.layers.some((l) => l.config.data_format === 'channels_first');
  const topo = model.modelTopology as { keras_version?: string; backend?: string };
  return b.finish({
    name: keras.name,
    format: 'tfjs-layers',
    interfaceLayout: channelsFirst ? 'NCHW' : 'NHWC',
    inputs: st.graphInputs,
    outputs,
    opset: 13,
    metadata: {
      producer: [model.generatedBy, model.convertedBy, topo.keras_version ? `keras ${topo.keras_version}` : undefined].filter(Boolean).join(', ') || 'tfjs layers model',
      sourceFormat: 'tfjs-layers',
    },
  });
}
