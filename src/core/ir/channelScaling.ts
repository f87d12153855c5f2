/**
 * Channel scaling groups: sets of (value, channel) that one positive factor t can multiply without changing
 * what the network computes. The convs writing the channel absorb t (their output row and bias times t),
 * the convs reading it absorb 1/t (their input column), and every op in between commutes with a positive
 * per-channel scale (Relu, LeakyRelu and PRelu are positively homogeneous; pooling, resizing and zero
 * padding are linear per channel; Concat and Split move channels). Cross-layer equalization (DFQ, Nagel et
 * al. 2019; algos/equalization.ts) chooses t per group.
 *
 * Found by union-find over (value, channel): an op that moves channels joins them; any other op touching a
 * value (Add, Mul, Sigmoid, Clip, Reshape, a graph input or output, a conv whose weights are shared) pins
 * the whole group to t = 1.
 */
import { consumerMap } from './graph.js';
import { opsWhere } from './opKinds.js';
import { shapesAtBatchOne } from './shapeInference.js';
import type { Graph, Node } from './types.js';

/** A conv's output row (producer) or input column (consumer) that takes the group's factor. */
export interface ChannelOfNode {
  node: Node;
  channel: number;
}

export interface ScalingGroup {
  /** Every (value, channel) the factor multiplies. */
  members: { value: string; channel: number }[];
  /** Convs whose output channel is in the group: rows (and bias) times t. */
  producers: ChannelOfNode[];
  /** Convs reading the group: input column divided by t. */
  consumers: ChannelOfNode[];
}

/** Ops f with f(t x) = t f(x) per channel for t > 0, one data input and one output of the same channels. */
const PER_CHANNEL = opsWhere('homogeneous');

class UnionFind {
  readonly parent: Int32Array;
  readonly pinned: Uint8Array;
  constructor(n: number) {
    this.parent = Int32Array.from({ length: n }, (_, i) => i);
    this.pinned = new Uint8Array(n);
  }
  find(i: number): number {
    while (this.parent[i] !== i) i = this.parent[i] = this.parent[this.parent[i]];
    return i;
  }
  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra === rb) return;
    this.parent[rb] = ra;
    if (this.pinned[rb]) this.pinned[ra] = 1;
  }
  pin(i: number): void {
    this.pinned[this.find(i)] = 1;
  }
}

function channelAxis(rank: number, axis: number): boolean {
  return axis === 1 || axis === 1 - rank;
}

/** A Pad that adds zeros and leaves the batch and channel axes alone. */
function isZeroSpatialPad(n: Node, graph: Graph): boolean {
  if ((n.attrs.mode ?? 'constant') !== 'constant') return false;
  const value = n.inputs[2] ? graph.initializers.get(n.inputs[2]) : undefined;
  if (n.inputs[2] && (!value || value.data.some((v) => v !== 0))) return false;
  const pads = n.inputs[1] ? graph.initializers.get(n.inputs[1]) : undefined;
  const list = pads ? Array.from(pads.data as ArrayLike<number>) : ((n.attrs.pads as number[] | undefined) ?? []);
  const rank = list.length / 2;
  if (n.inputs[3] || rank < 2) return false; // explicit axes: not worth the bookkeeping
  return list[0] === 0 && list[1] === 0 && list[rank] === 0 && list[rank + 1] === 0;
}

/** A Conv whose weights (and bias) are constants no other node reads, so its rows and columns may change. */
function ownsWeights(n: Node, graph: Graph, uses: Map<string, number>): boolean {
  const w = graph.initializers.get(n.inputs[1] ?? '');
  if (!w || w.dtype !== 'float32' || w.dims.length < 3 || uses.get(n.inputs[1]) !== 1) return false;
  if (!n.inputs[2]) return true;
  const b = graph.initializers.get(n.inputs[2]);
  return !!b && b.dtype === 'float32' && uses.get(n.inputs[2]) === 1;
}

