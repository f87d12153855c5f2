/**
 * Typed, versioned boundary of the whole data-free pipeline (import -> synthesize -> quantize -> export).
 * The worker, the UI and the CLI speak these types; bump PIPELINE_SCHEMA_VERSION on any breaking change.
 */
import type { QuantizationPlan } from '../exporters/qdq/qdqOnnxExporter.js';
import type { DeploymentTarget } from '../quant/config.js';
import type { Graph } from '../ir/types.js';
import type { LayerReport } from './quantizeGraph.js';
import type { BoxAgreement } from './boxAgreement.js';
import type { FloatActivation } from './activationFallback.js';
import type { FloatTailReport } from './floatTail.js';
import type { EqualizationReport } from './equalize.js';
import type { SynthBnStatsEvent, TargetClass } from '../synth/progress.js';
import type { ClassConditionalResult } from '../synth/synthesizer.js';
import type { MixedPrecisionReport, SizeBudget } from '../algos/mixedPrecision/sizeBudget.js';

export const PIPELINE_SCHEMA_VERSION = 1;

export type BackendPreference = 'auto' | 'webgpu' | 'wasm' | 'cpu';
export type CalibrationSource = 'synthetic' | 'noise' | 'prior-only' | 'user-images';

export interface InputNormalization {
  /**
   * Per-channel mean and std, applied to 8-bit pixels p (0..255) as (p / pixelRange - mean) / std:
   * pixelRange 255 when the model was trained on pixels in 0..1 (mean/std in 0..1 units), 1 when it was
   * trained on raw 0..255 pixels (mean/std in 0..255 units, e.g. Caffe-style 123.7, 116.3, 103.5).
   */
  mean: number[];
  std: number[];
  pixelRange: number;
}

/** A decoded calibration image: RGBA bytes, row-major (what ImageData, pngjs and jpeg-js give). */
export interface RgbaImage {
  width: number;
  height: number;
  rgba: Uint8Array | Uint8ClampedArray;
}

export interface PipelineConfig {
  version: 1;
  backend: BackendPreference;
  seed: number;
  normalization: InputNormalization;
  calibration: {
    source: CalibrationSource;
    images: number;
    steps: number;
    batch: number;
    /** For 'user-images': decoded RGBA images supplied by the caller (resized and cropped to the model's input). */
    userImages?: RgbaImage[];
    /** For 'user-images': where they came from, for the report (e.g. "folder photos (12 files)"). */
    userImagesFrom?: string;
    /**
     * Class-conditional synthesis (DeepInversion): image i is synthesized for class i mod classes, with a
     * cross-entropy term of this weight on the logits beside the BN loss. Synthesized sources only, and
     * classifiers only (one output [N, classes]); refused otherwise. Absent: off.
     */
    classConditional?: { weight: number };
  };
  quant: {
    weightBits: 2 | 3 | 4 | 8;
    activationBits: 4 | 8 | 32;
    rounding: 'adaptive' | 'nearest';
    keepFirstLast8bit: boolean;
    perChannel: boolean;
    activationObserver: 'minmax' | 'percentile' | 'mse';
    biasCorrection: boolean;
    adaroundIterations: number;
    overrides: Record<string, { weightBits?: number; activationBits?: number; float?: boolean }>;
    /** Deployment target of the ONNX export (quant/config.ts DeploymentTarget); default 'ort-cpu'. */
    target?: DeploymentTarget;
    /** Layer-wise rounding, or blocks optimised jointly (quant/config.ts QuantConfig.reconstruction); default 'layer'. */
    reconstruction?: 'layer' | 'block';
    /** QDrop during block reconstruction (random dropping of activation quantization, p = 0.5); default false. */
    qdrop?: boolean;
    /** Cross-layer equalization before quantization (quant/config.ts QuantConfig.equalization); default false. */
    equalization?: boolean;
    /**
     * Where activation bits below 8 apply (quant/config.ts QuantConfig.activationBitsAt): 'layer-inputs'
     * (skip paths and other non-layer readers keep 8 bits) or 'every-activation'; default 'layer-inputs'.
     */
    activationBitsAt?: 'layer-inputs' | 'every-activation';
    /**
     * The channel-noise rule (pipeline/activationFallback.ts): an 8-bit activation whose grid leaves some output
     * channel of a conv reading it below this SQNR (dB) keeps float; null quantizes every activation. Higher
     * keeps more activations float: closer to the float model, fewer integer kernels. Default 20
     * (FLOAT_ACTIVATIONS_BELOW_DB); the report's config gives the value applied.
     */
    floatActivationsBelowDb?: number | null;
    /** Block reconstruction: weight of the KL term on the logits (quant/config.ts AdaroundConfig.blockLogitWeight); default 0. */
    blockLogitWeight?: number;
    /** Block reconstruction: Adam rate on the layers' biases (quant/config.ts AdaroundConfig.blockBiasLr); default 0. */
    blockBiasLr?: number;
    /** Block reconstruction: Adam rate on the log weight scales (quant/config.ts AdaroundConfig.blockWeightScaleLr); default 0. */
    blockWeightScaleLr?: number;
  };
  export: { onnx: boolean; tfjs: boolean };
  /** Detectors: where the float tail (post-processing kept float) begins, overriding the automatic cut. */
  floatTail?: { until: string[] };
  /**
   * Mixed precision: the largest ONNX file wanted, as a share of the float model file (`fraction`) or in
   * bytes; per-layer weight bits (2, 3, 4, 8) are then chosen by sensitivity (algos/mixedPrecision) and
   * override quant.weightBits (the applied overrides are in the report's config).
   */
  sizeBudget?: SizeBudget;
}

