/**
 * The three export forms of a trained NetSpec, as bytes: ONNX with BatchNormalization kept, ONNX with BN
 * folded into the convolutions (the project's foldBatchNorm pass), and a TF.js layers model.
 */
import { writeOnnx } from '../../src/core/exporters/onnx/onnxWriter.js';
import { foldBatchNorm } from '../../src/core/ir/passes/foldBatchNorm.js';
import type { Checkpoint } from './checkpoint.js';
import type { NetSpec } from './netSpec.js';
import { toGraph, type WeightArrays } from './toGraph.js';
import { layersModelFiles, toLayersModel } from './toLayersModel.js';

export interface ExportedModel {
  onnxBn: Uint8Array;
  onnxFolded: Uint8Array;
  foldedCount: number;
  layers: { modelJson: string; shard: Uint8Array };
}

/** Weights by parameter name from a checkpoint's `param/<name>` tensors. */
export function checkpointWeights(tensors: Checkpoint<unknown>['tensors']): WeightArrays {
  const out: WeightArrays = new Map();
  for (const [k, t] of tensors) if (k.startsWith('param/')) out.set(k.slice('param/'.length), t.data);
  return out;
}

export async function exportModel(spec: NetSpec, weights: WeightArrays, metadata: Record<string, string> = {}): Promise<ExportedModel> {
  const graph = toGraph(spec, weights, metadata);
  const producer = { producerName: 'localquant-scripts-train', producerVersion: '1' };
  const folded = foldBatchNorm(graph);
  if (folded.kept.length) throw new Error(`BatchNorms not folded: ${folded.kept.map((k) => `${k.batchNorm} (${k.reason})`).join(', ')}`);
  const model = toLayersModel(spec, weights);
  const layers = await layersModelFiles(model);
  model.dispose();
  return {
    onnxBn: writeOnnx(graph, { opset: 13, ...producer, docString: `${spec.name}, BatchNormalization kept` }),
    onnxFolded: writeOnnx(folded.graph, { opset: 13, ...producer, docString: `${spec.name}, BatchNormalization folded into the convolutions` }),
    foldedCount: folded.folded.length,
    layers,
  };
}
