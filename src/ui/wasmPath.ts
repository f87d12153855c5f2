/**
 * Where tfjs finds its wasm binaries: /wasm/ on this origin (vite.config.ts serves and emits them).
 * The single-file build registers inlined data: URLs in the worker (src/worker/wasmFiles.single.ts), which
 * tfjs prefers over this prefix; the prefix there only has to pass initBackend's same-origin check.
 */
export function wasmPath(): string {
  return __SINGLE_FILE__ ? './wasm/' : new URL('./wasm/', location.href).href;
}
