import { consumerMap } from '../../ir/graph.js';
import type { Node } from '../../ir/types.js';

/**
 * Conv -> BatchNormalization -> Relu chains the executor may run as one fused tfjs convolution (BN folded
 * into filter and bias, Relu as the fused activation). Only used when nobody can observe the values in
 * between: no hook, not captured, single consumer, not a graph output. The BN is folded by ir's rule
 * (ir/passes/foldBatchNorm.ts foldedLayerParams), once, when the executor is built.
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
  const consumers = consumerMap({ nodes });
  const indexOf = new Map(nodes.map((n, i) => [n, i]));
  const soleConsumer = (v: string): number | undefined => {
    const c = consumers.get(v);
    // a node reading v twice counts once in consumerMap, but it is no chain link either
    return c && c.length === 1 && !graphOutputs.has(v) && c[0].inputs.filter((i) => i === v).length === 1 ? indexOf.get(c[0]) : undefined;
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
