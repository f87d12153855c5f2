/**
 * Cross-layer equalization before quantization (quant config `equalization`): one float pass over the
 * calibration batches measures every activation point's per-channel range, then algos/equalization.ts
 * rescales the channel groups ir/channelScaling.ts finds, in the folded graph's weights. The graph computes
 * the same function; what changes is how evenly its channels fill the per-tensor activation grids.
 */
import * as tf from '@tensorflow/tfjs';
import { equalizeChannels } from '../algos/equalization.js';
import { channelScalingGroups } from '../ir/channelScaling.js';
import type { Graph } from '../ir/types.js';
import { channelsLast } from '../quant/channelNoise.js';
import { disposeTapped, type FloatValueTap } from './floatValueTap.js';

export interface EqualizationReport {
  /** Channel groups the graph allows to rescale (their sources and readers are all convs). */
  groups: number;
  /** Groups whose factor moved by more than 1 %. */
  rescaled: number;
  /** Convs whose weights changed. */
  layers: number;
  /** Largest factor (or its inverse) applied to a group. */
  maxFactor: number;
}

/** Per-channel max |x| of each of `names` over `batches` on the float network. */
async function channelAbsMax(tap: FloatValueTap, batches: tf.Tensor[], names: string[], signal?: AbortSignal): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const b of batches) {
    if (signal?.aborted) break;
    const captured = await tap.values(b, names);
    try {
      for (const [n, v] of captured) {
        const m = tf.tidy(() => {
          const rows = channelsLast(v.tensor(), v.layout);
          return rows ? tf.max(tf.abs(rows), 0) : undefined;
        });
        v.dispose();
        if (!m) continue;
        const data = (await m.data()) as Float32Array;
        m.dispose();
        const acc = out.get(n);
        if (!acc) out.set(n, Float32Array.from(data));
        else for (let c = 0; c < acc.length; c++) acc[c] = Math.max(acc[c], data[c]);
      }
    } finally {
      disposeTapped(captured);
    }
  }
  return out;
}

/**
 * Rescales `folded` in place (its initializers are replaced, never written into). `points`: the values that
 * get an activation grid; `tap` runs the float network as it is before this call.
 */
export async function equalizeGraph(
  folded: Graph,
  tap: FloatValueTap,
  batches: tf.Tensor[],
  points: readonly string[],
  bits: { weightBits: number; activationBits: number },
  signal?: AbortSignal,
): Promise<EqualizationReport> {
  const groups = channelScalingGroups(folded);
  const wanted = new Set(points);
  const names = [...new Set(groups.flatMap((g) => g.members.map((m) => m.value)))].filter((v) => wanted.has(v));
  const absMax = names.length ? await channelAbsMax(tap, batches, names, signal) : new Map<string, Float32Array>();
  const r = equalizeChannels(folded, groups, absMax, bits);
  const layers = new Set<string>();
  groups.forEach((g, i) => {
    if (Math.abs(Math.log2(r.factors[i])) <= Math.log2(1.01)) return;
    for (const p of [...g.producers, ...g.consumers]) layers.add(p.node.name);
  });
  return { groups: groups.length, rescaled: r.changed, layers: layers.size, maxFactor: Math.pow(2, r.maxLog2) };
}
