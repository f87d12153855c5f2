/**
 * Activations left in float because their per-tensor 8-bit grid drowns a channel that a later conv reads
 * on its own (quant/consumerChannelSqnr.ts). Measured on CenterNet (MobileNetV3, folded BN; 8 held-out
 * photos, bench/detectorAblation.ts): quantizing only the stem conv's output, or only its hard-swish
 * output, costs more box agreement (24/25 -> 13/25, 10/25) than all 140 other grids together; their
 * narrowest channels span 1/50 and 1/130 of the widest and feed a depthwise conv.
 *
 * One more pass over the calibration batches on the float network measures each point's channels on its
 * grid; a point whose worst consumer output channel falls below the threshold keeps float, with the
 * value-moving copies that share its grid (they would carry the same noise).
 */
import * as tf from '@tensorflow/tfjs';
import type { Graph } from '../ir/types.js';
import { ChannelNoise } from '../quant/channelNoise.js';
import { consumerChannelSqnr, type ConsumerChannelSqnr } from '../quant/consumerChannelSqnr.js';
import type { ActivationQParams } from '../quant/observers.js';
import { outputChainValues } from '../quant/outputChains.js';
import { disposeTapped, type FloatValueTap } from './floatValueTap.js';

export interface FloatActivation {
  value: string;
  /** Why it stayed float. */
  reason: string;
}

export interface ActivationFallback {
  /** Points kept float, in execution order. */
  float: FloatActivation[];
  /** Every measured point's worst consumer output channel. */
  sqnr: Record<string, ConsumerChannelSqnr>;
  /** Point -> the point whose grid it shares (to apply another threshold with pointsBelow). */
  shareWith: Record<string, string>;
}

/**
 * Measures every point of `grids` and returns those below `thresholdDb` (with their grid-sharing copies
 * in `shareWith`). `thresholdDb` null: measure nothing, keep every grid.
 */
export async function activationFallback(
  graph: Graph,
  tap: FloatValueTap,
  batches: tf.Tensor[],
  grids: Map<string, ActivationQParams>,
  shareWith: Map<string, string>,
  thresholdDb: number | null,
  signal?: AbortSignal,
): Promise<ActivationFallback> {
  // Only 8-bit (or wider) grids are judged: a narrower grid is what the user asked for, and keeping it float
  // would quietly undo the setting (at 4 bits most points fall below the threshold: ResNet-20 W4A4 then
  // scores like W4A8 while the report says A4).
  const judged = new Map([...grids].filter(([, q]) => q.bits >= 8));
  if (thresholdDb === null || judged.size === 0) return { float: [], sqnr: {}, shareWith: {} };
  const noise = new Map([...judged.keys()].map((p) => [p, new ChannelNoise()]));
  for (const b of batches) {
    if (signal?.aborted) break;
    const captured = await tap.values(b, [...judged.keys()]);
    try {
      for (const [n, v] of captured) {
        await noise.get(n)!.add(v.tensor(), v.layout, judged.get(n)!);
        v.dispose(); // one value's copy in the backend at a time
      }
    } finally {
      disposeTapped(captured);
    }
  }
  const sqnr: Record<string, ConsumerChannelSqnr> = {};
  for (const [p, n] of noise) {
    if (n.channels === 0) continue;
    const s = consumerChannelSqnr(graph, p, n.variance(), n.noise());
    if (s) sqnr[p] = s;
  }
  return { float: pointsBelow([...judged.keys()], shareWith, sqnr, thresholdDb), sqnr, shareWith: Object.fromEntries([...shareWith].filter(([p]) => judged.has(p))) };
}

/** The points whose figure is below `thresholdDb`, and the points that share their grid. */
export function pointsBelow(points: string[], shareWith: Map<string, string>, sqnr: Record<string, ConsumerChannelSqnr>, thresholdDb: number): FloatActivation[] {
  const below = (p: string | undefined) => p !== undefined && sqnr[p] !== undefined && sqnr[p].db < thresholdDb;
  const float: FloatActivation[] = [];
  for (const p of points) {
    const own = sqnr[p];
    const owner = shareWith.get(p);
    if (below(p)) float.push({ value: p, reason: `8-bit grid leaves output channel ${own.channel} of ${own.layer} at ${own.db.toFixed(1)} dB SQNR (< ${thresholdDb} dB)` });
    else if (below(owner)) float.push({ value: p, reason: `shares the grid of ${owner}, kept float` });
  }
  return float;
}

/**
 * A detector's output chains (quant/outputChains.ts): removes their grids from `grids` and returns them
 * as float activations with the reason.
 */
export function floatOutputChains(graph: Graph, grids: Map<string, ActivationQParams>): FloatActivation[] {
  const chain = outputChainValues(graph);
  const float: FloatActivation[] = [];
  for (const p of [...grids.keys()]) {
    if (!chain.has(p)) continue;
    grids.delete(p);
    float.push({ value: p, reason: 'reaches a detector output through per-value ops: post-processing compares it (peak test, score threshold), kept float' });
  }
  return float;
}
