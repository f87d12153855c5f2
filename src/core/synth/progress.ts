/** Typed progress of image synthesis, as a worker posts it and the UI / CLI show it. */

export interface PreviewImage {
  width: number;
  height: number;
  /** width * height * 4 bytes, de-normalized with the model's mean/std and clipped to 0..255. */
  rgba: Uint8ClampedArray;
}

/** Summary of the per-layer BN losses at one step (unweighted, each divided by its channel count). */
export interface PerLayerLossSummary {
  min: number;
  max: number;
  mean: number;
  /** Node name of the BatchNorm whose statistics are matched worst. */
  worst: string;
}

export interface SynthStepEvent {
  type: 'synth-step';
  version: 1;
  /** 0-based batch index and the number of batches. */
  batch: number;
  batches: number;
  /** 0-based step within the batch and the number of steps per batch. */
  step: number;
  steps: number;
  /** The optimized objective at this step (with jitter/flip applied). */
  loss: number;
  /** Unweighted sum over BN layers of (||mean - mu||^2 + ||std - sigma||^2) / channels. */
  bnLoss: number;
  /** The weighted image-prior terms (input mean/std, total variation, L2). */
  priorLoss: number;
  /** Absent when the model has no BatchNorm (prior-only synthesis). */
  perLayer?: PerLayerLossSummary;
  /** Class-conditional synthesis only: the unweighted cross-entropy of the logits against the target classes. */
  classLoss?: number;
}

/** The class an image is synthesized for: its index in the model's output, and its name when the model gives one. */
export interface TargetClass {
  index: number;
  name?: string;
}

/** Version 2 added `classes`. */
export interface SynthPreviewEvent {
  type: 'synth-preview';
  version: 2;
  batch: number;
  step: number;
  images: PreviewImage[];
  /** Class-conditional synthesis: the target class of each image, in the order of `images`. */
  classes?: TargetClass[];
}

/** One BatchNorm layer: the batch's channel statistics against the stored running statistics. */
export interface BnChannelStats {
  name: string;
  mean: Float32Array;
  std: Float32Array;
  targetMean: Float32Array;
  /** sqrt(running variance + epsilon), what the batch std is matched to. */
  targetStd: Float32Array;
}

/** Sent with previews: per BN layer, how far the current batch is from the stored statistics. */
export interface SynthBnStatsEvent {
  type: 'synth-bn-stats';
  version: 1;
  batch: number;
  step: number;
  layers: BnChannelStats[];
}

export type SynthProgressEvent = SynthStepEvent | SynthPreviewEvent | SynthBnStatsEvent;

export type SynthProgressCallback = (event: SynthProgressEvent) => void;
