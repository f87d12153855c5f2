/**
 * The forward-only passes of quantization (activation ranges, the channel-noise rule) need chosen values
 * of the FLOAT network for each calibration batch. Two engines give them: our tfjs executor (everywhere),
 * or onnxruntime behind the core's OrtLike interface (the CLI passes onnxruntime-node): on this CPU its
 * AVX-512 kernels run a forward pass ~4x faster than tfjs-wasm's 128-bit SIMD at one thread
 * (bench/speed.ts measures both in one run). Values come back in the graph's layout (NCHW for 4-D) from
 * onnxruntime, and channels-last where the executor holds them so; `layout` says which.
 */
import * as tf from '@tensorflow/tfjs';
import { writeOnnx } from '../exporters/onnx/onnxWriter.js';
import type { Graph } from '../ir/types.js';
import type { GraphExecutor } from '../runtime/executor.js';
import type { CapturedTensor } from '../runtime/types.js';
import { outputAsFloat, type OrtLike, type OrtSessionLike } from '../verify/ortLike.js';

export interface FloatValueTap {
  /** What runs the passes, for the report ("tfjs wasm", "onnxruntime-node 1.30 (cpu, 2 threads)"). */
  readonly engine: string;
  /** The float network's values `names` on one batch; the caller disposes the tensors. */
  values(batch: tf.Tensor, names: readonly string[]): Promise<Map<string, CapturedTensor>>;
  dispose(): Promise<void>;
}

export function executorTap(exec: GraphExecutor, engine: string): FloatValueTap {
  const inputName = exec.graph.inputs[0].name;
  return {
    engine,
    async values(batch, names) {
      const r = exec.execute({ [inputName]: batch }, { capture: names });
      tf.dispose([...r.outputs.values()]);
      return r.captured;
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
      const out = new Map<string, CapturedTensor>();
      if (names.includes(inputName)) out.set(inputName, { tensor: tf.clone(batch), layout: batch.rank === 4 ? 'NCHW' : 'plain' });
      if (computed.length === 0) return out;
      const session = await sessionFor(computed);
      const res = await session.run({ [inputName]: ort.tensor((await batch.data()) as Float32Array, batch.shape) });
      for (const name of computed) {
        const t = res[name];
        out.set(name, { tensor: tf.tensor(outputAsFloat(t), [...t.dims]), layout: t.dims.length === 4 ? 'NCHW' : 'plain' });
      }
      for (const t of Object.values(res)) t.dispose?.();
      return out;
    },
    async dispose() {
      for (const s of sessions.values()) await (await s).release?.();
      sessions.clear();
    },
  };
}
