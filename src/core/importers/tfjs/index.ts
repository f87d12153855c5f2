import { isLocalQuantError, LocalQuantError } from '../../errors.js';
import type { Graph, ModelFile } from '../../ir/types.js';
import { importGraphModel } from './graph/graphModel.js';
import { importLayersModel } from './layers/layersModel.js';
import { findModelJson, tfjsKind } from './modelJson.js';
import { decodeWeightsManifest } from './weights.js';
import { checkedManifest } from './manifestSchema.js';
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
  const graph = malformedAsTyped(file.name, () => (kind === 'layers' ? importLayersModel(model, weights) : importGraphModel(model, weights)));
  graph.metadata.modelFile = file.name;
  graph.metadata.originalBytes = String(files.reduce((a, f) => a + f.bytes.length, 0));
  validateGraph(graph);
  return graph;
}

/**
 * The topology readers walk user-supplied JSON: a field of the wrong type (a number where a list is due,
 * a missing config) surfaces as a TypeError or RangeError deep inside them. Such a file is malformed, and
 * the user gets that as a typed error with the reader's own words for the detail.
 */
function malformedAsTyped<T>(fileName: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (isLocalQuantError(e)) throw e;
    const detail = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    throw new LocalQuantError('INVALID_MODEL', `'${fileName}' has a malformed modelTopology (${detail.slice(0, 200)}).`, 'Convert the model again with tensorflowjs_converter, or restore the original model.json.');
  }
}
