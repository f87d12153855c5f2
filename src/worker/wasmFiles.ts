/** Served build: tfjs finds its wasm under the wasmPath prefix the page passes; nothing to register. */
export function registerInlinedWasm(): void {}
