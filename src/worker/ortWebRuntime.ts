/**
 * onnxruntime-web (wasm EP) behind the core's OrtLike interface: the runtime users ship, run on the exported
 * bytes inside the worker. Its wasm binary comes from our own origin (vite.config.ts serves and emits it
 * under ort/) and is handed over as bytes, so the library never builds a URL of its own. Threads only
 * where the page is cross-origin isolated (SharedArrayBuffer); otherwise one thread.
 */
import * as ort from 'onnxruntime-web/wasm';
import { LocalQuantError } from '../core/errors.js';
import type { OrtLike, OrtSessionLike } from '../core/verify/ortLike.js';

export const ORT_WASM_FILE = 'ort-wasm-simd-threaded.wasm';

let loaded: Promise<void> | null = null;

async function loadWasm(ortBase: string): Promise<void> {
  const url = new URL(ORT_WASM_FILE, ortBase);
  if (typeof location !== 'undefined' && url.origin !== location.origin) {
    throw new LocalQuantError('BAD_CONFIG', `onnxruntime-web's wasm must come from this page's origin, not ${url.origin}.`);
  }
  const res = await fetch(url);
  if (!res.ok) throw new LocalQuantError('MISSING_FILE', `onnxruntime-web's ${ORT_WASM_FILE} could not be loaded (HTTP ${res.status}).`, 'Reload the page; the file ships with the app.');
  ort.env.wasm.wasmBinary = await res.arrayBuffer();
  ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
  ort.env.wasm.proxy = false;
}

export async function ortWebRuntime(ortBase: string): Promise<OrtLike> {
  loaded ??= loadWasm(ortBase).catch((e) => {
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
