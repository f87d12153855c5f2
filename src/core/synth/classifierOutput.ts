import * as tf from '@tensorflow/tfjs';
import { LocalQuantError } from '../errors.js';
import { producerOf } from '../ir/graph.js';
import type { Graph } from '../ir/types.js';
import { GraphExecutor } from '../runtime/executor.js';
import type { ImageInput } from './graphInput.js';

/** Where a classifier's logits are, how many classes it has and, when the model names them, their names. */
export interface ClassifierOutput {
  /** The value whose [N, classes] rows are the logits (the input of a final Softmax, else the output). */
  value: string;
  classes: number;
  names?: string[];
}

const HINT = 'Class-conditional synthesis needs a classifier: one output of shape [N, classes]. Turn it off for this model.';

function refuse(message: string): never {
  throw new LocalQuantError('BAD_CONFIG', `Class-conditional synthesis: ${message}`, HINT);
}

/**
 * The logits of a classifier graph, or a BAD_CONFIG refusal naming why the graph is not one (several
 * outputs, an output that is not [N, classes]). The class count comes from running one zero image,
 * so symbolic output shapes are no obstacle. A final Softmax is stepped over: the cross-entropy is
 * taken on its input, where log-softmax is exact.
 */
export function classifierOutput(graph: Graph, input: ImageInput): ClassifierOutput {
  const outputs = graph.outputs.filter((o) => !graph.initializers.has(o.name));
  if (outputs.length !== 1) refuse(`the model has ${outputs.length} outputs (${outputs.map((o) => o.name).join(', ') || 'none'}), not one.`);
  const out = outputs[0];
  if (out.shape && out.shape.length !== 2) refuse(`output '${out.name}' has rank ${out.shape.length}, not [N, classes].`);
  const softmax = producerOf(graph, out.name);
  const value = softmax && softmax.opType === 'Softmax' ? softmax.inputs[0] : out.name;
  const [c, h, w] = input.imageShape;
  const executor = new GraphExecutor(graph);
  let shape: number[];
  try {
    shape = tf.tidy(() => {
      const image = tf.zeros(input.layout === 'NHWC' ? [1, h, w, c] : [1, c, h, w]);
      const { captured } = executor.execute(new Map([[input.name, image]]), { capture: [value], stopAfterCaptures: true });
      const t = captured.get(value)!;
      // the executor holds 4-D values channels-last: name the shape as the graph (NCHW) does
      const [n, d1, d2, d3] = t.tensor.shape;
      return t.layout === 'NHWC' && t.tensor.rank === 4 ? [n, d3, d1, d2] : t.tensor.shape;
    });
  } finally {
    executor.dispose();
  }
  if (shape.length !== 2 || shape[0] !== 1) refuse(`output '${out.name}' is [${shape.join(', ')}] for one image, not [1, classes].`);
  if (shape[1] < 2) refuse(`output '${out.name}' has ${shape[1]} class; cross-entropy needs at least 2.`);
  const names = classNamesOf(graph, shape[1]);
  return { value, classes: shape[1], ...(names ? { names } : {}) };
}

/** Metadata keys under which exporters store class names (ONNX metadata_props, kept by the importer as prop:KEY). */
const NAME_KEYS = ['prop:labels', 'prop:classes', 'prop:class_names', 'prop:names'];

/**
 * Class names from the model's metadata, when one of NAME_KEYS holds exactly `classes` of them: a JSON
 * list, a JSON object or Python dict keyed by index (Ultralytics writes `{0: 'person', ...}`), or one name
 * per line or comma. Anything else: none (the app then shows class indices).
 */
export function classNamesOf(graph: Pick<Graph, 'metadata'>, classes: number): string[] | undefined {
  for (const key of NAME_KEYS) {
    const raw = graph.metadata[key];
    if (!raw) continue;
    const names = parseNames(raw.trim());
    if (names?.length === classes && names.every((n) => n.length > 0)) return names;
  }
  return undefined;
}

function parseNames(raw: string): string[] | undefined {
  if (raw.startsWith('[')) {
    try {
      const v: unknown = JSON.parse(raw);
      return Array.isArray(v) ? v.map(String) : undefined;
    } catch {
      return undefined;
    }
  }
  if (raw.startsWith('{')) {
    const byIndex = new Map<number, string>();
    for (const m of raw.matchAll(/(\d+)\s*['"]?\s*:\s*(['"])(.*?)\2/g)) byIndex.set(Number(m[1]), m[3]);
    const out = Array.from({ length: byIndex.size }, (_, i) => byIndex.get(i));
    return out.every((n) => n !== undefined) ? (out as string[]) : undefined;
  }
  return raw.split(raw.includes('\n') ? /\r?\n/ : ',').map((s) => s.trim()).filter((s) => s.length > 0);
}
