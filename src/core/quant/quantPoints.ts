/**
 * Where a graph gets quantized: its weight layers (Conv/Gemm/MatMul with an initializer weight, in
 * execution order, first/last marked for the keep-8-bit rule) and its activation points (values that
 * pass through QuantizeLinear -> DequantizeLinear).
 *
 * Activation points follow ONNX Runtime's QDQ node units, so that its optimizer turns every quantized
 * layer and every op that has an integer kernel into that kernel (QLinearConv, QGemm, QLinearMatMul,
 * QLinearAdd, QLinearMul, QLinearConcat, QLinearAveragePool, QLinearGlobalAveragePool,
 * QLinearSigmoid, QLinearLeakyRelu): a node unit is DQ on every activation input -> op -> Q on the output.
 * - the network input, every input of a quantized layer or an integer-kernel op;
 * - the output of such a node, except when a ReLU-like node is its only consumer: then the ReLU output
 *   is the point, and ORT drops the ReLU because Q at zero point = qmin saturates the same way
 *   (ReluQuantFusion; ClipQuantFusion when the grid lies inside the Clip range);
 * - every ReLU-like output (unsigned grid, the cheapest place to quantize);
 * - the outputs of value-moving ops (Slice, Pad, Reshape, Flatten, MaxPool, ...) whose input is a point:
 *   they share the input's grid, which ORT requires to drop their Q/DQ and run them on integers;
 * - Concat inputs share the Concat output's grid (the output holds exactly the union of the inputs'
 *   values, so its range covers them all), so the Concat is exact and Slices after it (Ghost modules) too.
 * With `placement: 'layer-inputs'` only the network input, ReLU outputs and quantized-layer inputs are
 * points (weights-first placement: fewer requantizations, but ORT leaves the unmatched ops in float).
 * A layer-input split (quant/layerInputSplit.ts) adds its copies' points and removes the split values'.
 */
import { consumerMap, topologicalOrder } from '../ir/graph.js';
import { LAYER_OPS, opsWhere } from '../ir/opKinds.js';
import type { Graph, Node } from '../ir/types.js';

/** Ops ORT's CPU EP runs as integer kernels when wrapped in DQ -> op -> Q (besides weight layers). */
const INTEGER_KERNEL_OPS = opsWhere('integerKernel');
/** Ops whose output values are a subset/rearrangement of their first input's: the grid carries over. */
const VALUE_MOVING_OPS = opsWhere('keepsValues');

export interface QuantLayer {
  node: Node;
  weightName: string;
  first: boolean;
  /** No weight layer reads from it (see quantizableLayers). */
  last: boolean;
  /** A depthwise Conv: every group reads one input channel (weight dims [C_out, 1, kh, kw], group > 1). */
  depthwise: boolean;
}

/**
 * Weight layers in execution order. `last` marks every layer that no other weight layer reads from, directly
 * or through other ops: a classifier's FC, and each head conv of a detector with several heads (NanoDet's
 * three score/box convs, CenterNet's heatmap and size convs), which write the outputs as the FC does.
 */
export function quantizableLayers(graph: Graph): QuantLayer[] {
  const order = topologicalOrder(graph);
  const isLayer = (n: Node) => LAYER_OPS.has(n.opType) && !!n.inputs[1] && graph.initializers.has(n.inputs[1]) && graph.initializers.get(n.inputs[1])!.dtype === 'float32';
  const layers = order.filter(isLayer);
  const depthwise = (n: Node) => n.opType === 'Conv' && Number(n.attrs.group ?? 1) > 1 && graph.initializers.get(n.inputs[1])!.dims[1] === 1;
  // nodes below which some weight layer runs (reverse execution order: a node's readers are decided first)
  const consumers = consumerMap(graph);
  const layerBelow = new Set<Node>();
  for (let k = order.length - 1; k >= 0; k--) {
    const n = order[k];
    if (n.outputs.some((o) => (consumers.get(o) ?? []).some((c) => isLayer(c) || layerBelow.has(c)))) layerBelow.add(n);
  }
  return layers.map((node, i) => ({ node, weightName: node.inputs[1], first: i === 0, last: !layerBelow.has(node), depthwise: depthwise(node) }));
}

function isReluLike(n: Node, graph: Graph): boolean {
  if (n.opType === 'Relu') return true;
  if (n.opType === 'Clip') {
    const lo = n.inputs[1] ? graph.initializers.get(n.inputs[1]) : undefined;
    return !!lo && lo.data.length === 1 && lo.data[0] >= 0;
  }
  return false;
}

export type PointPlacement = 'integer-kernels' | 'layer-inputs';

export interface ActivationPointOptions {
  /** Also quantize inputs of quantized layers that are not ReLU outputs or graph inputs. Default true. */
  includeLayerInputs?: boolean;
  /** Layers left in float (their inputs and outputs are not added for them). */
  floatLayers?: Set<string>;
  /** Default 'integer-kernels'. */
  placement?: PointPlacement;
  /** Values quantized besides those the placement picks (quant/layerInputSplit.ts: the other readers' copy of a split value). */
  alsoPoints?: string[];
  /** Values never quantized (quant/layerInputSplit.ts: a split value, whose readers read its copies). */
  notPoints?: string[];
}

