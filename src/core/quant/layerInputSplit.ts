/**
 * Low-bit activations at the inputs of weight layers only (QuantConfig.activationBitsAt 'layer-inputs').
 *
 * A value that layers read below 8 bits and that something else reads too (a residual Add, a pool, an
 * 8-bit or float layer, a graph output) gets an Identity copy for those low-bit layer readers: the copy
 * takes the low-bit grid on the way into the layers, the value itself keeps 8 bits for its other readers.
 * The skip path of a residual block then carries 8-bit values, as in LSQ/PACT-style W4A4 and the
 * rotation methods (QuaRot), where only the inputs of the matmuls/convs are low-bit (measured in
 * QuantConfig.activationBitsAt's doc).
 */
import { consumerMap } from '../ir/graph.js';
import type { Graph, Node } from '../ir/types.js';

/** Name of the Identity output that low-bit layers read instead of `value`. */
export const layerInputCopyName = (value: string) => `${value}/layer_input`;
/** Name of the Identity output that the other node readers of a split `value` read instead of it. */
export const otherReadersCopyName = (value: string) => `${value}/other_readers`;

export interface LayerInputSplit {
  /** A new graph (nodes that change are new objects; the rest, initializers included, are shared). */
  graph: Graph;
  /** Split value -> its copy that the low-bit layers read now. */
  copies: Map<string, string>;
  /** Split value -> its copy that its other node readers read now (absent when a graph output is its only other reader). */
  otherCopies: Map<string, string>;
}

/**
 * `layerActivationBits`: each quantized layer's activation bits after overrides (absent or null: float).
 * The network inputs are never split: they are 8-bit image data, which every layer reads at 8 bits anyway.
 * Both copies read the float value, which itself gets no grid: ONNX Runtime's extended optimizations
 * mishandle a low-bit Clip -> Q chain that starts from another grid's DequantizeLinear (ResNet-20 W8A4
 * with DQ8 -> Clip -> Q4 copies: 91.45 top-1 with basic optimizations, 90.00 with extended, on 2,000
 * test images), and two grids from the float value are what the simulation computes anyway.
 */
export function splitLowBitLayerInputs(graph: Graph, layerActivationBits: Map<string, { activationBits: number } | null>): LayerInputSplit {
  const consumers = consumerMap(graph);
  const outputs = new Set(graph.outputs.map((v) => v.name));
  const inputs = new Set(graph.inputs.map((v) => v.name));
  const lowBitReader = (n: Node, v: string) => {
    const b = layerActivationBits.get(n.name);
    return !!b && b.activationBits < 8 && n.inputs[0] === v && n.inputs.indexOf(v, 1) < 0;
  };
  const rewired = new Map<Node, Node>();
  const rewire = (n: Node, from: string, to: string) => {
    const r = rewired.get(n) ?? { ...n, inputs: [...n.inputs] };
    r.inputs = r.inputs.map((i) => (i === from ? to : i));
    rewired.set(n, r);
  };
  const copies = new Map<string, string>();
  const otherCopies = new Map<string, string>();
  const added: Node[] = [];
  for (const [v, readers] of consumers) {
    if (inputs.has(v) || graph.initializers.has(v)) continue;
    const low = readers.filter((n) => lowBitReader(n, v));
    const others = readers.filter((n) => !low.includes(n));
    if (!low.length || (!others.length && !outputs.has(v))) continue;
    const copy = layerInputCopyName(v);
    copies.set(v, copy);
    added.push({ name: `${copy}_copy`, opType: 'Identity', inputs: [v], outputs: [copy], attrs: {} });
    for (const n of low) rewire(n, v, copy);
    if (!others.length) continue;
    const other = otherReadersCopyName(v);
    otherCopies.set(v, other);
    added.push({ name: `${other}_copy`, opType: 'Identity', inputs: [v], outputs: [other], attrs: {} });
    for (const n of others) rewire(n, v, other);
  }
  if (!copies.size) return { graph, copies, otherCopies };
  const valueInfo = new Map(graph.valueInfo);
  for (const [v, copy] of [...copies, ...otherCopies]) {
    const info = graph.valueInfo.get(v);
    if (info) valueInfo.set(copy, { ...info, name: copy });
  }
  return { graph: { ...graph, nodes: [...graph.nodes.map((n) => rewired.get(n) ?? n), ...added], valueInfo }, copies, otherCopies };
}

/** The graph whose activations get grids under `cfg` (split with 'layer-inputs', as is otherwise). */
export function gridGraph(graph: Graph, cfg: { activationBitsAt: 'layer-inputs' | 'every-activation' }, layerActivationBits: Map<string, { activationBits: number } | null>): LayerInputSplit {
  return cfg.activationBitsAt === 'layer-inputs' ? splitLowBitLayerInputs(graph, layerActivationBits) : { graph, copies: new Map(), otherCopies: new Map() };
}

/** The point options of a split: the other readers' copies are quantized, the split values themselves not. */
export function splitPoints(split: LayerInputSplit): { alsoPoints: string[]; notPoints: string[] } {
  return { alsoPoints: [...split.otherCopies.values()], notPoints: [...split.copies.keys()] };
}
