import { LocalQuantError } from '../errors.js';
import type { Graph } from '../ir/types.js';
import { asOutOfMemory, chooseBatch, memoryBudget, tryActivationBytesPerImage } from '../runtime/memoryBudget.js';
import { collectBatchNormStats } from './batchNormStats.js';
import { classifierOutput } from './classifierOutput.js';
import { planCalibration, type RequestedCalibration } from './fallback.js';
import { graphSynthesisModel } from './graphModel.js';
import { findImageInput } from './graphInput.js';
import { noiseImages } from './noise.js';
import { resolveSynthesisOptions, type SynthesisOptions } from './options.js';
import type { SynthProgressCallback } from './progress.js';
import { synthesizeInWorkers, type SynthesisWorkers } from './parallelSynthesis.js';
import { synthesizeWithModel, throwIfSynthesisCancelled, type SynthesisModel, type SynthesisResult } from './synthesizer.js';

export interface SynthesizeImagesOptions extends Partial<SynthesisOptions> {
  /** Default 'auto': BN statistics when the model has BatchNorm, else image-prior-only (with a message). */
  method?: RequestedCalibration;
}

/**
 * Calibration images for a graph, data-free: BN-statistics synthesis, image-prior-only synthesis or
 * Gaussian noise (see planCalibration). The result records the method used and, on a fallback, why.
 * The tfjs backend must be initialized (initBackend) before the call. With `workers`, BN-statistics
 * batches run on them, as many at once as they count (parallelSynthesis.ts; same images); the result's
 * `workers` says how many ran.
 */
export async function synthesizeImages(
  graph: Graph,
  options: SynthesizeImagesOptions = {},
  onProgress?: SynthProgressCallback,
  signal?: AbortSignal,
  workers?: SynthesisWorkers,
): Promise<SynthesisResult & { workers?: number }> {
  const { method: requested = 'auto', ...rest } = options;
  const o = resolveSynthesisOptions(rest);
  throwIfSynthesisCancelled(signal);
  const plan = planCalibration(graph, requested);
  const input = findImageInput(graph, o.imageSize);
  const optimized = plan.method === 'prior-only' || plan.method === 'bn-statistics';
  if (o.classWeight > 0 && !optimized) {
    throw new LocalQuantError('BAD_CONFIG', `Class-conditional synthesis optimizes images, and ${plan.method} calibration optimizes none.`, 'Turn class-conditional synthesis off, or synthesize the images.');
  }
  // Refused here, before any synthesis step, when the model is no classifier.
  const classifier = o.classWeight > 0 ? classifierOutput(graph, input) : undefined;
  let result: SynthesisResult & { workers?: number };
  switch (plan.method) {
    case 'noise':
      result = noiseImages(input.imageShape, o);
      break;
    case 'prior-only': {
      // The class term needs the model's logits; the image prior alone needs no forward pass.
      const model: SynthesisModel & { dispose?(): void } = classifier
        ? graphSynthesisModel(graph, [], input, classifier)
        : { imageShape: input.imageShape, batchNorms: [], captureBatchNormInputs: () => new Map() };
      try {
        result = await synthesizeWithModel(model, o, onProgress, signal);
      } finally {
        model.dispose?.();
      }
      break;
    }
    case 'bn-statistics': {
      // the batch that fits the backend's memory (backprop keeps every activation of the batch)
      const [c, h, w] = input.imageShape;
      const perImage = tryActivationBytesPerImage(graph, { [input.name]: input.layout === 'NHWC' ? [h, w, c] : [c, h, w] });
      const choice = chooseBatch({ perImage, budget: memoryBudget(), purpose: 'synthesis', requested: o.batchSize });
      const inParallel = workers && workers.count > 1 && o.numImages > choice.batch;
      const model = inParallel ? undefined : graphSynthesisModel(graph, collectBatchNormStats(graph), input, classifier);
      try {
        result = model ? await synthesizeWithModel(model, { ...o, batchSize: choice.batch }, onProgress, signal)
          : await synthesizeInWorkers(graph, { ...o, batchSize: choice.batch }, workers!, onProgress, signal);
      } catch (e) {
        throw asOutOfMemory(e, 'synthesis', choice.batch);
      } finally {
        model?.dispose();
      }
      if (choice.reduced) result = { ...result, message: [plan.message, `Synthesis ${choice.reduced}.`].filter(Boolean).join(' ') };
      break;
    }
    case 'user-images':
      throw new LocalQuantError(
        'BAD_CONFIG',
        'Own images are not synthesized: decode them and pass them to prepareUserImages.',
      );
  }
  return plan.message && !result.message ? { ...result, message: plan.message } : result;
}
