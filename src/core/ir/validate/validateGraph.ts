import { LocalQuantError } from '../../errors.js';
import { consumerMap, topologicalOrder } from '../graph.js';
import type { Graph, Node } from '../types.js';
import { MAX_DIM, MAX_TENSOR_ELEMENTS } from './limits.js';
import { checkNodeAttributes } from './opChecks.js';
import { checkFinite } from './tensorChecks.js';

/**
 * Import-time validation of an IR graph, whatever format it came from: structure (every value produced
 * once, outputs listed once, no cycle), declared input shapes within the memory budget, weights finite,
 * and per-op attribute ranges. Importers call it last, so a graph that leaves an importer is one the
 * executor can run without a kernel seeing a zero stride, a negative size or a NaN weight.
 */
export function validateGraph(g: Graph): void {
  checkStructure(g);
  for (const v of g.inputs) checkDeclaredInput(v.name, v.shape);
  checkFloatOperands(g);
  checkWeights(g);
  for (const n of g.nodes) checkNodeAttributes(g, n);
}

function structural(message: string): LocalQuantError {
  return new LocalQuantError('INVALID_MODEL', message, 'The file breaks its format\'s graph rules (damaged or hand-edited): export the model again.');
}

function checkStructure(g: Graph): void {
  const seenOutputs = new Set<string>();
  for (const o of g.outputs) {
    if (seenOutputs.has(o.name)) throw structural(`The model lists graph output '${o.name}' twice.`);
    seenOutputs.add(o.name);
  }
  const sources = new Map<string, string>();
  for (const v of g.inputs) sources.set(v.name, 'a graph input');
  for (const k of g.initializers.keys()) if (!sources.has(k)) sources.set(k, 'an initializer');
  for (const n of g.nodes) {
    const own = n.outputs.find((o) => o && n.inputs.includes(o));
    if (own) throw structural(`Node '${n.name}' (${n.opType}) reads its own output '${own}': the graph has a cycle.`);
    for (const o of n.outputs) {
      if (!o) continue;
      const before = sources.get(o);
      if (before) throw structural(`Node '${n.name}' (${n.opType}) writes '${o}', which ${before} already provides: every value must have one producer.`);
      sources.set(o, `node '${n.name}'`);
    }
  }
  topologicalOrder(g); // refuses cycles, naming a node on one
}

/** A declared input dimension: a positive integer within MAX_DIM, or symbolic. Budget per image. */
export function checkDeclaredInput(name: string, shape: (number | string | null)[] | null): void {
  if (!shape) return;
  let perImage = 1;
  shape.forEach((d, i) => {
    if (typeof d !== 'number') return;
    if (!Number.isInteger(d) || d < 1 || d > MAX_DIM) {
      throw new LocalQuantError(
        d > MAX_DIM ? 'TOO_LARGE' : 'INVALID_MODEL',
        `The model declares input '${name}' with shape [${shape.map((x) => x ?? '?').join(', ')}]: dimension ${i} is ${d}, ${d > MAX_DIM ? `more than LocalQuant's limit of ${MAX_DIM}` : 'not a positive integer'}.`,
        'Export the model with the input size it was trained for.',
      );
    }
    if (i > 0) perImage *= d;
  });
  if (perImage > MAX_TENSOR_ELEMENTS) {
    throw new LocalQuantError('TOO_LARGE', `The model's input '${name}' of shape [${shape.join(', ')}] needs ${perImage} values per image, more than LocalQuant's limit of ${MAX_TENSOR_ELEMENTS}.`, 'Export the model with a smaller input size.');
  }
}

/** Infinity is a legitimate bound (Clip min/max, a -inf Pad value), nowhere else in a conv net's weights. */
function infinityAllowed(consumers: Node[] | undefined, name: string): boolean {
  return !!consumers?.length && consumers.every((n) => (n.opType === 'Clip' || n.opType === 'Pad') && n.inputs.indexOf(name) >= 1);
}

function checkWeights(g: Graph): void {
  const consumers = consumerMap(g);
  for (const [name, t] of g.initializers) {
    const count = t.dims.reduce((a, b) => a * b, 1);
    if (t.data.length !== count) throw structural(`The model's initializer '${name}' has shape [${t.dims.join(', ')}] (${count} values) but holds ${t.data.length}.`);
    checkFinite(t, `initializer '${name}'`, infinityAllowed(consumers.get(name), name));
  }
}

/** Ops whose data input must be floating point (ONNX type constraint T: float types). */
const FLOAT_ONLY = new Set(['Conv', 'ConvTranspose', 'BatchNormalization', 'Gemm', 'MatMul', 'MaxPool', 'AveragePool', 'GlobalAveragePool']);

/** An integer graph input fed straight into a float-only op (a damaged element type) would run on cast garbage. */
function checkFloatOperands(g: Graph): void {
  const dtypes = new Map(g.inputs.map((v) => [v.name, v.dtype]));
  for (const n of g.nodes) {
    const d = dtypes.get(n.inputs[0]);
    if (d && !d.startsWith('float') && FLOAT_ONLY.has(n.opType)) {
      throw structural(`Node '${n.name}' (${n.opType}) reads graph input '${n.inputs[0]}' of type ${d}; ${n.opType} takes floating-point tensors.`);
    }
  }
}
