/**
 * After a run, the exported file is loaded in onnxruntime-web (the runtime users deploy in the browser) and
 * compared with the float model (BN folded, a detector's tail included, written as ONNX) on the calibration
 * images: top-1 agreement and images/s of both, measured in the same runtime. A detector's outputs are not
 * class scores: there it measures speed only (its box agreement is in the report).
 */
import { writeOnnx } from '../core/exporters/onnx/onnxWriter.js';
import type { Graph } from '../core/ir/types.js';
import { compareModels, type CompareResult } from '../core/verify/compareModels.js';
import { ortWebRuntime } from './ortWebRuntime.js';

export interface PageVerification {
  /** What the images were, e.g. "128 calibration images (bn-statistics)". */
  on: string;
  result?: CompareResult;
  /** Why verification did not run (it never fails the run: the export is already made). */
  skipped?: string;
}

export interface VerifiableRun {
  onnx?: Uint8Array;
  floatModel?: Graph;
  calibration?: { images: Float32Array; shape: number[]; method: string };
  detector: boolean;
}

/** At most this many images: enough for a stable agreement and speed figure, quick on one thread. */
const MAX_IMAGES = 128;

export async function verifyInPage(run: VerifiableRun, signal?: AbortSignal): Promise<PageVerification> {
  const cal = run.calibration;
  if (!run.onnx) return { on: '', skipped: 'the ONNX export is off' };
  if (!run.floatModel || !cal) return { on: '', skipped: 'the run did not return the float model and its calibration images' };
  const n = Math.min(MAX_IMAGES, cal.shape[0]);
  const per = cal.shape.slice(1).reduce((a, b) => a * b, 1);
  const ort = await ortWebRuntime();
  const result = await compareModels(ort, writeOnnx(run.floatModel), run.onnx, {
    images: cal.images.subarray(0, n * per), shape: [n, ...cal.shape.slice(1)], batch: 16, signal, speedOnly: run.detector,
  });
  return { on: `${n} calibration images (${cal.method})`, result };
}
