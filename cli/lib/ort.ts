import * as ort from 'onnxruntime-node';

/**
 * onnxruntime-node, the reference runtime: runs ONNX models (float and QDQ) on the CPU. Node-only.
 */

export interface OrtTensor {
  data: Float32Array;
  dims: number[];
}

export interface OrtSessionOptions {
  optimize?: boolean;
  /** Intra-op threads (default: ORT's choice, all cores). */
  threads?: number;
  /** Where ORT writes the model after its graph optimizations (to see which kernels it chose). */
  optimizedModelPath?: string;
}

export async function createOrtSession(model: string | Uint8Array, opts: OrtSessionOptions = {}): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: opts.optimize === false ? 'disabled' : 'all',
    ...(opts.threads ? { intraOpNumThreads: opts.threads, interOpNumThreads: 1, executionMode: 'sequential' as const } : {}),
    ...(opts.optimizedModelPath ? { optimizedModelFilePath: opts.optimizedModelPath } : {}),
  };
  return typeof model === 'string' ? ort.InferenceSession.create(model, options) : ort.InferenceSession.create(model, options);
}

/** One run; float32 inputs by name, every output back as float32 (other dtypes converted). */
export async function runOrt(session: ort.InferenceSession, inputs: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(inputs)) feeds[name] = new ort.Tensor('float32', t.data, t.dims);
  const res = await session.run(feeds);
  const out: Record<string, OrtTensor> = {};
  for (const [name, t] of Object.entries(res)) {
    const d = t.data as ArrayLike<number | bigint>;
    out[name] = { data: d instanceof Float32Array ? d : Float32Array.from(d as ArrayLike<number>, Number), dims: [...t.dims] };
    t.dispose?.();
  }
  return out;
}

/**
 * Runs a one-input model over an NCHW float batch in chunks of `batch` and concatenates the (first, or
 * named) output along axis 0.
 */
export async function runOrtBatched(
  session: ort.InferenceSession,
  images: Float32Array,
  dims: readonly number[],
  opts: { batch?: number; inputName?: string; outputName?: string; onBatch?: (done: number, total: number) => void } = {},
): Promise<OrtTensor> {
  const batch = opts.batch ?? 256;
  const inputName = opts.inputName ?? session.inputNames[0];
  const outputName = opts.outputName ?? session.outputNames[0];
  const n = dims[0];
  const per = dims.slice(1).reduce((a, b) => a * b, 1);
  const parts: Float32Array[] = [];
  let outDims: number[] = [];
  for (let s = 0; s < n; s += batch) {
    const m = Math.min(batch, n - s);
    const res = await runOrt(session, { [inputName]: { data: images.subarray(s * per, (s + m) * per), dims: [m, ...dims.slice(1)] } });
    const o = res[outputName];
    parts.push(o.data);
    outDims = o.dims;
    opts.onBatch?.(s + m, n);
  }
  const total = parts.reduce((a, p) => a + p.length, 0);
  const data = new Float32Array(total);
  let off = 0;
  for (const p of parts) {
    data.set(p, off);
    off += p.length;
  }
  return { data, dims: [n, ...outDims.slice(1)] };
}
