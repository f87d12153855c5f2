/** Data-free calibration images: BN-statistics synthesis, image-prior-only synthesis, noise, own images. */
export { collectBatchNormStats, type BatchNormStats } from './batchNormStats.js';
export { batchNormLoss, makeBatchNormTargets, statisticAxes, type BatchNormTargets } from './bnLoss.js';
export { NO_BATCHNORM_MESSAGE, planCalibration, type CalibrationPlan, type RequestedCalibration } from './fallback.js';
export { findImageInput, type ImageInput } from './graphInput.js';
export { graphSynthesisModel } from './graphModel.js';
export { augment, clampToPixelRange, imagePriorLoss, roll2d, totalVariation, type Augmentation, type ImagePriorWeights } from './imagePrior.js';
export { noiseImages } from './noise.js';
export {
  DEFAULT_SYNTHESIS_OPTIONS, IMAGENET_NORMALIZATION, learningRateAt, resolveSynthesisOptions,
  type CalibrationMethod, type LearningRateSchedule, type Normalization, type SynthesisOptions,
} from './options.js';
export { batchToRgba, imageToRgba } from './preview.js';
export { clampPixelsInPlace, pixelRange } from './pixelRange.js';
export type { PerLayerLossSummary, PreviewImage, SynthPreviewEvent, SynthProgressCallback, SynthProgressEvent, SynthStepEvent } from './progress.js';
export { SeededRandom } from './prng.js';
export { synthesizeImages, type SynthesizeImagesOptions } from './synthesizeImages.js';
export { gaussianImages, synthesisObjective, synthesizeWithModel, type SynthesisModel, type SynthesisResult } from './synthesizer.js';
export { prepareUserImages, userImagesResult, type DecodedImage, type PrepareImagesOptions, type ResizeMode } from './userImages.js';
