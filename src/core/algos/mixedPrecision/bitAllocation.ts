/**
 * Bit allocation under a size budget (ZeroQ's Pareto frontier, exact): every layer picks one option
 * (bits, bytes, cost); the cheapest total cost whose total bytes fit the budget. Dynamic programming
 * over the layers keeps, after each layer, the Pareto frontier of partial assignments (no other one is
 * both smaller and cheaper); the frontier after the last layer holds every optimum, for every budget, so
 * the same pass gives the allocation and the size-vs-predicted-error curve a report can draw.
 * Bytes are exact integers (measured per layer, see exportSizeTable.ts), so a budget is never
 * "almost" met; costs are summed (per-layer sensitivities assumed additive, as ZeroQ does).
 */
import { LocalQuantError } from '../../errors.js';

export interface BitOption {
  bits: number;
  /** Its bytes include a cost paid once per file by every option sharing it (key into the shared costs). */
  shared?: number;
  /** What this option adds to the file, relative to the table's base (may be negative). */
  bytes: number;
  cost: number;
}

export interface LayerOptions {
  name: string;
  options: BitOption[];
}

export interface FrontierPoint {
  bytes: number;
  cost: number;
  /** Bits per layer, in the order of the layers given. */
  bits: number[];
}

/** Above this many points the frontier is thinned to the cheapest point per byte bucket (never met on the nets we measured). */
const MAX_POINTS = 50_000;

interface Step {
  bytes: Float64Array;
  cost: Float64Array;
  /** Index of the point in the previous frontier and the option taken for this layer. */
  prev: Int32Array;
  option: Int32Array;
}

/** The Pareto frontier of whole-model (bytes, cost), smallest first (cost strictly falling). */
export function paretoFrontier(baseBytes: number, layers: LayerOptions[]): FrontierPoint[] {
  for (const l of layers) if (!l.options.length) throw new LocalQuantError('INTERNAL', `layer ${l.name} has no bit-width option`);
  const steps: Step[] = [];
  let bytes: Float64Array = Float64Array.of(baseBytes);
  let cost: Float64Array = Float64Array.of(0);
  for (const l of layers) {
    const m = bytes.length * l.options.length;
    const cb = new Float64Array(m);
    const cc = new Float64Array(m);
    for (let i = 0, k = 0; i < bytes.length; i++) {
      for (const o of l.options) {
        cb[k] = bytes[i] + o.bytes;
        cc[k++] = cost[i] + o.cost;
      }
    }
    const order = Array.from({ length: m }, (_, k) => k).sort((a, b) => cb[a] - cb[b] || cc[a] - cc[b]);
    let kept: number[] = [];
    let best = Infinity;
    for (const k of order) {
      if (cc[k] < best) {
        kept.push(k);
        best = cc[k];
      }
    }
    if (kept.length > MAX_POINTS) kept = thin(kept, cb);
    const step: Step = { bytes: new Float64Array(kept.length), cost: new Float64Array(kept.length), prev: new Int32Array(kept.length), option: new Int32Array(kept.length) };
    kept.forEach((k, j) => {
      step.bytes[j] = cb[k];
      step.cost[j] = cc[k];
      step.prev[j] = Math.floor(k / l.options.length);
      step.option[j] = k % l.options.length;
    });
    steps.push(step);
    bytes = step.bytes;
    cost = step.cost;
  }
  const points: FrontierPoint[] = [];
  for (let j = 0; j < bytes.length; j++) {
    const bits = new Array<number>(layers.length);
    for (let li = layers.length - 1, p = j; li >= 0; li--) {
      bits[li] = layers[li].options[steps[li].option[p]].bits;
      p = steps[li].prev[p];
    }
    points.push({ bytes: bytes[j], cost: cost[j], bits });
  }
  return points.length ? points : [{ bytes: baseBytes, cost: 0, bits: [] }];
}

/**
 * The frontier when some widths carry a cost paid once (the shared unpacking of 2/3-bit planes): one DP
 * per set of shared costs in use (those bytes in the base, the options sharing them without them,
 * options sharing a cost outside the set barred), merged into one frontier.
 */
export function paretoFrontierWithShared(baseBytes: number, table: LayerOptions[], shared: Map<number, number>): FrontierPoint[] {
  const keys = [...shared.keys()];
  const all: FrontierPoint[] = [];
  for (let mask = 0; mask < 1 << keys.length; mask++) {
    const used = keys.filter((_, i) => mask & (1 << i));
    const allowed = table.map((l) => ({
      ...l,
      options: l.options.filter((o) => o.shared === undefined || used.includes(o.shared)).map((o) => ({ ...o, bytes: o.bytes - (o.shared === undefined ? 0 : (shared.get(o.shared) ?? 0)) })),
    }));
    if (allowed.some((l) => !l.options.length)) continue;
    all.push(...paretoFrontier(baseBytes + used.reduce((a, b) => a + shared.get(b)!, 0), allowed));
  }
  all.sort((a, b) => a.bytes - b.bytes || a.cost - b.cost);
  let best = Infinity;
  return all.filter((p) => p.cost < best && ((best = p.cost), true));
}

/** Cheapest point per bucket of bytes (MAX_POINTS / 2 buckets); the points stay a frontier. */
function thin(kept: number[], bytes: Float64Array): number[] {
  const lo = bytes[kept[0]];
  const width = (bytes[kept[kept.length - 1]] - lo) / (MAX_POINTS / 2) || 1;
  const out: number[] = [];
  for (const k of kept) {
    // kept is sorted by bytes with falling cost: the last in each bucket is its cheapest
    if (out.length && Math.floor((bytes[out[out.length - 1]] - lo) / width) === Math.floor((bytes[k] - lo) / width)) out[out.length - 1] = k;
    else out.push(k);
  }
  return out;
}

/**
 * The cheapest frontier point within `budgetBytes`; BAD_CONFIG with the smallest reachable size when
 * none fits. `describe` formats a byte count for the message (e.g. with the share of the float file).
 */
export function allocateBits(frontier: FrontierPoint[], budgetBytes: number, describe: (bytes: number) => string = (b) => `${b} bytes`, hint?: string): FrontierPoint {
  let chosen: FrontierPoint | undefined;
  for (const p of frontier) if (p.bytes <= budgetBytes) chosen = p;
  if (!chosen) {
    throw new LocalQuantError('BAD_CONFIG', `The size budget ${describe(budgetBytes)} cannot be met: the smallest this model can be written is ${describe(frontier[0].bytes)}.`, hint ?? 'Raise the budget.');
  }
  return chosen;
}
