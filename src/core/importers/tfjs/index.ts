import type { Graph, ModelFile } from '../../ir/types.js';
import { importGraphModel } from './graph/graphModel.js';
import { importLayersModel } from './layers/layersModel.js';
import { findModelJson, tfjsKind } from './modelJson.js';
import { decodeWeightsManifest } from './weights.js';
import { checkedManifest } from './manifestSchema.js';
import { readingMalformed } from './malformed.js';
import { validateGraph } from '../../ir/validate/validateGraph.js';

export { SUPPORTED_LAYER_CLASSES } from './layers/layersModel.js';
export { SUPPORTED_TF_OPS } from './graph/graphModel.js';
export { decodeWeightsManifest, float16ToFloat32 } from './weights.js';
export { findModelJson, isModelJson, tfjsKind } from './modelJson.js';

/**
 * Imports a TF.js model (a model.json, found by content, plus the weight shards its manifest lists,
 * matched by base name) into the IR. Layers models (Keras topology) and graph models (GraphDef) are both
 * NHWC at their interface: the IR body is NCHW with Transposes at the 4-D inputs/outputs, and
 * graph.interfaceLayout records 'NHWC'.
 */
export function importTfjs(files: ModelFile[]): Graph {
  const { file, model } = findModelJson(files);
  const kind = tfjsKind(model);
  const manifest = checkedManifest(model.weightsManifest);
  const weights = decodeWeightsManifest(manifest, files);
  const graph = readingMalformed(`The modelTopology of '${file.name}'`, () => (kind === 'layers' ? importLayersModel(model, weights) : importGraphModel(model, weights)));
  graph.metadata.modelFile = file.name;
  graph.metadata.originalBytes = String(files.reduce((a, f) => a + f.bytes.length, 0));
  validateGraph(graph);
  return graph;
}

