/**
 * A graph walked forward in steps: each `advanceTo` runs only the nodes the requested values still
 * need, starting from the values in hand, and keeps just the values that nodes not yet run will read
 * (for a ResNet: the current activation and the open skip branch). Walking all layers this way costs
 * one forward pass in total, instead of one prefix pass per layer (layer-by-layer quantization).
 *
 * Values can be moved to host memory (`offload`) between steps, so that many batches can wait at the
 * same layer while the accelerator (or the 4 GB wasm heap) holds one batch at a time.
 */
import * as tf from '@tensorflow/tfjs';
import { consumerMap, nodesNeededFor, producerMap } from '../ir/graph.js';
import type { Graph, Node } from '../ir/types.js';
import type { GraphExecutor } from './executor.js';
import type { CapturedTensor, ValueHook } from './types.js';

/** Producers and consumers of a graph's values, shared by all streams over it. */
export class GraphWalk {
  readonly producer: Map<string, Node>;
  readonly consumers: Map<string, Node[]>;

  constructor(readonly graph: Graph) {
    this.producer = producerMap(graph);
    this.consumers = consumerMap(graph);
  }

  /** Nodes that must run to get `targets` from the values in `known`. */
  nodesFor(targets: Iterable<string>, known: Set<string> | Map<string, unknown>): Set<Node> {
    return nodesNeededFor(this.producer, targets, known);
  }
}

export interface StreamOptions {
  hook?: ValueHook;
  hookValues?: Iterable<string>;
  /** Read at each step, so weights quantized after the stream started are used from then on. */
  overrides?: Map<string, tf.Tensor>;
}

interface HostValue {
  data: tf.TypedArray;
  dtype: tf.DataType;
  shape: number[];
  layout: CapturedTensor['layout'];
}

export class ValueStream {
  private values = new Map<string, CapturedTensor>();
  private host = new Map<string, HostValue>();
  private readonly ran = new Set<Node>();
  /** Kept as an array: an iterator (e.g. map.keys()) would be used up by the first step. */
  private readonly hookValues?: string[];

  /** Takes ownership of the `inputs` tensors (already hooked if the stream quantizes its input). */
  constructor(
    private readonly exec: GraphExecutor,
    private readonly walk: GraphWalk,
    inputs: Map<string, CapturedTensor>,
    private readonly opts: StreamOptions = {},
  ) {
    for (const [k, v] of inputs) this.values.set(k, v);
    if (opts.hookValues) this.hookValues = [...opts.hookValues];
  }

  /**
   * Runs up to `targets` and returns them (owned by the stream: valid until the next advance or
   * dispose). Values no later node reads are freed.
   */
  advanceTo(targets: string[]): Map<string, CapturedTensor> {
    this.reload();
    const plan = this.walk.nodesFor(targets, this.values);
    for (const n of plan) this.ran.add(n);
    const candidates = new Set([...this.values.keys()]);
    for (const n of plan) for (const o of n.outputs) if (o) candidates.add(o);
    const live = new Set(targets);
    for (const v of candidates) if ((this.walk.consumers.get(v) ?? []).some((c) => !this.ran.has(c))) live.add(v);
    const r = this.exec.execute(new Map(), {
      capture: live,
      stopAfterCaptures: true,
      start: this.values,
      hook: this.opts.hook,
      hookValues: this.hookValues,
      overrides: this.opts.overrides,
    });
    tf.dispose([...r.outputs.values()]);
    for (const c of this.values.values()) c.tensor.dispose();
    this.values = r.captured;
    return new Map(targets.map((t) => [t, this.values.get(t)!]));
  }

  /** Bytes of the values held on the tfjs backend. */
  heldBytes(): number {
    let b = 0;
    for (const c of this.values.values()) b += c.tensor.size * 4;
    return b;
  }

  /** Moves the held values to host memory (read back now; uploaded again at the next advance). */
  async offload(): Promise<void> {
    for (const [k, c] of this.values) {
      this.host.set(k, { data: (await c.tensor.data()) as tf.TypedArray, dtype: c.tensor.dtype, shape: c.tensor.shape.slice(), layout: c.layout });
      c.tensor.dispose();
    }
    this.values.clear();
  }

  private reload(): void {
    for (const [k, h] of this.host) this.values.set(k, { tensor: tf.tensor(h.data, h.shape, h.dtype), layout: h.layout });
    this.host.clear();
  }

  dispose(): void {
    for (const c of this.values.values()) c.tensor.dispose();
    this.values.clear();
    this.host.clear();
  }
}
