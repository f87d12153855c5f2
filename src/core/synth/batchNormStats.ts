import type { Graph, TensorData } from '../ir/types.js';
import { LocalQuantError } from '../errors.js';

/** The training statistics one BatchNormalization node stores about its input. */
export interface BatchNormStats {
  nodeName: string;
  /** Name of the BN's input value: the tensor whose batch statistics synthesis matches. */
  inputValue: string;
  /** Running mean per channel. */
  mean: Float32Array;
  /** Running variance per channel. */
  variance: Float32Array;
  epsilon: number;
  channels: number;
}

function floatData(graph: Graph, name: string, node: string, role: string): Float32Array {
  const t: TensorData | undefined = graph.initializers.get(name);
  if (!t) {
    throw new LocalQuantError(
      'MISSING_INITIALIZER',
      `BatchNormalization '${node}' takes its ${role} from '${name}', which is not a constant of the model.`,
      'Export the model in inference mode so that BatchNorm statistics are stored as constants.',
    );
  }
  return t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>);
}

/**
 * Every BatchNormalization node of the graph with its stored statistics, in graph order.
 * ONNX BN inputs are [X, scale, B, input_mean, input_var]; epsilon defaults to 1e-5.
 * Returns [] for a model without BatchNorm (e.g. folded into convolutions).
 */
export function collectBatchNormStats(graph: Graph): BatchNormStats[] {
  const out: BatchNormStats[] = [];
  for (const node of graph.nodes) {
    if (node.opType !== 'BatchNormalization' || (node.domain && node.domain !== 'ai.onnx')) continue;
    const [x, , , meanName, varName] = node.inputs;
    const mean = floatData(graph, meanName, node.name, 'running mean');
    const variance = floatData(graph, varName, node.name, 'running variance');
    if (mean.length !== variance.length) {
      throw new LocalQuantError(
        'BAD_WEIGHTS',
        `BatchNormalization '${node.name}' has ${mean.length} means but ${variance.length} variances.`,
      );
    }
    const eps = node.attrs.epsilon;
    out.push({
      nodeName: node.name,
      inputValue: x,
      mean,
      variance,
      epsilon: typeof eps === 'number' ? eps : 1e-5,
      channels: mean.length,
    });
  }
  return out;
}
