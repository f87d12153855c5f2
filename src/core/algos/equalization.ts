/**
 * Cross-layer equalization (DFQ, Nagel et al. 2019), activation-aware: each channel scaling group
 * (ir/channelScaling.ts) is multiplied by a factor t that balances the two grids the channel lives on.
 *
 * - On the activation side, a per-tensor grid is sized by the widest channel: a channel spanning a
 *   fraction a of it (its relative range) gets relative noise ~ 1/(a t) after scaling by t.
 * - On the weight side, the reading conv's per-output-channel grid is sized by each row's largest weight:
 *   the group's column, at a fraction b of its rows' ranges, gets relative noise ~ t/b after dividing by t.
 *
 *
 * Minimising 2^(-2 A)/(a t)^2 + 2^(-2 W) (t/b)^2 (A, W the activation and weight bits) gives
 *   t = sqrt(b / a) * 2^((W - A) / 2),
 * DFQ's geometric mean when both have the same bits. t is kept within [b, 1/a] so that the column does not
 * become its rows' widest weight, nor the channel its tensor's widest. With one weight scale per tensor the
 * same factors also even out the writing conv's rows (a folded BN scales a channel's row and its activation
 * alike): on the test net they cut the output error of per-tensor 6-bit weights by 46 %, more than a variant
 * that modelled the per-tensor rows explicitly (40 %). Relative ranges change as other
 * channels move, so a few rounds are run (DFQ iterates too). The float network computes the same function
 * (up to float rounding): tests check it against the unscaled one.
 */
import type { Graph, TensorData } from '../ir/types.js';
import type { ScalingGroup } from '../ir/channelScaling.js';

export interface EqualizationOptions {
  weightBits: number;
  activationBits: number;
  /** Rounds of factor updates (default 4). */
  rounds?: number;
}

export interface EqualizationResult {
  /** Total factor per group, in the order of `groups`. */
  factors: Float64Array;
  /** Groups whose factor moved more than 1 %. */
  changed: number;
  /** Largest |log2 t| over the groups. */
  maxLog2: number;
}

/** Factors beyond this (2^12) stop: the relative ranges they would fix are below float noise anyway. */
const MAX_LOG2 = 12;

/**
 * `absMax`: each value's per-channel max |x| on the calibration images (the values with an activation grid;
 * a group none of whose members is there keeps t = 1). Mutates the weights and biases of `graph` (new
 * TensorData objects; arrays shared with other graphs are never written) and the `absMax` arrays.
 */
export function equalizeChannels(graph: Graph, groups: ScalingGroup[], absMax: Map<string, Float32Array>, o: EqualizationOptions): EqualizationResult {
  const factors = new Float64Array(groups.length).fill(1);
  const owned = new Set<string>();
  const own = (name: string): TensorData => {
    const t = graph.initializers.get(name)!;
    if (owned.has(name)) return t;
    const copy = { ...t, dims: t.dims.slice(), data: Float32Array.from(t.data as Float32Array) };
    graph.initializers.set(name, copy);
    owned.add(name);
    return copy;
  };
  const bitsTilt = Math.pow(2, (o.weightBits - o.activationBits) / 2);
  for (let round = 0; round < (o.rounds ?? 4); round++) {
    const tensorMax = new Map([...absMax].map(([v, a]) => [v, a.reduce((m, x) => Math.max(m, x), 0)]));
    const rows = new Map<string, RowRanges>();
    const step = groups.map((g) => {
      const a = relativeActivationRange(g, absMax, tensorMax);
      if (!(a > 0)) return 1;
      const b = relativeColumnRange(g, graph, rows);
      if (!(b > 0)) return 1;
      const t = Math.min(1 / a, Math.max(b, Math.sqrt(b / a) * bitsTilt));
      return Math.pow(2, Math.max(-MAX_LOG2, Math.min(MAX_LOG2, Math.log2(t))));
    });
    step.forEach((t, i) => {
      if (t === 1) return;
      applyFactor(groups[i], t, own, absMax);
      factors[i] *= t;
    });
    if (step.every((t) => Math.abs(Math.log2(t)) < 0.01)) break;
  }
  let changed = 0;
  let maxLog2 = 0;
  for (const f of factors) {
    if (Math.abs(Math.log2(f)) > Math.log2(1.01)) changed++;
    maxLog2 = Math.max(maxLog2, Math.abs(Math.log2(f)));
  }
  return { factors, changed, maxLog2 };
}

