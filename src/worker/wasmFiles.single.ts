/**
 * Single-file build: the wasm binaries are inlined as data: URLs (build.assetsInlineLimit is raised) and
 * handed to tfjs as a name -> URL map. tfjs prefers this map over the path prefix initBackend sets later.
 */
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import plain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import simd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import threaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';

let registered = false;
export function registerInlinedWasm(): void {
  if (registered) return;
  setWasmPaths({ 'tfjs-backend-wasm.wasm': plain, 'tfjs-backend-wasm-simd.wasm': simd, 'tfjs-backend-wasm-threaded-simd.wasm': threaded });
  registered = true;
}