export interface ActivationPointPlan {
  /** Value names to quantize, in execution order, without duplicates. */
  points: string[];
  /** Point -> the point whose grid it reuses (resolved to a point that has its own grid). */
  shareWith: Map<string, string>;
}

function isQuantizedLayer(n: Node, graph: Graph, floatLayers?: Set<string>): boolean {
  return LAYER_OPS.has(n.opType) && !floatLayers?.has(n.name) && !!n.inputs[1] && graph.initializers.has(n.inputs[1]);
}

function isFloatActivation(v: string, graph: Graph): boolean {
  return !!v && !graph.initializers.has(v);
}

/** Points and grid sharing for a graph (see the file comment). */
export function activationPointPlan(graph: Graph, o: ActivationPointOptions = {}): ActivationPointPlan {
  const order = topologicalOrder(graph);
  const consumers = consumerMap(graph);
  const outputs = new Set(graph.outputs.map((v) => v.name));
  const points: string[] = [];
  const seen = new Set<string>();
  const excluded = new Set(o.notPoints);
  const add = (v: string) => {
    if (isFloatActivation(v, graph) && !seen.has(v) && !excluded.has(v)) {
      seen.add(v);
      points.push(v);
    }
  };
  /** Where a node's output gets its Q: the ReLU after it when that ReLU is its only consumer. */
  const quantizeOutput = (n: Node) => {
    const v = n.outputs[0];
    const cs = consumers.get(v) ?? [];
    if (cs.length === 1 && isReluLike(cs[0], graph) && !outputs.has(v)) add(cs[0].outputs[0]);
    else add(v);
  };
  const integerKernels = (o.placement ?? 'integer-kernels') === 'integer-kernels';
  for (const v of graph.inputs) if (v.dtype === 'float32') add(v.name);
  for (const v of o.alsoPoints ?? []) add(v);
  for (const n of order) {
    if (isReluLike(n, graph)) add(n.outputs[0]);
    const layer = isQuantizedLayer(n, graph, o.floatLayers);
    if (layer && (o.includeLayerInputs ?? true)) add(n.inputs[0]);
    if (!integerKernels) continue;
    if (layer) quantizeOutput(n);
    const activationInputs = n.inputs.filter((v) => isFloatActivation(v, graph));
    // Add/Mul with a constant operand are bias/scale steps, not integer kernels: left to the layer before.
    const kernel = INTEGER_KERNEL_OPS.has(n.opType) && (n.opType !== 'Add' && n.opType !== 'Mul' ? true : activationInputs.length === 2);
    if (kernel) {
      for (const v of activationInputs) add(v);
      quantizeOutput(n);
    }
  }
  const shareWith = new Map<string, string>();
  if (integerKernels) {
    const isPoint = (v: string) => seen.has(v);
    for (const n of order) {
      if (VALUE_MOVING_OPS.has(n.opType) && isPoint(n.inputs[0]) && !(n.opType === 'Pad' && padsNonZero(n, graph))) {
        for (const out of n.outputs) {
          if (!out) continue;
          add(out);
          if (!shareWith.has(out)) shareWith.set(out, n.inputs[0]);
        }
      }
    }
    for (const n of order) {
      if (n.opType !== 'Concat' || !isPoint(n.outputs[0])) continue;
      for (const v of n.inputs) if (isPoint(v) && !shareWith.has(v) && v !== n.outputs[0] && !graph.inputs.some((i) => i.name === v)) shareWith.set(v, n.outputs[0]);
    }
    // resolve chains to the point that owns a grid; a cycle (impossible in a DAG, but cheap to guard) keeps its own
    for (const k of [...shareWith.keys()]) {
      let r = shareWith.get(k)!;
      const visited = new Set([k]);
      while (shareWith.has(r) && !visited.has(r)) {
        visited.add(r);
        r = shareWith.get(r)!;
      }
      if (visited.has(r)) shareWith.delete(k);
      else shareWith.set(k, r);
    }
  }
  const position = new Map<string, number>();
  order.forEach((n, i) => n.outputs.forEach((v) => position.set(v, i)));
  const at = (v: string) => position.get(v) ?? -1;
  return { points: points.map((v, i) => [v, i] as const).sort((a, b) => at(a[0]) - at(b[0]) || a[1] - b[1]).map(([v]) => v), shareWith };
}

/** Pad with a non-zero constant adds a value the input grid may not hold. */
function padsNonZero(n: Node, graph: Graph): boolean {
  if ((n.attrs.mode ?? 'constant') !== 'constant') return false;
  const c = n.inputs[2] ? graph.initializers.get(n.inputs[2]) : undefined;
  const attrValue = typeof n.attrs.value === 'number' ? n.attrs.value : 0;
  return c ? c.data.length > 0 && Number(c.data[0]) !== 0 : attrValue !== 0;
}

/** Value names to quantize, in execution order, without duplicates. */
export function activationPoints(graph: Graph, o: ActivationPointOptions = {}): string[] {
  return activationPointPlan(graph, o).points;
}
