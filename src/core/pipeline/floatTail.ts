/**
 * The pipeline's side of the float tail (ir/cut.ts): synthesis, calibration and quantization see only
 * the head; the exports and the evaluation get the tail back, in float; the report says what stayed
 * float and why.
 */
import { LocalQuantError } from '../errors.js';
import { cutFloatTail, spliceTail, type FloatTailCut, type TailStart } from '../ir/cut.js';
import { batchFreeReshapes } from '../ir/passes/batchFreeReshape.js';
import type { Graph } from '../ir/types.js';
import { OPS } from '../runtime/ops/index.js';

export interface FloatTailReport {
  /** Nodes where the tail begins, and why. */
  startsAt: TailStart[];
  /** Values the head hands to the tail (quantized network outputs, dequantized to float). */
  cutValues: string[];
  /** Every node that stayed float. */
  nodes: { name: string; opType: string }[];
  /** Whether the boundary was set by the user (--until) rather than found. */
  byUser: boolean;
}

export interface SplitGraph {
  /** What synthesis, calibration and quantization work on: the whole graph when there is no tail. */
  head: Graph;
  cut?: FloatTailCut;
}

/** Splits off the float tail; `until` (node or value names) overrides the automatic boundary. */
export function splitFloatTail(graph: Graph, until?: string[]): SplitGraph {
  const cut = cutFloatTail(graph, { until, runnable: (op) => op in OPS });
  if (cut && cut.head.nodes.length === 0) {
    throw new LocalQuantError('BAD_CONFIG', `Nothing is left to quantize: the float tail starts at the input (${cut.starts.map((s) => s.node).join(', ')}).`, 'Give --until a node further down the network.');
  }
  // the head runs on calibration batches, so its fixed-batch reshapes follow the batch
  const head = batchFreeReshapes(cut ? cut.head : graph).graph;
  return cut ? { head, cut } : { head };
}

/** The head graph (float or quantized) with the tail appended; unchanged when there is no tail. */
export function withFloatTail(head: Graph, cut: FloatTailCut | undefined): Graph {
  return cut ? spliceTail(head, cut) : head;
}

export function floatTailReport(cut: FloatTailCut | undefined, until?: string[]): FloatTailReport | undefined {
  if (!cut) return undefined;
  return { startsAt: cut.starts, cutValues: cut.cutValues, nodes: cut.tail.map((n) => ({ name: n.name, opType: n.opType })), byUser: !!until?.length };
}

/** One line for logs and the UI: where the float tail begins. */
export function describeFloatTail(r: FloatTailReport): string {
  const at = r.startsAt.map((s) => `${s.node} (${s.opType})`).join(', ');
  return `Float tail: ${r.nodes.length} node(s) stay float from ${at}${r.byUser ? ' (set by --until)' : `: ${r.startsAt[0]?.reason ?? ''}`}.`;
}

/** The TF.js exporter writes the head only; a model with a tail gets its tail in the ONNX export. */
export function refuseTfjsWithTail(cut: FloatTailCut | undefined): void {
  if (cut) {
    throw new LocalQuantError('UNSUPPORTED_OP', `The TF.js export does not carry a float tail yet (${cut.tail.length} post-processing node(s) from ${cut.starts[0].node}).`, 'Use the ONNX export, which keeps the tail in float.');
  }
}
