import * as tf from '@tensorflow/tfjs';
import type { Node } from '../../ir/types.js';
import { attrFloat } from './attrs.js';

/**
 * Conv -> BatchNormalization -> Relu chains the executor may run as one fused tfjs convolution (BN folded
 * into filter and bias, Relu as the fused activation). Only used when nobody can observe the values in
 * between: no hook, not captured, single consumer, not a graph output.
 */
export interface ConvGroup {
  /** Indices into the executor's node order. */
  conv: number;
  bn?: number;
  relu?: number;
  /** Values the fused kernel never materializes. */
  hidden: string[];
  output: string;
}

export function findConvGroups(nodes: Node[], graphOutputs: Set<string>): ConvGroup[] {
  const consumers = new Map<string, number[]>();
  nodes.forEach((n, i) => n.inputs.forEach((v) => v && consumers.set(v, [...(consumers.get(v) ?? []), i])));
  const soleConsumer = (v: string): number | undefined => {
    const c = consumers.get(v);
    return c && c.length === 1 && !graphOutputs.has(v) ? c[0] : undefined;
  };
  const groups: ConvGroup[] = [];
  nodes.forEach((n, i) => {
    if (n.opType !== 'Conv' || n.domain || !n.outputs[0]) return;
    const g: ConvGroup = { conv: i, hidden: [], output: n.outputs[0] };
    const next = soleConsumer(g.output);
    if (next !== undefined && nodes[next].opType === 'BatchNormalization' && nodes[next].inputs[0] === g.output) {
      g.bn = next;
      g.hidden.push(g.output);
      g.output = nodes[next].outputs[0];
    }
    const act = soleConsumer(g.output);
    if (act !== undefined && nodes[act].opType === 'Relu') {
      g.relu = act;
      g.hidden.push(g.output);
      g.output = nodes[act].outputs[0];
    }
    if (g.hidden.length) groups.push(g);
  });
  return groups;
}

/**
 * Conv weight [O, ...] and bias with an inference BatchNormalization folded in:
 * w' = w * a, b' = (b - mean) * a + beta, a = scale / sqrt(var + eps). Differentiable.
 */
export function foldBatchNorm(bn: Node, w: tf.Tensor, b: tf.Tensor | undefined, scale: tf.Tensor, beta: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor): { w: tf.Tensor; b: tf.Tensor1D } {
  const eps = attrFloat(bn, 'epsilon', 1e-5);
  const a = tf.div(scale, tf.sqrt(tf.add(variance, tf.scalar(eps))));
  const wf = tf.mul(w, tf.reshape(a, [a.shape[0], ...new Array(w.rank - 1).fill(1)]));
  const bf = tf.add(tf.mul(b ? tf.sub(b, mean) : tf.neg(mean), a), beta) as tf.Tensor1D;
  return { w: wf, b: bf };
}
