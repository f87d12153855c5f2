/**
 * After a run, the exported file is loaded in onnxruntime-web (the runtime users deploy in the browser) and
 * compared with the float model (the BN-folded float graph, written as ONNX) on the calibration images:
 * agreement and images/s of both, measured in the same runtime. The figures go to the results panel.
 */
import { writeOnnx } from '../core/exporters/onnx/onnxWriter.js';
import type { Graph } from '../core/ir/types.js';
import { compareModels, type CompareResult } from '../core/verify/compareModels.js';
import { ortWebRuntime } from './ortWebRuntime.js';

export interface PageVerification {
  /** What the images were: "calibration images (synthetic)" or the user's own. */
  on: string;
  result?: CompareResult;
  /** Why verification could not run (it never fails the run: the export is already made). */
  skipped?: string;
}

export interface VerifiableRun {
  onnx: Uint8Array;
  folded?: Graph;
  calibration?: { images: Float32Array; shape: number[]; method?: string };
}

/** At most this many images: enough for a stable agreement and speed figure, quick on one thread. */
const MAX_IMAGES = 256;

export async function verifyInPage(run: VerifiableRun, ortBase: string, signal?: AbortSignal): Promise<PageVerification> {
  const cal = run.calibration;
  const on = `calibration images${cal?.method ? ` (${cal.method})` : ''}`;
  if (!run.folded || !cal) return { on, skipped: 'the run did not return the float graph and its calibration images' };
  const n = Math.min(MAX_IMAGES, cal.shape[0]);
  const per = cal.shape.slice(1).reduce((a, b) => a * b, 1);
  const ort = await ortWebRuntime(ortBase);
  const result = await compareModels(ort, writeOnnx(run.folded), run.onnx, { images: cal.images.subarray(0, n * per), shape: [n, ...cal.shape.slice(1)], batch: 16, signal });
  return { on: `${n} ${on}`, result };
}
