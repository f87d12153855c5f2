/**
 * Top-1 agreement between the float and the quantized graph, both run by our executor on the calibration
 * images. It is not an accuracy (no labels) and the images are the calibration ones, so callers must show
 * what it was measured on (AgreementBasis).
 */
import * as tf from '@tensorflow/tfjs';
import { throwIfCancelled } from '../errors.js';
import { declaredBatch } from '../ir/graph.js';
import type { Graph } from '../ir/types.js';
import { GraphExecutor } from '../runtime/executor.js';
import type { CalibrationSet } from './quantizeGraph.js';
import { writeOnnx } from '../exporters/onnx/onnxWriter.js';
import { compareModels } from '../verify/compareModels.js';
import type { OrtLike } from '../verify/ortLike.js';

/** Images per executor call: small enough that a cancel is seen within a fraction of a second. */
const CHUNK = 32;

export async function topOneAgreement(a: Graph, b: Graph, cal: CalibrationSet, limit: number, signal?: AbortSignal): Promise<{ agreement: number; images: number }> {
  const n = Math.min(limit, cal.shape[0]);
  const per = cal.shape.slice(1).reduce((x, y) => x * y, 1);
  const ea = new GraphExecutor(a);
  const eb = new GraphExecutor(b);
  try {
    let same = 0;
    for (let s = 0; s < n; s += CHUNK) {
      throwIfCancelled(signal);
      const m = Math.min(CHUNK, n - s);
      const x = tf.tensor(cal.images.subarray(s * per, (s + m) * per), [m, ...cal.shape.slice(1)]);
      const ra = ea.execute({ [a.inputs[0].name]: x });
      const rb = eb.execute({ [b.inputs[0].name]: x });
      const oa = ra.outputs.get(a.outputs[0].name)!;
      const ob = rb.outputs.get(b.outputs[0].name)!;
      const [pa, pb] = tf.tidy(() => [oa.reshape([m, -1]).argMax(1), ob.reshape([m, -1]).argMax(1)]);
      const da = await pa.data();
      const db = await pb.data();
      for (let i = 0; i < m; i++) if (da[i] === db[i]) same++;
      tf.dispose([x, pa, pb, ...ra.outputs.values(), ...rb.outputs.values()]);
    }
    return { agreement: n ? same / n : 0, images: n };
  } finally {
    ea.dispose();
    eb.dispose();
  }
}

/** The same figure with the float graph and the exported ONNX file run in an onnxruntime. */
export async function ortTopOneAgreement(ort: OrtLike, floatGraph: Graph, exported: Uint8Array, cal: CalibrationSet, limit: number, signal?: AbortSignal): Promise<{ agreement: number; images: number }> {
  const n = Math.min(limit, cal.shape[0]);
  if (n === 0) return { agreement: 0, images: 0 };
  const per = cal.shape.slice(1).reduce((x, y) => x * y, 1);
  // a model declared with a fixed batch runs at that batch
  const batch = declaredBatch(floatGraph) ?? CHUNK;
  const r = await compareModels(ort, writeOnnx(floatGraph), exported, { images: cal.images.subarray(0, n * per), shape: [n, ...cal.shape.slice(1)], batch, signal });
  return { agreement: r.agreement ?? 0, images: n };
}
