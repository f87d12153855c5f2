import type { Dim, DType, Graph, ModelFormat } from './types.js';

export interface ModelSummary {
  format: ModelFormat;
  /** Layout of 4-D inputs/outputs as the user sees them. */
  interfaceLayout: 'NCHW' | 'NHWC';
  inputs: { name: string; dtype: DType; shape: Dim[] | null }[];
  outputs: { name: string; dtype: DType; shape: Dim[] | null }[];
  /** Node count per operator type, most frequent first. */
  opCounts: Record<string, number>;
  nodeCount: number;
  /**
   * Elements of the initializers nodes consume as weights: float tensors, except BatchNorm running
   * statistics and quantization scales / zero points / shape-like operands; plus quantized weights
   * (the data input of DequantizeLinear).
   */
  parameterCount: number;
  batchNormCount: number;
  /** Total bytes of the files the model came in. */
  sizeBytes: number;
  opset: number;
  producer?: string;
}

/** Inputs (by op) that hold statistics, quantization parameters or small operands, not weights. */
const NOT_WEIGHTS: Record<string, number[]> = {
  BatchNormalization: [3, 4],
  QuantizeLinear: [1, 2],
  DequantizeLinear: [1, 2],
  Clip: [1, 2],
  Pad: [1, 2, 3],
  Resize: [1, 2, 3],
  Reshape: [1],
  Slice: [1, 2, 3, 4],
  Expand: [1],
  ConstantOfShape: [0],
};

const FLOAT_TYPES = new Set<DType>(['float32', 'float16', 'float64']);

/** What `localquant inspect` and the app's model card show. `fileBytes`: total size of the model's files. */
export function summarizeGraph(graph: Graph, fileBytes: number): ModelSummary {
  const counts = new Map<string, number>();
  for (const n of graph.nodes) counts.set(n.opType, (counts.get(n.opType) ?? 0) + 1);
  const opCounts = Object.fromEntries([...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));

  const counted = new Set<string>();
  let parameterCount = 0;
  for (const n of graph.nodes) {
    const skip = NOT_WEIGHTS[n.opType] ?? [];
    n.inputs.forEach((name, k) => {
      if (!name || counted.has(name) || skip.includes(k)) return;
      const t = graph.initializers.get(name);
      if (!t) return;
      const isQuantWeight = n.opType === 'DequantizeLinear' && k === 0;
      if (!FLOAT_TYPES.has(t.dtype) && !isQuantWeight) return;
      counted.add(name);
      parameterCount += t.data.length;
    });
  }
  const summary: ModelSummary = {
    format: graph.format,
    interfaceLayout: graph.interfaceLayout,
    inputs: graph.inputs.map((v) => ({ name: v.name, dtype: v.dtype, shape: v.shape ? v.shape.slice() : null })),
    outputs: graph.outputs.map((v) => ({ name: v.name, dtype: v.dtype, shape: v.shape ? v.shape.slice() : null })),
    opCounts,
    nodeCount: graph.nodes.length,
    parameterCount,
    batchNormCount: counts.get('BatchNormalization') ?? 0,
    sizeBytes: fileBytes,
    opset: graph.opset,
  };
  const producer = [graph.metadata.producerName, graph.metadata.producerVersion].filter(Boolean).join(' ');
  if (producer) summary.producer = producer;
  return summary;
}

/** A shape for people: [N, 3, 32, 32]; unknown dims as '?'. */
export function formatShape(shape: Dim[] | null): string {
  if (!shape) return '(unknown rank)';
  return `[${shape.map((d) => (d === null ? '?' : String(d))).join(', ')}]`;
}