export function channelScalingGroups(graph: Graph): ScalingGroup[] {
  const shapes = shapesAtBatchOne(graph);
  const channels = (v: string): number | undefined => {
    const s = shapes.get(v)?.shape;
    return s && s.length >= 3 && typeof s[1] === 'number' && s[1] > 0 ? s[1] : undefined;
  };
  const base = new Map<string, number>();
  let size = 0;
  for (const v of shapes.keys()) {
    const c = channels(v);
    if (c !== undefined && !graph.initializers.has(v)) {
      base.set(v, size);
      size += c;
    }
  }
  const uf = new UnionFind(size);
  const pinValue = (v: string) => {
    const b = base.get(v);
    if (b !== undefined) for (let c = 0; c < channels(v)!; c++) uf.pin(b + c);
  };
  const pinNode = (n: Node) => [...n.inputs, ...n.outputs].forEach(pinValue);
  const uses = new Map<string, number>();
  for (const n of graph.nodes) for (const i of n.inputs) uses.set(i, (uses.get(i) ?? 0) + 1);

  const producers: ChannelOfNode[][] = Array.from({ length: size }, () => []);
  const consumers: ChannelOfNode[][] = Array.from({ length: size }, () => []);
  for (const n of graph.nodes) {
    const data = n.inputs[0];
    const out = n.outputs[0];
    const known = [...n.inputs.filter((i) => i && !graph.initializers.has(i)), ...n.outputs].every((v) => base.has(v));
    if (n.opType === 'Conv' && base.has(data) && base.has(out) && ownsWeights(n, graph, uses)) {
      for (let c = 0; c < channels(out)!; c++) producers[base.get(out)! + c].push({ node: n, channel: c });
      for (let c = 0; c < channels(data)!; c++) consumers[base.get(data)! + c].push({ node: n, channel: c });
    } else if ((PER_CHANNEL.has(n.opType) || (n.opType === 'Pad' && isZeroSpatialPad(n, graph))) && known && channels(data) === channels(out) && (n.opType !== 'PRelu' || graph.initializers.has(n.inputs[1]))) {
      for (let c = 0; c < channels(out)!; c++) uf.union(base.get(data)! + c, base.get(out)! + c);
      n.outputs.slice(1).forEach(pinValue); // MaxPool indices, Dropout mask
    } else if (n.opType === 'Concat' && known && n.inputs.every((i) => base.has(i)) && channelAxis(shapes.get(out)!.shape!.length, Number(n.attrs.axis))) {
      let offset = 0;
      for (const i of n.inputs) {
        for (let c = 0; c < channels(i)!; c++) uf.union(base.get(i)! + c, base.get(out)! + offset + c);
        offset += channels(i)!;
      }
      if (offset !== channels(out)) pinNode(n);
    } else if (n.opType === 'Split' && known && channelAxis(shapes.get(data)!.shape!.length, Number(n.attrs.axis ?? 0))) {
      let offset = 0;
      for (const o of n.outputs) {
        for (let c = 0; c < channels(o)!; c++) uf.union(base.get(data)! + offset + c, base.get(o)! + c);
        offset += channels(o)!;
      }
      if (offset !== channels(data)) pinNode(n);
    } else {
      pinNode(n);
    }
  }
  for (const v of [...graph.inputs, ...graph.outputs]) pinValue(v.name);
  // PRelu's slope input and the like are constants: only data values are elements.

  const groups = new Map<number, ScalingGroup>();
  const readers = consumerMap(graph);
  for (const [v, b] of base) {
    if (!readers.has(v) && !graph.outputs.some((o) => o.name === v)) continue; // dead value: nothing to keep equal
    for (let c = 0; c < channels(v)!; c++) {
      const r = uf.find(b + c);
      if (uf.pinned[r]) continue;
      let g = groups.get(r);
      if (!g) groups.set(r, (g = { members: [], producers: [], consumers: [] }));
      g.members.push({ value: v, channel: c });
      g.producers.push(...producers[b + c]);
      g.consumers.push(...consumers[b + c]);
    }
  }
  // Every source of a free group is a conv (anything else pinned it); a group no conv reads changes nothing.
  return [...groups.values()].filter((g) => g.producers.length > 0 && g.consumers.length > 0);
}
