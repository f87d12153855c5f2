/**
 * Merge chains of clamping activations (Relu, Clip with constant bounds) into one: clamp(clamp(x, a1, b1),
 * a2, b2) = clamp(x, max(a1, a2), min(b1, b2)) when the two ranges overlap; Relu is clamp(x, 0, inf).
 *
 * Why: TF.js converts Keras's ReLU6 written as relu + clip_by_value and a following ReLU into such chains
 * (FaceRes: Relu -> Clip(max 6) -> Relu), and ONNX Runtime 1.30's QDQ optimizer fails on a quantized Conv
 * followed by two activations that the QuantizeLinear after them makes redundant ("two nodes with same
 * node name"): the export would not load at all. One clamp is also one op less at run time.
 * Only a first op whose output nothing else reads (and is no graph output) is merged.
 */
import { cloneGraph, consumerMap } from '../graph.js';
import type { Graph, Node } from '../types.js';

interface Bounds {
  lo: number;
  hi: number;
}

function boundsOf(g: Graph, n: Node): Bounds | null {
  if (n.opType === 'Relu') return { lo: 0, hi: Infinity };
  if (n.opType !== 'Clip') return null;
  const scalar = (name: string | undefined, absent: number): number | null => {
    if (!name) return absent;
    const t = g.initializers.get(name);
    return t && t.data.length === 1 && t.dtype === 'float32' ? Number(t.data[0]) : null;
  };
  const lo = scalar(n.inputs[1], -Infinity);
  const hi = scalar(n.inputs[2], Infinity);
  return lo === null || hi === null ? null : { lo, hi };
}

export function mergeClamps(input: Graph): { graph: Graph; merged: string[] } {
  const g = cloneGraph(input, { shareTensors: true });
  const consumers = consumerMap(g);
  const graphOutputs = new Set(g.outputs.map((o) => o.name));
  const removed = new Set<Node>();
  const merged: string[] = [];
  const replaced = new Set<string>();
  for (const first of g.nodes) {
    if (removed.has(first) || graphOutputs.has(first.outputs[0])) continue;
    const a = boundsOf(g, first);
    const readers = consumers.get(first.outputs[0]) ?? [];
    if (!a || readers.length !== 1 || readers[0].inputs[0] !== first.outputs[0] || readers[0].inputs.slice(1).includes(first.outputs[0])) continue;
    const second = readers[0];
    const b = boundsOf(g, second);
    if (!b) continue;
    const lo = Math.max(a.lo, b.lo);
    const hi = Math.min(a.hi, b.hi);
    if (lo > hi) continue; // disjoint ranges: the chain is a constant, left as it is
    // the second node takes the first one's input and the merged bounds; the first goes
    for (const v of [...first.inputs.slice(1), ...second.inputs.slice(1)]) if (v) replaced.add(v);
    if (lo === 0 && hi === Infinity) {
      second.opType = 'Relu';
      second.inputs = [first.inputs[0]];
    } else {
      const bound = (v: number, which: string) => {
        if (!Number.isFinite(v)) return '';
        const name = `${second.name}/${which}`;
        g.initializers.set(name, { dtype: 'float32', dims: [], data: Float32Array.of(v) });
        return name;
      };
      second.opType = 'Clip';
      second.inputs = [first.inputs[0], bound(lo, 'merged_min'), bound(hi, 'merged_max')];
    }
    second.attrs = {};
    // what reads the first node now is the second alone: later chains see it through `first`'s input
    consumers.set(first.inputs[0], (consumers.get(first.inputs[0]) ?? []).map((c) => (c === first ? second : c)));
    g.valueInfo.delete(first.outputs[0]);
    removed.add(first);
    merged.push(`${first.name}+${second.name}`);
  }
  g.nodes = g.nodes.filter((n) => !removed.has(n));
  const used = new Set(g.nodes.flatMap((n) => n.inputs));
  for (const v of replaced) if (!used.has(v)) g.initializers.delete(v);
  return { graph: g, merged };
}
