import type { Graph } from '../types.js';
import { foldBatchNorm } from './foldBatchNorm.js';
import { foldPadIntoConv } from './foldPadIntoConv.js';
import { mergeClamps } from './mergeClamps.js';

/** The graph quantization works on and the export is written from: BatchNorms folded, zero Pads folded into convs, chains of clamps merged. */
export function inferenceForm(graph: Graph): Graph {
  return mergeClamps(foldPadIntoConv(foldBatchNorm(graph).graph).graph).graph;
}
