/**
 * The values a detector hands to its post-processing (graph outputs, the float tail's inputs) and the
 * activation points that reach them unchanged in kind: through ops that map values without mixing them
 * with other activations (Sigmoid, re-layouts, a scale by a constant, ...), back to and including the
 * output of the layer that computes them (the head's last conv).
 *
 * Why they keep float: post-processing compares these values, and an activation grid on any of them puts
 * the comparison on the grid. CenterNet's peak test heat == MaxPool3x3(heat) then ties on every plateau
 * of equal grid values, and each tie is a peak: its W8A8 export reported 1787 boxes where the float model
 * reports 1037 (64 CIFAR-10 mosaics). A grid on the sigmoid's input does the same through the sigmoid
 * (equal logits, equal scores). A score threshold that sits in the score mass (NanoDet's IoU-quality
 * scores) loses boxes to the grid's rounding as well. The cost is small: the last convs read 8-bit
 * inputs and weights and write float (ORT runs them as float convs on the dequantized values).
 */
import { consumerMap, producerMap } from '../ir/graph.js';
import { opsWhere } from '../ir/opKinds.js';
import type { Graph, Node } from '../ir/types.js';

/** Ops whose output is a function of one activation input alone, element by element or as a re-layout. */
const PER_VALUE_OPS: ReadonlySet<string> = new Set([...opsWhere('elementwise'), ...opsWhere('relayout'), 'Softmax']);
/** Binary ops that act as a per-value map when the other operand is a constant (a scale or an offset). */
const CONSTANT_OPERAND_OPS = opsWhere('constantOperand');

/** Activation inputs of `n` through which an output value is carried unchanged in kind, or undefined when `n` mixes activations or computes them (a layer). */
function carriedInputs(n: Node, graph: Graph): string[] | undefined {
  const acts = n.inputs.filter((v) => v && !graph.initializers.has(v));
  if (PER_VALUE_OPS.has(n.opType)) return n.opType === 'Concat' ? acts : acts.slice(0, 1);
  if (CONSTANT_OPERAND_OPS.has(n.opType) && acts.length === 1) return acts;
  return undefined;
}

/**
 * The output chains of `graph` (see the file comment): every value from which one of `ends` (default:
 * the graph outputs) is reached through per-value ops, the ends included. A value that something
 * outside the chain also reads (a feature the network uses further on) is left out: keeping it float
 * would change more than the outputs.
 */
export function outputChainValues(graph: Graph, ends: string[] = graph.outputs.map((o) => o.name)): Set<string> {
  const producer = producerMap(graph);
  const readers = consumerMap(graph);
  const inputs = new Set(graph.inputs.map((v) => v.name));
  const chain = new Set(ends.filter((v) => !graph.initializers.has(v)));
  // grows until no value joins: a value joins when every node reading it carries it into the chain
  for (let grew = true; grew; ) {
    grew = false;
    for (const v of [...chain]) {
      const p = producer.get(v);
      for (const i of (p && carriedInputs(p, graph)) ?? []) {
        if (chain.has(i) || inputs.has(i)) continue;
        const rs = readers.get(i) ?? [];
        if (rs.every((r) => carriedInputs(r, graph)?.includes(i) && r.outputs.some((o) => chain.has(o)))) {
          chain.add(i);
          grew = true;
        }
      }
    }
  }
  return chain;
}
