/**
 * Runs a NetSpec with tfjs ops (NHWC, as tfjs convolutions require). Training mode normalizes with batch
 * statistics and reports them for the running-statistics update; inference uses the running statistics.
 * Padding is symmetric k//2 on every conv (PyTorch's, which the ONNX export writes as pads [p,p,p,p]).
 */
import * as tf from '@tensorflow/tfjs';
import { batchNormTrain } from './batchNormTrain.js';
import { BN_EPSILON, type NetSpec, type Op } from './netSpec.js';

export type Weights = Map<string, tf.Tensor>;

export interface BatchStats {
  bn: string;
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
  /** Values per channel the statistics averaged (N*H*W), for the unbiased running variance. */
  count: number;
}

export interface ForwardOptions {
  training: boolean;
  /** Training only: each BN's batch mean and (biased) variance are pushed here, kept past tidy. */
  stats?: BatchStats[];
  /** Training only: the dropout keep-mask (0 or 1/(1-rate)) per dropout op, [N, C]. */
  dropoutMasks?: Map<string, tf.Tensor>;
}

function param(w: Weights, name: string): tf.Tensor {
  const t = w.get(name);
  if (!t) throw new Error(`weight ${name} missing`);
  return t;
}

function applyOp(op: Op, v: Map<string, tf.Tensor>, w: Weights, o: ForwardOptions): tf.Tensor {
  const get = (name: string) => {
    const t = v.get(name);
    if (!t) throw new Error(`value ${name} not computed before use`);
    return t;
  };
  switch (op.kind) {
    case 'conv': {
      const x = get(op.input) as tf.Tensor4D;
      const pad = Math.floor(op.k / 2);
      const kernel = param(w, `${op.name}.weight`) as tf.Tensor4D;
      const y = op.groups === 1
        ? tf.conv2d(x, kernel, op.stride, pad)
        : tf.depthwiseConv2d(x, kernel, op.stride, pad);
      return op.bias ? tf.add(y, param(w, `${op.name}.bias`)) : y;
    }
    case 'bn': {
      const x = get(op.input) as tf.Tensor4D;
      const gamma = param(w, `${op.name}.weight`) as tf.Tensor1D;
      const beta = param(w, `${op.name}.bias`) as tf.Tensor1D;
      if (!o.training) return tf.batchNorm(x, param(w, `${op.name}.running_mean`), param(w, `${op.name}.running_var`), beta, gamma, BN_EPSILON);
      const { y, mean, variance } = batchNormTrain(x, gamma, beta);
      // kept by batchNormTrain past the tape's scope; the caller disposes them after the running update
      if (o.stats) o.stats.push({ bn: op.name, mean, variance, count: x.shape[0] * x.shape[1] * x.shape[2] });
      else tf.dispose([mean, variance]);
      return y;
    }
    case 'relu': return tf.relu(get(op.input));
    case 'relu6': return tf.relu6(get(op.input));
    // ReLU6(x + 3) / 6, the paper's hard-sigmoid (ONNX HardSigmoid alpha 1/6, beta 0.5); tf.sigmoid's
    // Keras "hard_sigmoid" is 0.2x + 0.5, a different function.
    case 'hardSigmoid': return tf.mul(tf.relu6(tf.add(get(op.input), 3)), 1 / 6);
    case 'concat': return tf.concat(op.inputs.map(get), 3);
    case 'slice': {
      const x = get(op.input);
      // Ghost modules with an even n concatenate exactly n channels: the cut is the identity then.
      return x.shape[3] === op.channels ? x : tf.slice(x, [0, 0, 0, 0], [-1, -1, -1, op.channels]);
    }
    case 'add': return tf.add(get(op.inputs[0]), get(op.inputs[1]));
    case 'mul': return tf.mul(get(op.inputs[0]), get(op.inputs[1]));
    case 'gap': return tf.mean(get(op.input), [1, 2], true);
    case 'dropout': {
      const x = get(op.input);
      const mask = o.training ? o.dropoutMasks?.get(op.output) : undefined;
      return mask ? tf.mul(x, tf.reshape(mask, x.shape)) : x;
    }
    case 'dense': {
      const x = get(op.input);
      return tf.add(tf.matMul(tf.reshape(x, [x.shape[0], op.cin]), param(w, `${op.name}.weight`) as tf.Tensor2D), param(w, `${op.name}.bias`));
    }
  }
}

/**
 * Logits [N, classes] for NHWC input. Intermediates are disposed after their last use; call inside
 * tf.tidy (or a gradient scope) for the rest.
 */
export function forward(spec: NetSpec, weights: Weights, x: tf.Tensor4D, o: ForwardOptions): tf.Tensor2D {
  const lastUse = new Map<string, number>();
  spec.ops.forEach((op, i) => {
    for (const name of 'inputs' in op ? op.inputs : [op.input]) lastUse.set(name, i);
  });
  const values = new Map<string, tf.Tensor>([[spec.input, x]]);
  spec.ops.forEach((op, i) => {
    values.set(op.output, applyOp(op, values, weights, o));
    // A gradient tape needs every intermediate; inference frees each after its last reader (an identity
    // op such as a no-op slice hands on the same tensor, which must then stay alive).
    if (o.training) return;
    for (const name of 'inputs' in op ? op.inputs : [op.input]) {
      if (lastUse.get(name) !== i || name === spec.input) continue;
      const t = values.get(name)!;
      values.delete(name);
      if (![...values.values()].includes(t)) t.dispose();
    }
  });
  return values.get(spec.output) as tf.Tensor2D;
}

/** Dropout ops and the shape of their mask for a batch of n. */
export function dropoutOps(spec: NetSpec): { output: string; rate: number; channels: number }[] {
  const channelsOf = new Map<string, number>();
  const out: { output: string; rate: number; channels: number }[] = [];
  for (const op of spec.ops) {
    if (op.kind === 'conv') channelsOf.set(op.output, op.cout);
    else if (op.kind === 'dropout') out.push({ output: op.output, rate: op.rate, channels: channelsOf.get(op.input) ?? NaN });
    else if ('input' in op) channelsOf.set(op.output, channelsOf.get(op.input) ?? NaN);
  }
  return out;
}
