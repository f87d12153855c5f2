/**
 * Where a graph gets quantized: its weight layers (Conv/Gemm/MatMul with an initializer weight, in
 * execution order, first/last marked for the keep-8-bit rule) and its activation points (values that
 * pass through QuantizeLinear -> DequantizeLinear). Activation points follow docs/method.md: the
 * network input, every ReLU-like output (unsigned), and, with `includeLayerInputs`, any other input
 * of a quantized layer (so that every quantized layer has an integer input, e.g. after a linear
 * bottleneck Add or a Flatten).
 */
import { topologicalOrder } from '../ir/graph.js';
import type { Graph, Node } from '../ir/types.js';

const LAYER_OPS = new Set(['Conv', 'Gemm', 'MatMul']);

export interface QuantLayer {
  node: Node;
  weightName: string;
  first: boolean;
  last: boolean;
}

export function quantizableLayers(graph: Graph): QuantLayer[] {
  const layers = topologicalOrder(graph).filter((n) => LAYER_OPS.has(n.opType) && n.inputs[1] && graph.initializers.has(n.inputs[1]) && graph.initializers.get(n.inputs[1])!.dtype === 'float32');
  return layers.map((node, i) => ({ node, weightName: node.inputs[1], first: i === 0, last: i === layers.length - 1 }));
}

function isReluLike(n: Node, graph: Graph): boolean {
  if (n.opType === 'Relu') return true;
  if (n.opType === 'Clip') {
    const lo = n.inputs[1] ? graph.initializers.get(n.inputs[1]) : undefined;
    return !!lo && lo.data.length === 1 && lo.data[0] >= 0;
  }
  return false;
}

export interface ActivationPointOptions {
  /** Also quantize inputs of quantized layers that are not ReLU outputs or graph inputs. Default true. */
  includeLayerInputs?: boolean;
  /** Layers left in float (their inputs are not added by includeLayerInputs). */
  floatLayers?: Set<string>;
}

/** Value names to quantize, in execution order, without duplicates. */
export function activationPoints(graph: Graph, o: ActivationPointOptions = {}): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (v: string) => {
    if (v && !seen.has(v) && !graph.initializers.has(v)) {
      seen.add(v);
      out.push(v);
    }
  };
  for (const v of graph.inputs) if (v.dtype === 'float32' && !graph.initializers.has(v.name)) add(v.name);
  for (const n of topologicalOrder(graph)) {
    if (isReluLike(n, graph)) add(n.outputs[0]);
    if ((o.includeLayerInputs ?? true) && LAYER_OPS.has(n.opType) && !o.floatLayers?.has(n.name) && n.inputs[1] && graph.initializers.has(n.inputs[1])) add(n.inputs[0]);
  }
  return out;
}
