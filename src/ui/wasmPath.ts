/**
 * Where tfjs finds its wasm binaries: /wasm/ on this origin (vite.config.ts serves and emits them).
 * The single-file build ships no wasm files (initBackend takes one path prefix, not a name->data-URL map),
 * so there the wasm backend fails to load and initBackend falls back to cpu (or webgpu when present).
 */
export function wasmPath(): string {
  return __SINGLE_FILE__ ? './wasm/' : new URL('./wasm/', location.href).href;
}
