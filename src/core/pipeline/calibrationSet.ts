/**
 * The calibration images of a run, in the graph input's layout: synthesized from BatchNorm statistics (or
 * the image prior alone), Gaussian noise, the user's own images (cropped/resized to the model's input), or
 * images handed over by a caller (bench: real CIFAR-10 batches). Says what was actually used.
 */
import { nchwToNhwc } from '../data/layout.js';
import { LocalQuantError } from '../errors.js';
import type { Graph } from '../ir/types.js';
import { batchToRgba, findImageInput, noiseImages, synthesizeImages, userImagesResult } from '../synth/index.js';
import { unitPixelNormalization } from '../synth/pixelRange.js';
import type { SynthesisResult } from '../synth/index.js';
import type { SynthesisWorkers } from '../synth/parallelSynthesis.js';
import type { CalibrationSet } from './quantizeGraph.js';
import type { PipelineConfig, PipelineEvent, QuantizationReport } from './types.js';

/** Normalized NCHW images handed over by the caller, with a name for the report. */
export type SuppliedCalibration = CalibrationSet & { method: string };

export interface CalibrationOutcome {
  set: CalibrationSet;
  info: QuantizationReport['calibration'];
  /** True when images were optimized (synthesis): batch and steps then apply. */
  synthesized: boolean;
}

/** NCHW images -> the graph input's layout, after checking they fit the model's image shape. */
function inGraphLayout(images: Float32Array, shape: number[], graph: Graph): CalibrationSet {
  const input = findImageInput(graph);
  const [n, c, h, w] = shape;
  const [mc, mh, mw] = input.imageShape;
  if (shape.length !== 4 || c !== mc || h !== mh || w !== mw) {
    throw new LocalQuantError('BAD_INPUT', `Calibration images are [${shape.slice(1).join(', ')}] (C, H, W) but the model takes [${mc}, ${mh}, ${mw}].`,
      'Give images of the model\'s size, or use own images (they are resized to the model\'s input).');
  }
  return input.layout === 'NHWC' ? { images: nchwToNhwc(images, shape), shape: [n, h, w, c] } : { images, shape };
}

export async function calibrationSet(
  graph: Graph,
  config: PipelineConfig,
  onEvent: (e: PipelineEvent) => void,
  signal?: AbortSignal,
  supplied?: SuppliedCalibration,
  workers?: SynthesisWorkers,
): Promise<CalibrationOutcome> {
  if (supplied) {
    if (config.calibration.classConditional) throw new LocalQuantError('BAD_CONFIG', 'Class-conditional synthesis was asked, but the calibration images were supplied (nothing is synthesized).', 'Turn class-conditional synthesis off.');
    return { set: inGraphLayout(supplied.images, supplied.shape, graph), info: { method: supplied.method, images: supplied.shape[0], seconds: 0 }, synthesized: false };
  }
  const input = findImageInput(graph);
  const cal = config.calibration;
  const common = { numImages: cal.images, batchSize: cal.batch, steps: cal.steps, seed: config.seed, normalization: unitPixelNormalization(config.normalization) };
  let synth: SynthesisResult & { workers?: number };
  if (cal.source === 'noise') synth = noiseImages(input.imageShape, common);
  else if (cal.source === 'user-images') {
    const imgs = (cal.userImages ?? []).map((i) => ({ width: i.width, height: i.height, data: i.rgba }));
    synth = userImagesResult(imgs, input.imageShape, { ...common, numImages: Math.min(cal.images, imgs.length) });
  } else {
    const classWeight = cal.classConditional?.weight ?? 0;
    synth = await synthesizeImages(graph, { ...common, classWeight, method: cal.source === 'prior-only' ? 'prior-only' : 'auto' }, (e) => onEvent(e as PipelineEvent), signal, workers);
    if (synth.message) onEvent({ type: 'log', level: 'warn', message: synth.message });
  }
  const synthesized = synth.method === 'bn-statistics' || synth.method === 'prior-only';
  // Synthesis shows its own previews; for read images, show what the model will see (cropped, resized).
  if (!synthesized) onEvent({ type: 'synth-preview', images: batchToRgba(synth.images, synth.shape as [number, number, number, number], 8, common.normalization) });
  const n = synth.shape[0];
  const info: QuantizationReport['calibration'] = {
    method: synth.method,
    images: n,
    ...(synthesized ? { batch: Math.min(synth.options.batchSize, n), steps: synth.options.steps, startBnLoss: synth.startBnLoss, endBnLoss: synth.endBnLoss } : {}),
    ...(synth.classConditional ? { classConditional: synth.classConditional } : {}),
    ...(cal.source === 'user-images' && cal.userImagesFrom ? { from: cal.userImagesFrom } : {}),
    ...(synth.message ? { message: synth.message } : {}),
    ...(synth.workers ? { workers: synth.workers } : {}),
    seconds: synth.seconds,
  };
  return { set: inGraphLayout(synth.images, synth.shape, graph), info, synthesized };
}
