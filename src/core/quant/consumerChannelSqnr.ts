/**
 * How much a value's quantization noise hurts the layers that read it, channel by channel: for every
 * output channel o of each Conv that reads the value (directly, or through ops that keep channels apart:
 * activations, elementwise ops with a per-channel or scalar operand, pooling, resizing), with W_o,c the
 * kernel slice of input channel c,
 *
 *   SQNR_o = sum_c |W_o,c|^2 var(x_c) / sum_c |W_o,c|^2 noise(x_c)
 *
 * (signal and noise taken as spatially white, so both spread through the kernel alike). A dense 1x1
 * conv averages its input channels, so one drowned channel barely shows; a depthwise conv reads one
 * channel per output, so a drowned channel becomes a drowned output channel. The worst output channel
 * is the value's figure.
 */
import { consumerMap } from '../ir/graph.js';
import { opsWhere } from '../ir/opKinds.js';
import type { Graph, Node } from '../ir/types.js';

/**
 * Ops whose output channel c depends on input channel c only (or on a broadcast scalar/per-channel operand),
 * global pools excepted: they average white noise down by H*W while a channel's mean stays, so the
 * formula above does not hold through them.
 */
const CHANNEL_WISE_OPS = new Set([...opsWhere('channelwise')].filter((op) => !op.startsWith('Global')));

/** Output channels with less than this fraction of their layer's mean output-channel signal are not judged. */
export const NEGLIGIBLE_CHANNEL = 1e-3;

export interface ConsumerChannelSqnr {
  /** Worst output-channel SQNR in dB (Infinity when the grid is exact for every channel read). */
  db: number;
  /** The Conv and its output channel where it occurs. */
  layer: string;
  channel: number;
}

/** Convs that read `value` through channel-wise ops (with the value name each reads). */
export function channelWiseConsumers(graph: Graph, value: string): Node[] {
  const consumers = consumerMap(graph);
  const found: Node[] = [];
  const seen = new Set<string>();
  const stack = [value];
  while (stack.length) {
    const v = stack.pop()!;
    if (seen.has(v)) continue;
    seen.add(v);
    for (const n of consumers.get(v) ?? []) {
      if (n.opType === 'Conv' && n.inputs[0] === v && graph.initializers.has(n.inputs[1])) found.push(n);
      else if (CHANNEL_WISE_OPS.has(n.opType) && n.outputs[0]) stack.push(n.outputs[0]);
    }
  }
  return found;
}

/** The worst output-channel SQNR over the Convs that read the value; undefined when no Conv reads it channel-wise. */
export function consumerChannelSqnr(graph: Graph, value: string, variance: ArrayLike<number>, noise: ArrayLike<number>): ConsumerChannelSqnr | undefined {
  let worst: ConsumerChannelSqnr | undefined;
  for (const conv of channelWiseConsumers(graph, value)) {
    const w = graph.initializers.get(conv.inputs[1])!;
    const [cOut, perGroup] = w.dims;
    const taps = w.dims.slice(2).reduce((a, b) => a * b, 1);
    const groups = Number(conv.attrs.group ?? 1);
    if (perGroup * groups !== variance.length) continue; // channels do not line up (a reshape on the way)
    const outPerGroup = cOut / groups;
    const data = w.data as Float32Array;
    const signal = new Float64Array(cOut);
    const err = new Float64Array(cOut);
    for (let o = 0; o < cOut; o++) {
      const g = Math.floor(o / outPerGroup);
      for (let i = 0; i < perGroup; i++) {
        let e = 0;
        const base = (o * perGroup + i) * taps;
        for (let t = 0; t < taps; t++) e += data[base + t] * data[base + t];
        signal[o] += e * variance[g * perGroup + i];
        err[o] += e * noise[g * perGroup + i];
      }
    }
    // An output channel far weaker than its layer's others carries nothing the next layers would miss
    // (an untrained or dead channel); with folded BN a live channel is scaled up to its peers' level.
    const floor = NEGLIGIBLE_CHANNEL * (signal.reduce((a, b) => a + b, 0) / cOut);
    for (let o = 0; o < cOut; o++) {
      if (signal[o] <= floor) continue;
      const db = err[o] > 0 ? 10 * Math.log10(signal[o] / err[o]) : Infinity;
      if (!worst || db < worst.db) worst = { db, layer: conv.name, channel: o };
    }
  }
  return worst;
}
