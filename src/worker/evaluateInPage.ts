/**
 * "Evaluate on my own images": the user's decoded images, prepared for the model as calibration prepares
 * them, scored by the float model and the export. Classifiers run in onnxruntime-web (top-1, per class when
 * the folder gives labels, the images where the two disagree); detectors get box agreement (a float
 * detection matched by a quantized one of the same class at IoU >= 0.5), run by our executor on the
 * exported QDQ graph.
 */
import { evaluationImages } from '../core/data/evaluationImages.js';
import { importModel } from '../core/importers/index.js';
import type { Graph } from '../core/ir/types.js';
import type { BoxAgreement } from '../core/pipeline/boxAgreement.js';
import { measureBoxAgreement } from '../core/pipeline/detectionAgreement.js';
import type { InputNormalization, RgbaImage } from '../core/pipeline/types.js';
import { compareModels, type CompareResult } from '../core/verify/compareModels.js';
import { ortWebRuntime } from './ortWebRuntime.js';

/** What the worker keeps of the last finished run to evaluate it later. */
export interface EvaluableRun {
  floatOnnx: Uint8Array;
  quantOnnx: Uint8Array;
  /** The float model (BN folded, a detector's tail included). */
  floatModel: Graph;
  normalization: InputNormalization;
  detector: boolean;
}

export type OwnImagesEvaluation = { kind: 'classification'; result: CompareResult } | { kind: 'detection'; result: BoxAgreement };

export async function evaluateInPage(run: EvaluableRun, images: RgbaImage[], labels: (number | null)[] | undefined, signal?: AbortSignal): Promise<OwnImagesEvaluation> {
  const set = evaluationImages(run.floatModel, images, run.normalization);
  if (run.detector) {
    const quant = importModel([{ name: 'model.quant.onnx', bytes: run.quantOnnx }]);
    const boxes = await measureBoxAgreement(run.floatModel, quant, set, { limit: images.length, signal });
    if (boxes) return { kind: 'detection', result: boxes };
  }
  const usable = labels && labels.length === images.length && labels.every((l) => l !== null) ? (labels as number[]) : undefined;
  const ort = await ortWebRuntime();
  return { kind: 'classification', result: await compareModels(ort, run.floatOnnx, run.quantOnnx, { images: set.images, shape: set.shape, labels: usable, batch: 16, signal }) };
}
