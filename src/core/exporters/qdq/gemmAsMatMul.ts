/**
 * Gemm -> MatMul (+ Add of the bias) before the QDQ export, because ONNX Runtime (1.30, CPU EP) leaves a
 * QDQ Gemm in float (its QGemm selector did not match in any form we tried: per tensor or per channel,
 * transB 0 or 1, with or without bias, explicit alpha/beta), while DQ -> MatMul -> Q becomes
 * QLinearMatMul (per-channel weight scales included).
 * The bias cannot follow the MatMul directly: ORT's MatMulAddFusion (level 1, before the QDQ rules) would
 * fuse MatMul + Add back into a float Gemm. So the MatMul output gets its own Q/DQ pair and the bias is
 * added in float after it (a vector add, negligible next to the product). That pair's grid is the layer's
 * planned output grid widened by the bias spread, so it holds every pre-bias value the output grid holds.
 */
import { consumerMap } from '../../ir/graph.js';
import type { Graph, Node } from '../../ir/types.js';
import { qparamsForRange } from '../../quant/observers.js';
import { qrange } from '../../quant/primitives.js';
import { transpose } from '../../quant/weightScale.js';
import type { ActivationPlan, QuantizationPlan } from './qdqOnnxExporter.js';

/** Gemm nodes this can rewrite: plain A x B (+ C) with a quantized weight and a planned output grid. */
function rewritable(n: Node, g: Graph, plan: QuantizationPlan, outGrid: ActivationPlan | undefined): boolean {
  const a = n.attrs;
  const bias = n.inputs[2] ? g.initializers.get(n.inputs[2]) : undefined;
  return (
    n.opType === 'Gemm' &&
    Number(a.alpha ?? 1) === 1 &&
    Number(a.beta ?? 1) === 1 &&
    Number(a.transA ?? 0) === 0 &&
    plan.layers.some((l) => l.node === n.name) &&
    !!outGrid &&
    (!n.inputs[2] || (!!bias && bias.dims.length === 1))
  );
}

/** Unsigned grid at `bits` covering [lo, hi] (lo <= 0 <= hi), zero exact. */
function gridFor(lo: number, hi: number, bits: number): ActivationPlan {
  const { scale, zeroPoint, signed } = qparamsForRange(lo, hi, bits, 'asymmetric');
  return { scale, zeroPoint, bits, signed };
}

export function gemmAsMatMul(input: Graph, plan: QuantizationPlan): { graph: Graph; plan: QuantizationPlan } {
  const consumers = consumerMap(input);
  const outputGrid = (n: Node): ActivationPlan | undefined => {
    const own = plan.activations[n.outputs[0]];
    if (own) return own;
    const cs = consumers.get(n.outputs[0]) ?? [];
    return cs.length === 1 && (cs[0].opType === 'Relu' || cs[0].opType === 'Clip') ? plan.activations[cs[0].outputs[0]] : undefined;
  };
  const targets = input.nodes.filter((n) => rewritable(n, input, plan, outputGrid(n)));
  if (!targets.length) return { graph: input, plan };
  const g: Graph = { ...input, initializers: new Map(input.initializers), nodes: [] };
  const layers = plan.layers.slice();
  const activations = { ...plan.activations };
  const taken = new Set<string>([...input.initializers.keys(), ...input.nodes.flatMap((n) => [...n.inputs, ...n.outputs])]);
  const fresh = (hint: string): string => {
    let name = hint;
    for (let i = 1; taken.has(name); i++) name = `${hint}_${i}`;
    taken.add(name);
    return name;
  };
  for (const n of input.nodes) {
    if (!targets.includes(n)) {
      g.nodes.push(n);
      continue;
    }
    const li = layers.findIndex((l) => l.node === n.name);
    const layer = layers[li];
    const w = input.initializers.get(n.inputs[1])!;
    const transB = Number(n.attrs.transB ?? 0) === 1;
    // MatMul's B is [K, N]: a transB weight is stored transposed, codes and float alike
    const [k, nOut] = transB ? [w.dims[1], w.dims[0]] : [w.dims[0], w.dims[1]];
    const wName = transB ? fresh(`${n.inputs[1]}_kn`) : n.inputs[1];
    if (transB) g.initializers.set(wName, { dtype: 'float32', dims: [k, nOut], data: transpose(w.data as Float32Array, nOut, k) });
    layers[li] = { ...layer, weightCodes: transB ? transpose(layer.weightCodes, nOut, k) : layer.weightCodes, axis: 1 };
    const bias = layer.bias ?? (n.inputs[2] ? (input.initializers.get(n.inputs[2])!.data as Float32Array) : undefined);
    if (!bias) {
      g.nodes.push({ ...n, opType: 'MatMul', inputs: [n.inputs[0], wName], attrs: {} });
      continue;
    }
    const out = outputGrid(n)!;
    const { qmin, qmax } = qrange(out.bits, out.signed);
    let bMin = Infinity;
    let bMax = -Infinity;
    for (const b of bias) {
      bMin = Math.min(bMin, b);
      bMax = Math.max(bMax, b);
    }
    const product = fresh(`${n.outputs[0]}_product`);
    activations[product] = gridFor(Math.min(0, (qmin - out.zeroPoint) * out.scale - bMax), Math.max(0, (qmax - out.zeroPoint) * out.scale - bMin), out.bits);
    const biasName = fresh(`${n.name}_bias`);
    g.initializers.set(biasName, { dtype: 'float32', dims: [bias.length], data: Float32Array.from(bias) });
    g.nodes.push({ ...n, opType: 'MatMul', inputs: [n.inputs[0], wName], outputs: [product], attrs: {} });
    g.nodes.push({ name: fresh(`${n.name}_bias_Add`), opType: 'Add', inputs: [product, biasName], outputs: [n.outputs[0]], attrs: {} });
    // the plan's bias now lives in the Add
    layers[li] = { ...layers[li], bias: undefined };
  }
  const used = new Set(g.nodes.flatMap((n) => n.inputs));
  for (const n of targets) for (const v of n.inputs.slice(1)) if (v && !used.has(v)) g.initializers.delete(v);
  return { graph: g, plan: { ...plan, layers, activations } };
}
