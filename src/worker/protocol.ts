/**
 * The typed, versioned messages between the page and the quantization worker. Bump PROTOCOL_VERSION on
 * any breaking change; both sides check it so a stale cached worker cannot silently misread a message.
 */
import type { ErrorCode } from '../core/errors.js';
import type { ModelFile } from '../core/ir/types.js';
import type { ModelSummary } from '../core/ir/summary.js';
import type { AgreementBasis, PipelineConfig, PipelineEvent, RgbaImage } from '../core/pipeline/types.js';
import type { ModelViewData } from '../ui/ModelView.js';
import type { MixedPrecisionReport } from '../core/algos/mixedPrecision/sizeBudget.js';
import type { OwnImagesEvaluation } from './evaluateInPage.js';
import type { PageVerification } from './verifyInPage.js';

export const PROTOCOL_VERSION = 1;

export type WorkerRequest =
  | { v: typeof PROTOCOL_VERSION; type: 'import'; files: ModelFile[] }
  | { v: typeof PROTOCOL_VERSION; type: 'run'; files: ModelFile[]; config: PipelineConfig; wasmPath: string }
  /** Score the last run's float and quantized models on the user's images (labels per image, or none). */
  | { v: typeof PROTOCOL_VERSION; type: 'evaluate'; images: RgbaImage[]; labels?: (number | null)[] }
  | { v: typeof PROTOCOL_VERSION; type: 'cancel' };

/** One downloadable artifact of a run (ONNX, TF.js files, report); bytes are transferred, not copied. */
export interface ResultFile {
  name: string;
  mime: string;
  bytes: ArrayBuffer;
}

/** What the page shows of a finished run: downloads, figures and the data of the views. */
export interface RunResult {
  files: ResultFile[];
  sizeBefore?: number;
  sizeAfter?: number;
  /** Per quantized layer: signal-to-quantization-noise ratio in dB. */
  layerSqnr?: { name: string; sqnrDb: number }[];
  /** Share of inputs where float and quantized model pick the same top-1 class (0..1). */
  agreement?: number;
  /** What `agreement` was measured on (calibration images, not a labelled test set). */
  agreementOn?: AgreementBasis;
  /** The calibration actually used: method, image count, where own images came from, synthesis batch/steps. */
  calibration?: { method: string; images: number; from?: string; batch?: number; steps?: number };
  /** Detectors: one line saying where the float tail (post-processing kept float) begins. */
  floatTail?: string;
  config?: unknown;
  /** The report's notes: what was not done as asked, and why (fallbacks, size-only gains, skipped exports). */
  notes?: string[];
  /** With a size budget: the chosen bits per layer and the size/error frontier. */
  mixedPrecision?: MixedPrecisionReport;
  /** The export checked in onnxruntime-web against the float model (agreement, images/s). */
  verification?: PageVerification;
  /** The model graph with per-layer quantization facts, for the model view. */
  modelView?: ModelViewData;
  /** Every calibration image (up to a limit), RGBA, for the gallery. */
  calibrationImages?: RgbaImage[];
  /** Class-conditional synthesis: each gallery image's target class, as a caption (class name or "class i"). */
  calibrationLabels?: string[];
}

export interface WorkerErrorInfo {
  code: ErrorCode | 'WORKER_CRASHED' | 'PIPELINE_UNAVAILABLE';
  message: string;
  hint?: string;
}

export type WorkerEvent =
  | { v: typeof PROTOCOL_VERSION; type: 'ready' }
  | { v: typeof PROTOCOL_VERSION; type: 'summary'; summary: ModelSummary }
  | { v: typeof PROTOCOL_VERSION; type: 'progress'; event: PipelineEvent }
  | { v: typeof PROTOCOL_VERSION; type: 'result'; result: RunResult }
  | { v: typeof PROTOCOL_VERSION; type: 'evaluation'; evaluation: OwnImagesEvaluation }
  | { v: typeof PROTOCOL_VERSION; type: 'error'; error: WorkerErrorInfo };

/** ArrayBuffers a message can hand over without copying. */
export function transferablesOf(value: unknown, out: Transferable[] = [], seen = new Set<unknown>()): Transferable[] {
  if (value === null || typeof value !== 'object' || seen.has(value)) return out;
  seen.add(value);
  if (value instanceof ArrayBuffer) {
    out.push(value);
  } else if (ArrayBuffer.isView(value)) {
    if (value.buffer instanceof ArrayBuffer && value.byteOffset === 0 && value.byteLength === value.buffer.byteLength) transferablesOf(value.buffer, out, seen);
  } else {
    for (const v of Object.values(value as Record<string, unknown>)) transferablesOf(v, out, seen);
  }
  return [...new Set(out)];
}
