/**
 * The part of the onnxruntime API (onnxruntime-common) that verification uses, typed structurally so the
 * same core code runs on onnxruntime-web in the worker and onnxruntime-node in the CLI and tests.
 */
export interface OrtTensorLike {
  readonly dims: readonly number[];
  readonly data: unknown;
  dispose?(): void;
}

export interface OrtSessionLike {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OrtTensorLike>): Promise<Record<string, OrtTensorLike>>;
  release?(): Promise<void>;
}

export interface OrtLike {
  /** Display name of the runtime, e.g. "onnxruntime-web 1.30 (wasm, 1 thread)". */
  name: string;
  createSession(bytes: Uint8Array): Promise<OrtSessionLike>;
  tensor(data: Float32Array, dims: readonly number[]): OrtTensorLike;
}

/** A float32 view of an output (other dtypes converted). */
export function outputAsFloat(t: OrtTensorLike): Float32Array {
  const d = t.data as ArrayLike<number | bigint>;
  return d instanceof Float32Array ? d : Float32Array.from(d as ArrayLike<number>, Number);
}
