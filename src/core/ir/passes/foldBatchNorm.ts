/**
 * Fold inference-form BatchNormalization into the Conv / Gemm / ConvTranspose that feeds it:
 *   BN(y) = a * (y - mean) + beta,  a = gamma / sqrt(var + eps)
 *   => W' = a (per output channel) * W,  b' = a * (b - mean) + beta.
 * Only when the layer's output feeds nothing but the BN (and is not a graph output), the BN has one
 * output, and all parameters are initializers. Returns a new Graph; the input graph is not touched
 * (initializer data arrays that did not change are shared).
 */
import { cloneGraph, consumersOf, producerMap } from '../graph.js';
import type { Graph, Node, TensorData } from '../types.js';

export interface FoldBatchNormResult {
  graph: Graph;
  /** Names of the BN nodes folded away, and the layer each went into. */
  folded: { batchNorm: string; into: string }[];
  /** BN nodes kept, with the reason (for the report). */
  kept: { batchNorm: string; reason: string }[];
}

function floatData(t: TensorData | undefined): Float32Array | null {
  if (!t || t.dtype !== 'float32') return null;
  return t.data as Float32Array;
}

function uniqueName(g: Graph, hint: string, taken: Set<string>): string {
  let name = hint;
  for (let i = 1; g.initializers.has(name) || taken.has(name); i++) name = `${hint}_${i}`;
  taken.add(name);
  return name;
}

/** An inference BatchNormalization's parameters (one value per channel) and its epsilon. */
export interface BatchNormParams {
  gamma: Float32Array;
  beta: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
  epsilon: number;
}

/**
 * The one BN-folding rule (this pass and the executor's fused Conv+BN kernels both use it):
 * W' = a * W along the output-channel `axis` of `wDims`, b' = a * (biasScale * b - mean) + beta,
 * a = gamma / sqrt(var + eps). `bias` null means no bias (zeros).
 */
export function foldedLayerParams(bn: BatchNormParams, w: Float32Array, wDims: number[], axis: number, bias: Float32Array | null, biasScale = 1): { w: Float32Array; b: Float32Array } {
  const c = bn.gamma.length;
  const a = new Float32Array(c);
  for (let i = 0; i < c; i++) a[i] = bn.gamma[i] / Math.sqrt(bn.variance[i] + bn.epsilon);
  let inner = 1;
  for (let d = axis + 1; d < wDims.length; d++) inner *= wDims[d];
  const newW = new Float32Array(w.length);
  for (let i = 0; i < w.length; i++) newW[i] = w[i] * a[Math.floor(i / inner) % c];
  const newB = new Float32Array(c);
  for (let i = 0; i < c; i++) newB[i] = a[i] * ((bias ? biasScale * bias[i] : 0) - bn.mean[i]) + bn.beta[i];
  return { w: newW, b: newB };
}

