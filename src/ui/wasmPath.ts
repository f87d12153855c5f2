/**
 * Where tfjs finds its wasm binaries: /wasm/ on this origin (vite.config.ts serves and emits them).
 * The single-file build has no server; see README note in the report (needs a name->URL map in initBackend).
 */
export function wasmPath(): string {
  return new URL('./wasm/', location.href).href;
}
