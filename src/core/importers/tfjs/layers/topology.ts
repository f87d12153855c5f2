import { LocalQuantError } from '../../../errors.js';
import type { Dim } from '../../../ir/types.js';

/**
 * The Keras model config of a TF.js layers model, normalized: Sequential and functional models (Keras 2
 * and Keras 3 inbound-node formats) become one list of layers with explicit inbound connections.
 */
export interface TensorRef {
  layer: string;
  nodeIndex: number;
  tensorIndex: number;
}

export interface KerasLayer {
  className: string;
  name: string;
  config: Record<string, unknown>;
  /** One entry per call of the layer (shared layers are called several times). */
  inbound: TensorRef[][];
}

export interface KerasModel {
  name: string;
  className: string;
  layers: KerasLayer[];
  inputs: TensorRef[];
  outputs: TensorRef[];
}

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export const MODEL_CLASSES = new Set(['Sequential', 'Model', 'Functional']);

/** The {class_name, config} of the top model from a layers model.json's modelTopology. */
export function topLevelModelConfig(topology: Json): Json {
  const mc = isObj(topology.model_config) ? topology.model_config : topology;
  if (typeof mc.class_name !== 'string' || !MODEL_CLASSES.has(mc.class_name)) {
    throw new LocalQuantError('NOT_A_MODEL', `The layers model's topology has class '${String(mc.class_name)}', not Sequential or Model.`, 'Convert the Keras model with tensorflowjs_converter --output_format tfjs_layers_model.');
  }
  return mc;
}

function refFromKerasHistory(h: unknown): TensorRef | undefined {
  if (Array.isArray(h) && typeof h[0] === 'string') return { layer: h[0], nodeIndex: Number(h[1] ?? 0), tensorIndex: Number(h[2] ?? 0) };
  return undefined;
}

/** Collects the tensors of one inbound node in either format. */
function parseInboundNode(node: unknown): TensorRef[] {
  if (Array.isArray(node)) {
    // Keras 2: [[layerName, nodeIndex, tensorIndex, kwargs], ...]
    return node.map((entry) => {
      const ref = refFromKerasHistory(entry);
      if (!ref) throw new LocalQuantError('NOT_A_MODEL', `Unreadable inbound node entry ${JSON.stringify(entry)}.`);
      return ref;
    });
  }
  if (isObj(node) && Array.isArray(node.args)) {
    // Keras 3: {args: [keras tensor or list of them], kwargs}
    const refs: TensorRef[] = [];
    const visit = (a: unknown): void => {
      if (Array.isArray(a)) a.forEach(visit);
      else if (isObj(a) && a.class_name === '__keras_tensor__' && isObj(a.config)) {
        const ref = refFromKerasHistory(a.config.keras_history);
        if (ref) refs.push(ref);
      }
    };
    visit(node.args);
    return refs;
  }
  throw new LocalQuantError('NOT_A_MODEL', `Unreadable inbound node ${JSON.stringify(node).slice(0, 200)}.`);
}

function parseRefs(list: unknown): TensorRef[] {
  if (!Array.isArray(list)) return [];
  // A single [name, node, tensor] triple instead of a list of them.
  if (typeof list[0] === 'string') return [refFromKerasHistory(list)!];
  return list.map((e) => {
    const ref = refFromKerasHistory(e);
    if (!ref) throw new LocalQuantError('NOT_A_MODEL', `Unreadable model input/output ${JSON.stringify(e)}.`);
    return ref;
  });
}

function layerName(l: Json): string {
  if (typeof l.name === 'string') return l.name;
  if (isObj(l.config) && typeof l.config.name === 'string') return l.config.name;
  throw new LocalQuantError('NOT_A_MODEL', `A layer of class ${String(l.class_name)} has no name.`);
}

/** Batch input shape a layer config declares (Keras 2 batch_input_shape, Keras 3 batch_shape), if any. */
export function declaredInputShape(config: Json): Dim[] | undefined {
  const s = config.batch_input_shape ?? config.batch_shape;
  if (Array.isArray(s)) return s.map((d) => (typeof d === 'number' ? d : null));
  if (Array.isArray(config.input_shape)) return [null, ...config.input_shape.map((d: unknown) => (typeof d === 'number' ? d : null))];
  return undefined;
}

export function parseModel(mc: Json): KerasModel {
  const className = String(mc.class_name);
  const config = (mc.config ?? {}) as Json | Json[];
  if (className === 'Sequential') return parseSequential(Array.isArray(config) ? { layers: config } : config);
  if (!isObj(config) || !Array.isArray(config.layers)) throw new LocalQuantError('NOT_A_MODEL', `Model config of '${className}' has no layer list.`);
  const layers: KerasLayer[] = config.layers.map((raw: Json) => ({
    className: String(raw.class_name),
    name: layerName(raw),
    config: (raw.config ?? {}) as Json,
    inbound: Array.isArray(raw.inbound_nodes) ? raw.inbound_nodes.map(parseInboundNode) : [],
  }));
  return { name: String(config.name ?? 'model'), className, layers, inputs: parseRefs(config.input_layers), outputs: parseRefs(config.output_layers) };
}

/** Input shape declared by a first layer, looking into a nested model's own first layer. */
function firstInputShape(layer: Json): Dim[] | undefined {
  const config = (layer.config ?? {}) as Json;
  const own = declaredInputShape(config);
  if (own || !MODEL_CLASSES.has(String(layer.class_name))) return own;
  const inner = (Array.isArray(config) ? config : config.layers) as Json[] | undefined;
  return inner?.length ? firstInputShape(inner[0]) : undefined;
}

function parseSequential(config: Json): KerasModel {
  const raw = (config.layers ?? []) as Json[];
  if (raw.length === 0) throw new LocalQuantError('NOT_A_MODEL', 'The Sequential model has no layers.');
  const layers: KerasLayer[] = [];
  let prev: string;
  const first = raw[0];
  const firstName = layerName(first);
  if (first.class_name === 'InputLayer') {
    layers.push({ className: 'InputLayer', name: firstName, config: (first.config ?? {}) as Json, inbound: [] });
    prev = firstName;
  } else {
    const shape = firstInputShape(first);
    if (!shape) throw new LocalQuantError('NOT_A_MODEL', `The first layer '${firstName}' of the Sequential model declares no input shape.`, 'Give the first layer an inputShape (or add an InputLayer) and save the model again.');
    // tfjs names the implicit input "<first layer>_input".
    const inputName = `${firstName}_input`;
    layers.push({ className: 'InputLayer', name: inputName, config: { batch_input_shape: shape, name: inputName }, inbound: [] });
    prev = inputName;
  }
  for (const l of raw) {
    if (l.class_name === 'InputLayer') continue;
    const name = layerName(l);
    layers.push({ className: String(l.class_name), name, config: (l.config ?? {}) as Json, inbound: [[{ layer: prev, nodeIndex: 0, tensorIndex: 0 }]] });
    prev = name;
  }
  return { name: String(config.name ?? 'sequential'), className: 'Sequential', layers, inputs: [{ layer: layers[0].name, nodeIndex: 0, tensorIndex: 0 }], outputs: [{ layer: prev, nodeIndex: 0, tensorIndex: 0 }] };
}
