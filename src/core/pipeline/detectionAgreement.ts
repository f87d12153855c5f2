/**
 * Box agreement of a detector (see boxAgreement.ts), with both graphs run by our executor one image at a
 * time (detector tails reshape to a fixed batch of 1, as exported).
 */
import * as tf from '@tensorflow/tfjs';
import { LocalQuantError, throwIfCancelled } from '../errors.js';
import type { Graph } from '../ir/types.js';
import { GraphExecutor } from '../runtime/executor.js';
import { boxAgreement, decodeDetections, describeLayout, detectionLayout, SLIP_FRACTION, type BoxAgreement, type Detection, type OutputTensor } from './boxAgreement.js';
import type { CalibrationSet } from './quantizeGraph.js';

/** Images a detector's box agreement is measured on: each runs alone (batch 1), so fewer than for top-1. */
export const DETECTION_AGREEMENT_IMAGES = 16;

/** Default score above which a float detection counts (the minimum confidence @vladmandic/human uses for its detectors). */
export const DEFAULT_SCORE_THRESHOLD = 0.2;

export async function measureBoxAgreement(
  float: Graph,
  quant: Graph,
  cal: CalibrationSet,
  opts: { limit: number; scoreThreshold?: number; signal?: AbortSignal },
): Promise<BoxAgreement | undefined> {
  const layout = detectionLayout(float);
  if (!layout) return undefined;
  const threshold = opts.scoreThreshold ?? DEFAULT_SCORE_THRESHOLD;
  const n = Math.min(opts.limit, cal.shape[0]);
  const per = cal.shape.slice(1).reduce((x, y) => x * y, 1);
  const run = async (ex: GraphExecutor, g: Graph, x: tf.Tensor, scoreMin: number): Promise<Detection[]> => {
    const r = ex.execute({ [g.inputs[0].name]: x });
    const outs = new Map<string, OutputTensor>();
    for (const [name, t] of r.outputs) outs.set(name, { data: await t.data(), dims: t.shape });
    tf.dispose([...r.outputs.values()]);
    return decodeDetections(layout, outs, 0, scoreMin);
  };
  const ef = new GraphExecutor(float);
  const eq = new GraphExecutor(quant);
  try {
    const fd: Detection[][] = [];
    const qd: Detection[][] = [];
    for (let i = 0; i < n; i++) {
      throwIfCancelled(opts.signal);
      const x = tf.tensor(cal.images.subarray(i * per, (i + 1) * per), [1, ...cal.shape.slice(1)]);
      try {
        fd.push(await run(ef, float, x, threshold));
        // below the threshold too: boxAgreement counts the score slips apart
        qd.push(await run(eq, quant, x, SLIP_FRACTION * threshold));
      } finally {
        x.dispose();
      }
    }
    return boxAgreement(fd, qd, threshold, describeLayout(layout));
  } finally {
    ef.dispose();
    eq.dispose();
  }
}