export type Stage = 'import' | 'backend' | 'synthesis' | 'calibration' | 'rounding' | 'export' | 'evaluation' | 'verification';

export type LayerStatus = 'waiting' | 'running' | 'done';

export type PipelineEvent =
  | { type: 'stage'; stage: Stage; status: 'start' | 'end'; seconds?: number; message?: string }
  | { type: 'backend'; name: string; reason: string }
  | { type: 'layers'; layers: { name: string; opType: string; weightBits: number; activationBits: number }[] }
  | { type: 'layer'; name: string; status: LayerStatus; iteration?: number; iterations?: number; loss?: number; nearestError?: number; adaptiveError?: number }
  | BlockEvent
  | { type: 'synth-step'; version: 1; batch: number; batches: number; step: number; steps: number; loss: number; bnLoss: number; priorLoss: number; classLoss?: number }
  /** Synthesis sends version 2 (with `classes` under class-conditional synthesis); read images come without batch/step. */
  | { type: 'synth-preview'; version?: 2; images: { width: number; height: number; rgba: Uint8ClampedArray }[]; classes?: TargetClass[] }
  | SynthBnStatsEvent
  | { type: 'log'; level: 'info' | 'warn'; message: string };

/**
 * Block reconstruction progress (version 1): 'blocks' once with the blocks found, then 'block' events per
 * block (running with the iteration and the loss on the current mini-batch; done with the block-output
 * errors of the rounding kept and of round-to-nearest, on every calibration image).
 */
export type BlockEvent =
  | { type: 'blocks'; version: 1; blocks: { name: string; layers: string[] }[] }
  | { type: 'block'; version: 1; name: string; index: number; status: LayerStatus; iteration?: number; iterations?: number; loss?: number; recLoss?: number; nearestError?: number; blockError?: number };

/** One reconstructed block as the report records it (errors: block output MSE, summed over channels). */
export interface BlockReport {
  name: string;
  layers: string[];
  inputs: string[];
  outputs: string[];
  iterations: number;
  batch: number;
  /** QDrop drop probability used (0: activation quantization always on). */
  qdrop: number;
  /**
   * The logit term applied (adaround.blockLogitWeight): its relative weight, the absolute weight of the KL
   * it gave (algos/blockReconstruction.ts LogitTerm) and the images per mini-batch it was taken on; the
   * errors below are then the objective, block output error + klWeight x mean KL of the logits.
   */
  logitTerm?: { weight: number; klWeight: number; batch: number };
  nearestError: number;
  /** Error of the layer-wise adaptive rounding the block started from. */
  layerWiseError?: number;
  /** Error of the rounding kept (the lowest of the three on the calibration images). */
  blockError: number;
  /** Which rounding was kept: jointly optimised, the layer-wise start, or nearest. */
  kept: 'block' | 'initial' | 'nearest';
  /**
   * Step sizes of the activation grids learned inside the block, when they were kept (they are the grids
   * the export and `activations` carry); `calibratedGridError`: the kept codes on the calibrated grids.
   */
  activationScales?: { value: string; calibrated: number; learned: number }[];
  calibratedGridError?: number;
  /**
   * Biases learned inside the block (adaround.blockBiasLr), when they were kept: per layer, the RMS of the
   * shift and of the float bias over channels; `originalBiasError`: the kept codes with the float biases.
   */
  learnedBiases?: { layer: string; rmsShift: number; rmsBias: number }[];
  originalBiasError?: number;
  /**
   * Weight scales learned inside the block (adaround.blockWeightScaleLr), when they were kept: per layer, the
   * smallest and largest learned / calibrated ratio over channels; `calibratedWeightScaleError`: with the calibrated scales.
   */
  learnedWeightScales?: { layer: string; minRatio: number; maxRatio: number }[];
  calibratedWeightScaleError?: number;
  seconds: number;
}

