/**
 * "Evaluate on my own images": the user's decoded images, prepared for the model as calibration prepares
 * them, scored by the float model and the export in onnxruntime-web. Labels, when the folder gives them,
 * turn agreement into top-1 accuracy per model and per class.
 */
import { evaluationImages } from '../core/data/evaluationImages.js';
import type { Graph } from '../core/ir/types.js';
import type { InputNormalization, RgbaImage } from '../core/pipeline/types.js';
import { compareModels, type CompareResult } from '../core/verify/compareModels.js';
import { ortWebRuntime } from './ortWebRuntime.js';

/** What the worker keeps of the last finished run to evaluate it later. */
export interface EvaluableRun {
  floatOnnx: Uint8Array;
  quantOnnx: Uint8Array;
  folded: Graph;
  normalization: InputNormalization;
}

export async function evaluateInPage(run: EvaluableRun, images: RgbaImage[], labels: (number | null)[] | undefined, ortBase: string, signal?: AbortSignal): Promise<CompareResult> {
  const set = evaluationImages(run.folded, images, run.normalization);
  const usable = labels && labels.length === images.length && labels.every((l) => l !== null) ? (labels as number[]) : undefined;
  const ort = await ortWebRuntime(ortBase);
  return compareModels(ort, run.floatOnnx, run.quantOnnx, { images: set.images, shape: set.shape, labels: usable, batch: 16, signal });
}
