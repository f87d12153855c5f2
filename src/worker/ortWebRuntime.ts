/**
 * onnxruntime-web (wasm EP) behind the core's OrtLike interface: the runtime users ship, run on the exported
 * bytes inside the worker. Its wasm binary is an asset of our own build (same origin, precached by the
 * service worker), fetched here and handed over as bytes, so the library never builds a URL of its own.
 * Threads only where the page is cross-origin isolated (SharedArrayBuffer); otherwise one thread.
 * The single-file build replaces this module (ortWebRuntime.single.ts): 14 MB of wasm is not inlined.
 */
import * as ort from 'onnxruntime-web/wasm';
import ortWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url';
import { LocalQuantError } from '../core/errors.js';
import type { OrtLike, OrtSessionLike } from '../core/verify/ortLike.js';

export const ORT_WEB_AVAILABLE = true;

let loaded: Promise<void> | null = null;

async function loadWasm(): Promise<void> {
  const res = await fetch(ortWasmUrl);
  if (!res.ok) throw new LocalQuantError('MISSING_FILE', `onnxruntime-web's wasm could not be loaded (HTTP ${res.status}).`, 'Reload the page; the file ships with the app.');
  ort.env.wasm.wasmBinary = await res.arrayBuffer();
  ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
  ort.env.wasm.proxy = false;
}

export async function ortWebRuntime(): Promise<OrtLike> {
  loaded ??= loadWasm().catch((e) => {
    loaded = null;
    throw e;
  });
  await loaded;
  const threads = ort.env.wasm.numThreads ?? 1;
  return {
    name: `onnxruntime-web ${ort.env.versions?.web ?? ''} (wasm, ${threads} thread${threads === 1 ? '' : 's'})`.replace('  ', ' '),
    createSession: async (bytes) => (await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' })) as unknown as OrtSessionLike,
    tensor: (data, dims) => new ort.Tensor('float32', data, [...dims]),
  };
}
