import { LocalQuantError } from '../../errors.js';
import type { ModelFile } from '../../ir/types.js';
import { describeBytes, tryParseJson } from '../sniff.js';

/** The parts of a TF.js model.json LocalQuant reads (tfjs-core io/types.ts, ModelJSON). */
export interface WeightQuantization {
  dtype: 'uint8' | 'uint16' | 'float16';
  scale?: number;
  min?: number;
}

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool' | 'string' | 'complex64';
  quantization?: WeightQuantization;
  group?: string;
}

export interface WeightsGroup {
  paths: string[];
  weights: WeightSpec[];
}

export interface ModelJson {
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  modelTopology: Record<string, unknown>;
  weightsManifest?: WeightsGroup[];
  signature?: unknown;
  userDefinedMetadata?: Record<string, unknown>;
}

export type TfjsKind = 'layers' | 'graph';

/** True when parsed JSON is a TF.js model.json (has a modelTopology object). */
export function isModelJson(json: unknown): json is ModelJson {
  return typeof json === 'object' && json !== null && !Array.isArray(json) && typeof (json as ModelJson).modelTopology === 'object' && (json as ModelJson).modelTopology !== null;
}

/** Layers model (Keras topology) or graph model (GraphDef with a node list), from content, not the file name. */
export function tfjsKind(model: ModelJson): TfjsKind {
  const topo = model.modelTopology;
  if (Array.isArray((topo as { node?: unknown }).node)) return 'graph';
  if ((topo as { model_config?: unknown }).model_config !== undefined || (topo as { class_name?: unknown }).class_name !== undefined) return 'layers';
  if (model.format === 'graph-model') return 'graph';
  if (model.format === 'layers-model') return 'layers';
  throw new LocalQuantError('NOT_A_MODEL', 'The model.json has a modelTopology that is neither a Keras model config nor a TensorFlow GraphDef.', 'Convert the model with tensorflowjs_converter (layers-model or graph-model output).');
}

/** Finds the model.json among the supplied files (by content) and parses it. */
export function findModelJson(files: ModelFile[]): { file: ModelFile; model: ModelJson } {
  const candidates: { file: ModelFile; model: ModelJson }[] = [];
  for (const file of files) {
    const json = tryParseJson(file.bytes);
    if (isModelJson(json)) candidates.push({ file, model: json });
  }
  if (candidates.length === 0) {
    const seen = files.map((f) => `'${f.name}' ${describeBytes(f.bytes)}`).join('; ');
    throw new LocalQuantError('NOT_A_MODEL', `None of the files is a TF.js model.json (JSON with a modelTopology): ${seen || 'no files'}.`, 'Select the model.json together with its .bin weight files.');
  }
  if (candidates.length > 1) {
    throw new LocalQuantError('BAD_INPUT', `Several TF.js model.json files were supplied (${candidates.map((c) => c.file.name).join(', ')}).`, 'Import one model at a time.');
  }
  return candidates[0];
}