/** What a finished run hands back (the worker transfers the byte arrays). */
export interface PipelineResult {
  version: 1;
  /** QDQ ONNX model bytes (absent when config.export.onnx is false). */
  onnx?: Uint8Array;
  report: QuantizationReport;
  sizeBefore: number;
  sizeAfter: number;
  /** Top-1 agreement of the quantized model with the float model: what it was measured on is `agreementOn`. */
  agreement: number;
  agreementOn: AgreementBasis;
  /** The configuration as applied (see QuantizationReport.config). */
  config: PipelineConfig;
  /** The quantization plan and the BN-folded float graph it applies to (for further exports). */
  plan?: QuantizationPlan;
  folded?: Graph;
  /** The float model the export is compared with: `folded` plus a detector's float tail (ONNX-writable). */
  floatModel?: Graph;
  /** The calibration images in the graph input's layout, and where they came from (for views and checks). */
  calibration?: { images: Float32Array; shape: number[]; method: string };
  /** TF.js graph model (model.json + weight shards), when config.export.tfjs. */
  tfjs?: { files: { name: string; bytes: Uint8Array }[] };
}

/** What a top-1 agreement figure was measured on: never a labelled test set, so the UI must say so. */
export interface AgreementBasis {
  images: number;
  /** The calibration method the images came from: 'bn-statistics', 'prior-only', 'noise', 'user-images', ... */
  method: string;
  /** Who ran both models: LocalQuant's own tfjs executor on the named backend. */
  runtime: string;
  /** 'top-1' for classifiers; 'boxes' for detectors (box agreement, see report.boxAgreement). */
  metric?: 'top-1' | 'boxes';
}

export interface QuantizationReport {
  version: 1;
  tool: 'localquant';
  createdAt: string;
  model: { name: string; format: string; sizeBytes: number; batchNormCount: number };
  /**
   * The settings as applied, not as asked: the backend that ran, the calibration source, image count and
   * synthesis steps actually used (0 when nothing was synthesized), the batch quantization ran with (the
   * synthesis batch is calibration.batch), adaptive-rounding iterations 0 when no layer used adaptive
   * rounding; own images are counted, not copied. Per-layer rounding is in `layers`.
   */
  config: PipelineConfig;
  backend: { name: string; reason: string };
  /**
   * What ran the forward-only float passes (activation ranges, channel-noise rule) and the agreement:
   * the executor on `backend`, or the onnxruntime the caller gave (CLI: onnxruntime-node).
   */
  forwardEngine?: string;
  calibration: {
    method: string;
    images: number;
    /** Synthesis batch and steps actually used (absent when nothing was synthesized). */
    batch?: number;
    steps?: number;
    /** For own images: where they came from. */
    from?: string;
    /** Synthesis batches ran on this many worker threads at once (absent: on the pipeline's own thread). */
    workers?: number;
    message?: string;
    startBnLoss?: number;
    endBnLoss?: number;
    /** Class-conditional synthesis as applied: weight, classes, each image's target, CE and target hit rate. */
    classConditional?: ClassConditionalResult;
    seconds: number;
  };
  layers: LayerReport[];
  /** Block reconstruction: the blocks as optimised (absent with layer-wise reconstruction). */
  blocks?: BlockReport[];
  activations: Record<string, { scale: number; zeroPoint: number; bits: number; signed: boolean }>;
  sizes: { floatBytes: number; quantizedBytes: number; ratio: number };
  agreement: number;
  /** What `agreement` was measured on (absent in reports written before it was recorded). */
  agreementOn?: AgreementBasis;
  /** Detectors: float detections kept by the quantized model (the figure in `agreement`). */
  boxAgreement?: BoxAgreement;
  /** Detectors: the post-processing that stayed float, and where and why it begins. */
  floatTail?: FloatTailReport;
  /** Activation points kept float by the channel-noise rule (pipeline/activationFallback.ts) or, in a detector, on the way to its outputs (quant/outputChains.ts), with why. */
  floatActivations?: FloatActivation[];
  /** Cross-layer equalization as run (quant.equalization asked): groups found and rescaled, layers changed, largest factor. */
  equalization?: EqualizationReport;
  /** Size budget: asked, predicted and per-layer bits chosen, with the size-vs-predicted-error frontier. */
  mixedPrecision?: MixedPrecisionReport;
  seconds: Record<string, number>;
  notes: string[];
}
