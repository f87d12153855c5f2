import * as tf from '@tensorflow/tfjs';
import { LocalQuantError } from '../errors.js';
import { producerOf } from '../ir/graph.js';
import { prepareGraph } from '../ir/prepare.js';
import type { Graph } from '../ir/types.js';
import { SeededRandom } from '../synth/prng.js';
import { GraphExecutor } from './executor.js';

export interface ProbeResult {
  /** Largest |value| of each graph output on the probe image (finite: the probe refuses anything else). */
  maxAbs: Map<string, number>;
}

/**
 * Standard-normal images (two, one at a time) through a prepared graph (concrete shapes): the last check before
 * a model is worked on. Weights that are large but below the import limit (a flipped exponent
 * bit: 1e15) pass every import check and can still turn the outputs into Inf/NaN a few layers on; such a
 * model is refused here, naming the first node whose output is not finite, instead of quantizing garbage.
 * Frees everything it allocates. Reads asynchronously: tfjs 4.22 pitfall, a synchronous read (dataSync)
 * on webgpu in a Chromium worker fails and loses the device ("A valid external Instance reference no
 * longer exists").
 */
export async function probeForward(prepared: Graph, executor?: GraphExecutor): Promise<ProbeResult> {
  const ex = executor ?? new GraphExecutor(prepared);
  const maxAbs = new Map<string, number>();
  try {
    // two images: with ReLUs, one input can zero out the path through a damaged weight
    for (const seed of PROBE_SEEDS) {
      const feeds = standardNormalFeeds(prepared, seed);
      try {
        const { outputs } = ex.execute(feeds);
        let finite = true;
        for (const [name, t] of outputs) {
          const d = await t.data();
          let m = maxAbs.get(name) ?? 0;
          for (let i = 0; i < d.length; i++) {
            const a = Math.abs(d[i]);
            if (!(a <= Number.MAX_VALUE)) finite = false;
            else if (a > m) m = a;
          }
          maxAbs.set(name, m);
          t.dispose();
        }
        if (!finite) throw await nonFiniteError(prepared, ex, feeds);
      } finally {
        tf.dispose([...feeds.values()]);
      }
    }
    return { maxAbs };
  } finally {
    if (!executor) ex.dispose();
  }
}

const PROBE_SEEDS = [20250601, 1];

/**
 * Input shapes for one image of the model as imported: a symbolic batch becomes 1. Undefined when another
 * dimension is symbolic (the caller's own shapes decide then).
 */
export function oneImageShapes(graph: Graph): Record<string, number[]> | undefined {
  const shapes: Record<string, number[]> = {};
  for (const v of graph.inputs) {
    if (!v.shape || v.shape.length === 0 || !v.shape.slice(1).every((d) => typeof d === 'number')) return undefined;
    shapes[v.name] = [1, ...(v.shape.slice(1) as number[])];
  }
  return shapes;
}

/**
 * probeForward on the model as imported, for a pipeline right after import: prepares it for one image and
 * runs the probe. Skipped (undefined) when the inputs have symbolic dimensions other than the batch.
 */
export async function probeModel(graph: Graph): Promise<ProbeResult | undefined> {
  const shapes = oneImageShapes(graph);
  return shapes ? probeForward(prepareGraph(graph, shapes)) : undefined;
}

/** Seeded standard-normal float inputs (zeros for integer ones) in the prepared graph's concrete shapes; caller disposes. */
export function standardNormalFeeds(prepared: Graph, seed: number): Map<string, tf.Tensor> {
  const rng = new SeededRandom(seed);
  const feeds = new Map<string, tf.Tensor>();
  for (const v of prepared.inputs) {
    const shape = (prepared.valueInfo.get(v.name)?.shape ?? v.shape ?? []) as number[];
    const n = shape.reduce((a, b) => a * b, 1);
    feeds.set(v.name, v.dtype.startsWith('float') ? tf.tensor(rng.normalArray(n), shape) : tf.zeros(shape, 'int32'));
  }
  return feeds;
}

/** Runs again with a hook on every value to find the first node whose output holds NaN/Inf. */
async function nonFiniteError(g: Graph, ex: GraphExecutor, feeds: Map<string, tf.Tensor>): Promise<LocalQuantError> {
  // One "all finite" flag per value in execution order, read after the run (no synchronous reads).
  const flags: [string, tf.Tensor][] = [];
  const { outputs } = ex.execute(feeds, {
    hook: (name, v) => {
      if (v.tensor.dtype === 'float32') flags.push([name, tf.keep(tf.tidy(() => tf.all(tf.isFinite(v.tensor))))]);
      return undefined;
    },
  });
  tf.dispose([...outputs.values()]);
  let first: string | undefined;
  for (const [name, f] of flags) if (first === undefined && !(await f.data())[0]) first = name;
  tf.dispose(flags.map(([, f]) => f));
  const node = first ? producerOf(g, first) : undefined;
  const weights = node ? node.inputs.filter((i) => g.initializers.has(i)) : [];
  const largest = weights.map((w) => {
    const d = g.initializers.get(w)!.data;
    let m = 0;
    for (let i = 0; i < d.length; i++) m = Math.max(m, Math.abs(d[i]));
    return `'${w}' (max |w| ${m.toPrecision(3)})`;
  });
  return new LocalQuantError(
    'BAD_WEIGHTS',
    node
      ? `The model computes NaN/Inf at node '${node.name}' (${node.opType}) on a standard-normal input image${largest.length ? `; its weights: ${largest.join(', ')}` : ''}.`
      : 'The model computes NaN/Inf on a standard-normal input image.',
    'The weights are probably damaged (or the model diverged in training): export it again.',
  );
}
