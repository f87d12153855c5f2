/**
 * The forward-only passes of quantization (activation ranges, the channel-noise rule) need chosen values
 * of the FLOAT network for each calibration batch. Two engines give them: our tfjs executor (everywhere),
 * or onnxruntime behind the core's OrtLike interface (the CLI passes onnxruntime-node): on this CPU its
 * AVX-512 kernels run a forward pass ~4x faster than tfjs-wasm's 128-bit SIMD at one thread
 * (bench/speed.ts measures both in one run). Values come back in the graph's layout (NCHW for 4-D) from
 * onnxruntime, and channels-last where the executor holds them so; `layout` says which.
 */
import * as tf from '@tensorflow/tfjs';
import { concatArrays } from '../data/bytes.js';
import { writeOnnx } from '../exporters/onnx/onnxWriter.js';
import { declaredBatch } from '../ir/graph.js';
import type { Graph } from '../ir/types.js';
import type { GraphExecutor } from '../runtime/executor.js';
import type { CapturedTensor, TensorLayout } from '../runtime/types.js';
import { outputAsFloat, type OrtLike, type OrtSessionLike } from '../verify/ortLike.js';

/**
 * One value of one batch, read as host data (range histograms) or as a tensor (the channel-noise pass):
 * onnxruntime hands back host arrays, and a copy into the tfjs backend is made only when a tensor is asked.
 */
export interface TappedValue {
  layout: TensorLayout;
  data(): Promise<Float32Array>;
  /** Owned by the TappedValue: freed by dispose(). */
  tensor(): tf.Tensor;
  dispose(): void;
}

export interface FloatValueTap {
  /** What runs the passes, for the report ("tfjs wasm", "onnxruntime-node 1.30 (cpu, 2 threads)"). */
  readonly engine: string;
  /** The float network's values `names` on one batch; the caller disposes them. */
  values(batch: tf.Tensor, names: readonly string[]): Promise<Map<string, TappedValue>>;
  dispose(): Promise<void>;
}

export function disposeTapped(values: Map<string, TappedValue>): void {
  for (const v of values.values()) v.dispose();
}

function fromTensor(c: CapturedTensor): TappedValue {
  return { layout: c.layout, data: async () => (await c.tensor.data()) as Float32Array, tensor: () => c.tensor, dispose: () => c.tensor.dispose() };
}

function fromHost(data: Float32Array, dims: readonly number[]): TappedValue {
  let t: tf.Tensor | undefined;
  return {
    layout: dims.length === 4 ? 'NCHW' : 'plain',
    data: async () => data,
    tensor: () => (t ??= tf.tensor(data, [...dims])),
    dispose: () => t?.dispose(),
  };
}

export function executorTap(exec: GraphExecutor, engine: string): FloatValueTap {
  const inputName = exec.graph.inputs[0].name;
  return {
    engine,
    async values(batch, names) {
      const r = exec.execute({ [inputName]: batch }, { capture: names });
      tf.dispose([...r.outputs.values()]);
      return new Map([...r.captured].map(([n, c]) => [n, fromTensor(c)]));
    },
    async dispose() {},
  };
}

/**
 * The float graph as ONNX with `names` as its outputs (graph inputs among them are answered from the
 * feed: ONNX cannot list an input as an output). One session per set of names.
 */
export function ortTap(graph: Graph, ort: OrtLike): FloatValueTap {
  const inputName = graph.inputs[0].name;
  const fixedBatch = declaredBatch(graph);
  const sessions = new Map<string, Promise<OrtSessionLike>>();
  const sessionFor = (names: string[]) => {
    const key = names.join('\u0000');
    let s = sessions.get(key);
    if (!s) {
      const outputs = names.map((name) => ({ name, dtype: graph.valueInfo.get(name)?.dtype ?? ('float32' as const), shape: null }));
      s = ort.createSession(writeOnnx({ ...graph, outputs }));
      sessions.set(key, s);
    }
    return s;
  };
  return {
    engine: ort.name,
    async values(batch, names) {
      const computed = [...new Set(names)].filter((n) => n !== inputName).sort();
      const out = new Map<string, TappedValue>();
      const input = (await batch.data()) as Float32Array;
      if (names.includes(inputName)) out.set(inputName, fromHost(input, batch.shape));
      if (computed.length === 0) return out;
      const session = await sessionFor(computed);
      // A model declared with a fixed batch (detectors: 1) runs in chunks of it, joined on axis 0.
      const n = batch.shape[0];
      const chunk = fixedBatch && n % fixedBatch === 0 ? fixedBatch : n;
      const per = input.length / n;
      const parts = new Map<string, { data: Float32Array; dims: readonly number[] }[]>(computed.map((c) => [c, []]));
      for (let s = 0; s < n; s += chunk) {
        const res = await session.run({ [inputName]: ort.tensor(input.subarray(s * per, (s + chunk) * per), [chunk, ...batch.shape.slice(1)]) });
        // outputAsFloat keeps a float32 output's own array: the ORT tensor is not disposed under it
        for (const name of computed) parts.get(name)!.push({ data: outputAsFloat(res[name]), dims: res[name].dims });
      }
      for (const [name, p] of parts) out.set(name, fromHost(concatArrays(p.map((x) => x.data)), [p.reduce((a, x) => a + x.dims[0], 0), ...p[0].dims.slice(1)]));
      return out;
    },
    async dispose() {
      for (const s of sessions.values()) await (await s).release?.();
      sessions.clear();
    },
  };
}
