import type { Graph } from '../types.js';
import { foldBatchNorm } from './foldBatchNorm.js';
import { foldPadIntoConv } from './foldPadIntoConv.js';

/** The graph quantization works on and the export is written from: BatchNorms folded, zero Pads folded into convs. */
export function inferenceForm(graph: Graph): Graph {
  return foldPadIntoConv(foldBatchNorm(graph).graph).graph;
}