/** The largest fraction of its tensor's range the group's channel spans over the measured members. */
function relativeActivationRange(g: ScalingGroup, absMax: Map<string, Float32Array>, tensorMax: Map<string, number>): number {
  let a = 0;
  for (const m of g.members) {
    const r = absMax.get(m.value);
    const top = tensorMax.get(m.value);
    if (r && top) a = Math.max(a, r[m.channel] / top);
  }
  return a;
}

/** Geometry of a conv's weight [cOut, cInPerGroup, ...kernel] for one input channel. */
function columnRows(dims: number[], group: number, inputChannel: number) {
  const cinPerGroup = dims[1];
  const coutPerGroup = dims[0] / group;
  const kernel = dims.slice(2).reduce((x, y) => x * y, 1);
  const g = Math.floor(inputChannel / cinPerGroup);
  return { first: g * coutPerGroup, count: coutPerGroup, column: inputChannel - g * cinPerGroup, cinPerGroup, kernel };
}

/** A weight tensor's per-row max |w|. */
type RowRanges = Float64Array;

function rowRanges(graph: Graph, weight: string, cache: Map<string, RowRanges>): RowRanges {
  let rows = cache.get(weight);
  if (rows) return rows;
  const w = graph.initializers.get(weight)!;
  const data = w.data as Float32Array;
  const rowLen = data.length / w.dims[0];
  rows = new Float64Array(w.dims[0]);
  for (let o = 0; o < w.dims[0]; o++) for (let k = 0; k < rowLen; k++) rows[o] = Math.max(rows[o], Math.abs(data[o * rowLen + k]));
  cache.set(weight, rows);
  return rows;
}

/** The largest fraction of a row's range that the group's input column reaches, over its readers' rows. */
function relativeColumnRange(g: ScalingGroup, graph: Graph, cache: Map<string, RowRanges>): number {
  let b = 0;
  for (const { node, channel } of g.consumers) {
    const w = graph.initializers.get(node.inputs[1])!;
    const data = w.data as Float32Array;
    const rowLen = data.length / w.dims[0];
    const ranges = rowRanges(graph, node.inputs[1], cache);
    const { first, count, column, kernel } = columnRows(w.dims, Number(node.attrs.group ?? 1), channel);
    for (let r = first; r < first + count; r++) {
      const range = ranges[r];
      if (!(range > 0)) continue;
      let m = 0;
      for (let k = 0; k < kernel; k++) m = Math.max(m, Math.abs(data[r * rowLen + column * kernel + k]));
      b = Math.max(b, m / range);
    }
  }
  return b;
}

function applyFactor(g: ScalingGroup, t: number, own: (name: string) => TensorData, absMax: Map<string, Float32Array>): void {
  for (const { node, channel } of g.producers) {
    const w = own(node.inputs[1]);
    const rowLen = w.data.length / w.dims[0];
    const data = w.data as Float32Array;
    for (let k = 0; k < rowLen; k++) data[channel * rowLen + k] *= t;
    if (node.inputs[2]) (own(node.inputs[2]).data as Float32Array)[channel] *= t;
  }
  for (const { node, channel } of g.consumers) {
    const w = own(node.inputs[1]);
    const data = w.data as Float32Array;
    const rowLen = data.length / w.dims[0];
    const { first, count, column, kernel } = columnRows(w.dims, Number(node.attrs.group ?? 1), channel);
    for (let r = first; r < first + count; r++) for (let k = 0; k < kernel; k++) data[r * rowLen + column * kernel + k] /= t;
  }
  for (const m of g.members) {
    const r = absMax.get(m.value);
    if (r) r[m.channel] *= t;
  }
}
