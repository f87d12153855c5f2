/**
 * Typed, versioned boundary of the whole data-free pipeline (import -> synthesize -> quantize -> export).
 * The worker, the UI and the CLI speak these types; bump PIPELINE_SCHEMA_VERSION on any breaking change.
 */
import type { QuantizationPlan } from '../exporters/qdq/qdqOnnxExporter.js';
import type { Graph } from '../ir/types.js';

export const PIPELINE_SCHEMA_VERSION = 1;

export type BackendPreference = 'auto' | 'webgpu' | 'wasm' | 'cpu';
export type CalibrationSource = 'synthetic' | 'noise' | 'prior-only' | 'user-images';

export interface InputNormalization {
  /** Per-channel mean and std applied as (pixel/range - mean)/std; pixel range 255 for 8-bit images. */
  mean: number[];
  std: number[];
  pixelRange: number;
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
    /** For 'user-images': decoded RGBA images supplied by the caller. */
    userImages?: { width: number; height: number; rgba: Uint8ClampedArray }[];
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
  };
  export: { onnx: boolean; tfjs: boolean };
}

export type Stage = 'import' | 'backend' | 'synthesis' | 'calibration' | 'rounding' | 'export' | 'evaluation';

export type LayerStatus = 'waiting' | 'running' | 'done';

export type PipelineEvent =
  | { type: 'stage'; stage: Stage; status: 'start' | 'end'; seconds?: number; message?: string }
  | { type: 'backend'; name: string; reason: string }
  | { type: 'layers'; layers: { name: string; opType: string; weightBits: number; activationBits: number }[] }
  | { type: 'layer'; name: string; status: LayerStatus; iteration?: number; iterations?: number; loss?: number; nearestError?: number; adaptiveError?: number }
  | { type: 'synth-step'; version: 1; batch: number; batches: number; step: number; steps: number; loss: number; bnLoss: number; priorLoss: number }
  | { type: 'synth-preview'; images: { width: number; height: number; rgba: Uint8ClampedArray }[] }
  | { type: 'log'; level: 'info' | 'warn'; message: string };

/** What a finished run hands back (the worker transfers the byte arrays). */
export interface PipelineResult {
  version: 1;
  /** QDQ ONNX model bytes. */
  onnx: Uint8Array;
  report: QuantizationReport;
  sizeBefore: number;
  sizeAfter: number;
  /** Top-1 agreement of the quantized model (our executor running the QDQ graph) with the float model on the calibration images. */
  agreement: number;
  config: PipelineConfig;
  /** The quantization plan and the BN-folded float graph it applies to (for further exports). */
  plan?: QuantizationPlan;
  folded?: Graph;
  /** TF.js graph model (model.json + weight shards), when config.export.tfjs. */
  tfjs?: { files: { name: string; bytes: Uint8Array }[] };
}

export interface QuantizationReport {
  version: 1;
  tool: 'localquant';
  createdAt: string;
  model: { name: string; format: string; sizeBytes: number; batchNormCount: number };
  config: PipelineConfig;
  backend: { name: string; reason: string };
  calibration: { method: string; images: number; message?: string; startBnLoss?: number; endBnLoss?: number; seconds: number };
  layers: {
    name: string;
    opType: string;
    weightBits: number | null;
    activationBits: number;
    rounding: string;
    scales: number[];
    nearestError?: number;
    adaptiveError?: number;
    flippedFraction?: number;
    sqnrDb?: number;
    seconds: number;
  }[];
  activations: Record<string, { scale: number; zeroPoint: number; bits: number; signed: boolean }>;
  sizes: { floatBytes: number; quantizedBytes: number; ratio: number };
  agreement: number;
  seconds: Record<string, number>;
  notes: string[];
}