export function foldBatchNorm(input: Graph): FoldBatchNormResult {
  const g = cloneGraph(input, { shareTensors: true });
  const folded: FoldBatchNormResult['folded'] = [];
  const kept: FoldBatchNormResult['kept'] = [];
  const graphOutputs = new Set(g.outputs.map((o) => o.name));
  const taken = new Set<string>();
  for (const n of g.nodes) for (const v of [...n.inputs, ...n.outputs]) taken.add(v);
  // read live (not a map built once): each fold rewires inputs, which changes later answers
  const uses = (value: string): Node[] => consumersOf(g, value);
  const producer = producerMap(g);
  const removed = new Set<Node>();
  const bnParams = new Set<string>();

  for (const bn of g.nodes) {
    if (bn.opType !== 'BatchNormalization') continue;
    const why = tryFold(bn);
    if (why) kept.push({ batchNorm: bn.name, reason: why });
  }
  g.nodes = g.nodes.filter((n) => !removed.has(n));
  // BN parameters nothing else reads are dropped
  const stillUsed = new Set<string>();
  for (const n of g.nodes) for (const v of n.inputs) stillUsed.add(v);
  for (const o of g.outputs) stillUsed.add(o.name);
  for (const v of bnParams) if (!stillUsed.has(v)) g.initializers.delete(v);
  return { graph: g, folded, kept };

  function tryFold(bn: Node): string | null {
    if (bn.outputs.filter((o) => o).length !== 1) return 'BatchNormalization in training form (more than one output)';
    const layer = producer.get(bn.inputs[0]);
    if (!layer || !['Conv', 'Gemm', 'ConvTranspose'].includes(layer.opType)) return 'input does not come from a Conv, Gemm or ConvTranspose';
    if (graphOutputs.has(bn.inputs[0]) || uses(bn.inputs[0]).length !== 1) return `output of ${layer.name} has other consumers`;
    const [gamma, beta, mean, varr] = bn.inputs.slice(1, 5).map((v) => floatData(g.initializers.get(v)));
    if (!gamma || !beta || !mean || !varr) return 'BatchNormalization parameters are not float32 initializers';
    const w = g.initializers.get(layer.inputs[1]);
    const wData = floatData(w);
    if (!w || !wData) return `weight of ${layer.name} is not a float32 initializer`;
    const eps = typeof bn.attrs.epsilon === 'number' ? bn.attrs.epsilon : 1e-5;
    const c = gamma.length;

    // where the output channel sits in the weight
    let axis: number;
    let biasScale = 1; // Gemm: C is multiplied by beta
    if (layer.opType === 'Conv') axis = 0;
    else if (layer.opType === 'ConvTranspose') {
      if ((layer.attrs.group ?? 1) !== 1) return `${layer.name} is a grouped ConvTranspose`;
      axis = 1;
    } else {
      if (w.dims.length !== 2) return `weight of ${layer.name} is not 2-D`;
      axis = layer.attrs.transB ? 0 : 1;
      biasScale = typeof layer.attrs.beta === 'number' ? layer.attrs.beta : 1;
    }
    if (w.dims[axis] !== c) return `${layer.name} has ${w.dims[axis]} output channels, BN has ${c}`;

    const biasName = layer.inputs[2] ?? '';
    let oldBias: Float32Array | null = null;
    if (biasName) {
      const bt = g.initializers.get(biasName);
      oldBias = floatData(bt);
      if (!bt || !oldBias) return `bias of ${layer.name} is not a float32 initializer`;
      if (oldBias.length !== c) return `bias of ${layer.name} is not one value per output channel`;
    }
    const { w: newW, b: newB } = foldedLayerParams({ gamma, beta, mean, variance: varr, epsilon: eps }, wData, w.dims, axis, oldBias, biasScale);

    // Initializers shared with other nodes get new names; exclusive ones are replaced in place.
    const wName = uses(layer.inputs[1]).length === 1 ? layer.inputs[1] : uniqueName(g, `${layer.inputs[1]}_bnfold`, taken);
    g.initializers.set(wName, { dtype: 'float32', dims: w.dims.slice(), data: newW });
    const bName = biasName && uses(biasName).length === 1 ? biasName : uniqueName(g, `${layer.name}.bias_bnfold`, taken);
    g.initializers.set(bName, { dtype: 'float32', dims: [c], data: newB });
    layer.inputs = [layer.inputs[0], wName, bName];
    if (layer.opType === 'Gemm') layer.attrs = { ...layer.attrs, beta: 1 };
    // the layer now produces the BN's output directly
    const oldOut = layer.outputs[0];
    layer.outputs = [bn.outputs[0]];
    producer.set(bn.outputs[0], layer);
    g.valueInfo.delete(oldOut);
    removed.add(bn);
    for (const v of bn.inputs.slice(1)) bnParams.add(v);
    bn.inputs = []; // no longer counts as a consumer
    folded.push({ batchNorm: bn.name, into: layer.name });
    return null;
  }
}

/** Drop initializers no node uses any more (BN parameters after folding). Returns a new Graph. */
export function dropUnusedInitializers(input: Graph): Graph {
  const g = cloneGraph(input, { shareTensors: true });
  const used = new Set<string>();
  for (const n of g.nodes) for (const v of n.inputs) used.add(v);
  for (const o of g.outputs) used.add(o.name);
  for (const k of [...g.initializers.keys()]) if (!used.has(k)) g.initializers.delete(k);
  return g;
}
