/**
 * The export checked where it will run: onnxruntime-node (CPU EP) runs the float model and the export on
 * the same inputs, for top-1 agreement, images/s of both at one thread (timed in alternating rounds) and
 * which kernels ORT chose after its graph optimizer. Node-only (CLI `quantize`, `compare --speed`).
 */
import { argmaxRows } from '../../src/core/data/cifar10.js';
import { SeededRandom } from '../../src/core/synth/prng.js';
import { kernelSummary, optimizedOpCounts } from './ortKernels.js';
import { createOrtSession, runOrtBatched } from './ort.js';
import { imagesPerSecond } from './ortSpeed.js';

export interface OrtCheck {
  /** Top-1 agreement of the export with the float model on `images` (null: no images to compare on). */
  agreement: number | null;
  images: number;
  threads: number;
  floatImagesPerSecond: number;
  exportImagesPerSecond: number;
  integerKernels: number;
  floatConvGemm: number;
}

/** Top-1 agreement of two one-output classifiers on an NCHW/NHWC batch (`shape` batch first). */
export async function ortAgreement(a: Uint8Array, b: Uint8Array, images: Float32Array, shape: number[], batch = 256): Promise<number> {
  const n = shape[0];
  const preds: Int32Array[] = [];
  for (const model of [a, b]) {
    const session = await createOrtSession(model);
    const out = await runOrtBatched(session, images, shape, { batch });
    await session.release();
    preds.push(argmaxRows(out.data, n, out.data.length / n));
  }
  let same = 0;
  for (let i = 0; i < n; i++) if (preds[0][i] === preds[1][i]) same++;
  return same / n;
}

/**
 * `images`: the inputs to compare on (batch first), or null: speed is then timed on N(0,1) inputs of
 * `imageShape` (the per-image shape; speed does not depend on the values) and agreement is not measured.
 * `batch`: images per run (default 64; a model that declares a fixed batch must get that one).
 */
export async function checkInOrt(floatModel: Uint8Array, exported: Uint8Array, imageShape: number[], images: Float32Array | null, o: { threads?: number; batch?: number; minRoundSeconds?: number; rounds?: number } = {}): Promise<OrtCheck> {
  const per = imageShape.reduce((x, y) => x * y, 1);
  const n = images ? images.length / per : 0;
  const agreement = images && n > 0 ? await ortAgreement(floatModel, exported, images, [n, ...imageShape], o.batch ?? 256) : null;
  const timing = images && n > 0 ? images : new SeededRandom(12345).normalArray(per);
  const threads = o.threads ?? 1;
  const [f, q] = await imagesPerSecond([floatModel, exported], timing, imageShape, { threads, batch: o.batch ?? 64, rounds: o.rounds ?? 2, minRoundSeconds: o.minRoundSeconds ?? 0.5 });
  const k = kernelSummary(await optimizedOpCounts(exported, threads));
  return { agreement, images: n, threads, floatImagesPerSecond: f.imagesPerSecond, exportImagesPerSecond: q.imagesPerSecond, integerKernels: k.integer, floatConvGemm: k.floatCompute };
}

export function ortCheckLine(c: OrtCheck): string {
  const agree = c.agreement === null ? 'agreement not measured (calibration images were not real ones: give --calibration images:DIR or cifar10:FILE, or run `localquant compare`)' : `top-1 agreement with float ${(100 * c.agreement).toFixed(1)}% on ${c.images} calibration images`;
  return `onnxruntime-node: ${agree}; ${c.exportImagesPerSecond.toFixed(0)} vs ${c.floatImagesPerSecond.toFixed(0)} images/s float at ${c.threads} thread${c.threads > 1 ? 's' : ''} (${(c.exportImagesPerSecond / c.floatImagesPerSecond).toFixed(2)}x); ${c.integerKernels} integer kernels, ${c.floatConvGemm} float Conv/Gemm/MatMul after ORT's optimizer`;
}
