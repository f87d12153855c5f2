/**
 * Fold a zero Pad into the Conv(s) it feeds: Pad(x, pads) -> Conv  =>  Conv(x) with the spatial pads added.
 * Keras writes a ZeroPadding2D before every stride-2 'valid' conv (MobileNetV2: one per stage); left as a Pad,
 * the QDQ export runs it in float between a DequantizeLinear and a QuantizeLinear, which cost a quarter of the
 * int8 MobileNetV2's time in ONNX Runtime. Conv's own (asymmetric) pads do the same with zeros, and in the
 * integer kernel the zero point pads, which is the same value.
 * Only a constant-mode Pad with value 0 (or none), no padding of batch/channel axes, non-negative pads, whose
 * every consumer is a Conv reading it as input 0 with explicit pads (no auto_pad), and that is no graph output.
 */
import { cloneGraph, consumerMap } from '../graph.js';
import type { Graph, Node } from '../types.js';

export function foldPadIntoConv(input: Graph): { graph: Graph; folded: string[] } {
  const g = cloneGraph(input, { shareTensors: true });
  const consumers = consumerMap(g);
  const graphOutputs = new Set(g.outputs.map((o) => o.name));
  const removed = new Set<Node>();
  const folded: string[] = [];
  for (const pad of g.nodes) {
    if (pad.opType !== 'Pad' || graphOutputs.has(pad.outputs[0])) continue;
    const spatial = spatialPads(g, pad);
    const convs = consumers.get(pad.outputs[0]) ?? [];
    if (!spatial || convs.length === 0 || !convs.every((c) => foldableConv(c, pad.outputs[0], spatial.length / 2))) continue;
    for (const conv of convs) {
      const n = spatial.length / 2;
      const old = (conv.attrs.pads as number[] | undefined) ?? new Array(2 * n).fill(0);
      conv.attrs = { ...conv.attrs, pads: old.map((p, i) => p + spatial[i]) };
      conv.inputs = [pad.inputs[0], ...conv.inputs.slice(1)];
    }
    g.valueInfo.delete(pad.outputs[0]);
    removed.add(pad);
    folded.push(pad.name);
  }
  g.nodes = g.nodes.filter((n) => !removed.has(n));
  const used = new Set(g.nodes.flatMap((n) => n.inputs));
  for (const pad of removed) for (const v of pad.inputs.slice(1)) if (v && !used.has(v)) g.initializers.delete(v);
  return { graph: g, folded };
}

/** The Pad's spatial pads as [begin..., end...] when it is a zero pad of spatial axes only (NC.. layout), else null. */
function spatialPads(g: Graph, pad: Node): number[] | null {
  const mode = (pad.attrs.mode as string | undefined) ?? 'constant';
  if (mode !== 'constant' || pad.inputs[3]) return null; // an axes input: rare, left alone
  const pads = g.initializers.get(pad.inputs[1] ?? '');
  if (!pads) return null;
  const value = pad.inputs[2] ? g.initializers.get(pad.inputs[2]) : undefined;
  if (pad.inputs[2] && (!value || Array.from(value.data).some((v) => v !== 0))) return null;
  const p = Array.from(pads.data, Number);
  const rank = p.length / 2;
  if (rank < 3 || p.some((v) => v < 0) || p[0] || p[1] || p[rank] || p[rank + 1]) return null;
  return [...p.slice(2, rank), ...p.slice(rank + 2)];
}

function foldableConv(n: Node, value: string, spatialRank: number): boolean {
  if (n.opType !== 'Conv' || n.inputs[0] !== value || n.inputs.slice(1).includes(value)) return false;
  const autoPad = (n.attrs.auto_pad as string | undefined) ?? 'NOTSET';
  const pads = n.attrs.pads as number[] | undefined;
  return autoPad === 'NOTSET' && (!pads || pads.length === 2 * spatialRank);
}
