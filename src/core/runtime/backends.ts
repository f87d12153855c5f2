import * as tf from '@tensorflow/tfjs';
// Registers 'wasm'. Also exports the path and thread settings used below.
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
// Registers 'webgpu' only where navigator.gpu exists (a no-op in Node).
import '@tensorflow/tfjs-backend-webgpu';
import { LocalQuantError } from '../errors';
import { registerWasmGradKernels } from './wasmGradKernels';

export type BackendName = 'webgpu' | 'wasm' | 'cpu';
export type BackendPreference = 'auto' | BackendName;

export interface BackendInfo {
  name: BackendName;
  requested: BackendPreference;
  isFallbackAdapter?: boolean;
  /** webgpu on a software rasterizer (SwiftShader, llvmpipe): its matrix products are slower than JS loops. */
  softwareAdapter?: boolean;
  /** WebGPU adapter vendor / architecture / description, when one was found. */
  adapterInfo?: string;
  /** Why this backend: every backend tried and why it was passed over. */
  reason: string;
  /** wasm: XNNPACK threads (1 in Node; more in a cross-origin-isolated page). */
  threads?: number;
  /** wasm: whether the SIMD build is in use. */
  simd?: boolean;
}

export interface InitBackendOptions {
  /**
   * Folder (URL prefix ending in '/') on our own origin that serves tfjs-backend-wasm*.wasm. Required in a
   * browser: without it the wasm backend would look next to the bundled script. Ignored in Node, where the
   * files load from node_modules.
   */
  wasmPath?: string;
  /** wasm threads (only where SharedArrayBuffer is available); default: tfjs's choice (all cores). */
  wasmThreads?: number;
}

let current: BackendInfo | null = null;

interface AdapterProbe {
  ok: boolean;
  software: boolean;
  isFallbackAdapter?: boolean;
  adapterInfo?: string;
  why: string;
}

/** Names of software rasterizers: usable, but slower than wasm for our workloads. */
const SOFTWARE_ADAPTER = /swiftshader|llvmpipe|lavapipe|softpipe|basic render|warp/i;

const probedAdapters: GPUAdapter[] = [];

async function probeWebGpu(): Promise<AdapterProbe> {
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu) return { ok: false, software: false, why: 'webgpu: navigator.gpu is not available' };
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    return { ok: false, software: false, why: `webgpu: requestAdapter failed (${errorText(e)})` };
  }
  if (!adapter) return { ok: false, software: false, why: 'webgpu: requestAdapter() returned no adapter' };
  // Keep the probed adapter alive: in Chromium workers, a collected adapter can take the GPU instance
  // down with it ("A valid external Instance reference no longer exists" in tfjs's later mapAsync).
  probedAdapters.push(adapter);
  const a = adapter as GPUAdapter & { isFallbackAdapter?: boolean; info?: GPUAdapterInfo & { isFallbackAdapter?: boolean } };
  const info = a.info;
  const adapterInfo = info
    ? [info.vendor, info.architecture, info.device, info.description].filter((s) => s).join(' / ') || undefined
    : undefined;
  const isFallbackAdapter = Boolean(a.isFallbackAdapter ?? info?.isFallbackAdapter);
  const software = isFallbackAdapter || SOFTWARE_ADAPTER.test(adapterInfo ?? '');
  const what = software
    ? `webgpu adapter is ${/swiftshader/i.test(adapterInfo ?? '') ? 'SwiftShader' : adapterInfo ?? 'unnamed'}${isFallbackAdapter ? ' (fallback)' : ''}: a software renderer`
    : `webgpu adapter ${adapterInfo ?? '(no info)'}`;
  return { ok: true, software, isFallbackAdapter, adapterInfo, why: what };
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : typeof e === 'object' && e && 'message' in e ? String((e as { message: unknown }).message) : String(e);
}

async function trySetBackend(name: BackendName): Promise<string | null> {
  try {
    // setBackend resolves false (and logs) when the backend's factory fails.
    const ok = await tf.setBackend(name);
    await tf.ready();
    return ok && tf.getBackend() === name ? null : `${name}: backend failed to initialize`;
  } catch (e) {
    return `${name}: ${errorText(e)}`;
  }
}

function isBrowser(): boolean {
  return !tf.env().getBool('IS_NODE');
}

let wasmPathSet: string | null = null;
let wasmThreadsSet = false;
/** Validates (every call) and applies (once) the wasm settings. */
function configureWasm(opts: InitBackendOptions): void {
  if (isBrowser()) {
    if (!opts.wasmPath) {
      throw new LocalQuantError('BAD_CONFIG', 'initBackend needs opts.wasmPath in a browser',
        'Serve tfjs-backend-wasm*.wasm from this app (e.g. "/wasm/") and pass that path; LocalQuant never fetches code from a CDN.');
    }
    const origin = typeof location !== 'undefined' ? location.origin : undefined;
    if (/^([a-z]+:)?\/\//i.test(opts.wasmPath) && !(origin && opts.wasmPath.startsWith(`${origin}/`))) {
      throw new LocalQuantError('BAD_CONFIG', `wasmPath ${opts.wasmPath} is not on this origin`,
        'Pass a same-origin path such as "/wasm/".');
    }
    const path = opts.wasmPath.endsWith('/') || opts.wasmPath.endsWith('.wasm') ? opts.wasmPath : `${opts.wasmPath}/`;
    // tfjs reads the path when the wasm backend first initializes; later calls cannot move it.
    if (wasmPathSet === null) {
      setWasmPaths(path);
      wasmPathSet = path;
    }
  }
  if (opts.wasmThreads != null && !wasmThreadsSet) {
    setThreadsCount(opts.wasmThreads);
    wasmThreadsSet = true;
  }
}

/**
 * Picks and initializes the tfjs backend. 'auto': webgpu on a hardware adapter, else wasm, else cpu. An
 * explicit preference is honoured when it works (webgpu even on a software adapter) and otherwise falls
 * back down the same chain. Call it once, before building executors or creating tensors.
 */
export async function initBackend(preference: BackendPreference = 'auto', opts: InitBackendOptions = {}): Promise<BackendInfo> {
  // In a browser, a missing local wasm path is a setup error even on a machine that would pick webgpu:
  // fail on every machine rather than only on those without a GPU.
  if (isBrowser() && preference === 'auto' && !opts.wasmPath) configureWasm(opts);
  const notes: string[] = [];
  const chain: BackendName[] = preference === 'auto' || preference === 'webgpu' ? ['webgpu', 'wasm', 'cpu']
    : preference === 'wasm' ? ['wasm', 'cpu'] : ['cpu'];
  let probe: AdapterProbe | undefined;

  for (const name of chain) {
    if (name === 'webgpu') {
      probe = await probeWebGpu();
      if (!probe.ok) { notes.push(probe.why); continue; }
      if (probe.software && preference === 'auto') { notes.push(`${probe.why}: treated as slow, using wasm`); continue; }
      const failure = await trySetBackend('webgpu');
      if (failure) { notes.push(`${probe.why}; ${failure}`); continue; }
      notes.push(preference === 'webgpu' && probe.software ? `${probe.why}: used anyway because webgpu was requested` : `using ${probe.why}`);
    } else if (name === 'wasm') {
      configureWasm(opts); // throws a BAD_CONFIG in a browser without a local wasm path
      const failure = await trySetBackend('wasm');
      if (failure) { notes.push(failure); continue; }
      notes.push(`using wasm (${wasmDetail()})`);
    } else {
      const failure = await trySetBackend('cpu');
      if (failure) throw new LocalQuantError('INTERNAL', `no tfjs backend could start: ${[...notes, failure].join('; ')}`);
      notes.push(preference === 'cpu' ? 'using cpu: requested' : 'using cpu (pure JS, slow)');
    }
    // wasm: fast conv gradient kernels; every backend: gradients of dilated convs.
    registerWasmGradKernels();
    current = {
      name,
      requested: preference,
      isFallbackAdapter: probe?.ok ? probe.isFallbackAdapter : undefined,
      ...(name === 'webgpu' && probe?.software ? { softwareAdapter: true } : {}),
      adapterInfo: probe?.adapterInfo,
      reason: notes.join('; '),
      ...(name === 'wasm' ? { threads: getThreadsCount(), simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT') } : {}),
    };
    return current;
  }
  throw new LocalQuantError('INTERNAL', `no tfjs backend could start: ${notes.join('; ')}`);
}

function wasmDetail(): string {
  const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT') ? 'SIMD' : 'no SIMD';
  const threads = getThreadsCount();
  return `${simd}, ${threads} thread${threads === 1 ? '' : 's'}, fast conv gradients`;
}

/** The backend chosen by the last initBackend, or undefined before it ran. */
export function currentBackend(): BackendInfo | undefined {
  return current ?? undefined;
}

/**
 * Whether large matrix products on the active backend beat scalar JS loops over the same data, as on wasm
 * and a hardware GPU: false only on webgpu over a software rasterizer (there the batched output-error scale
 * search took 209 s of a ResNet-20 rounding stage the JS search does in 100). The cpu backend (plain JS
 * itself) answers true, as it was treated before this was asked.
 */
export function backendMatMulIsFast(): boolean {
  return !(current?.name === 'webgpu' && current.softwareAdapter && tf.getBackend() === 'webgpu');
}

/** One line for reports and logs: the active backend and why it was chosen. */
export function describeBackend(): string {
  const active = tf.getBackend();
  if (!current) return `${active ?? 'none'} (initBackend not called)`;
  const stale = current.name !== active ? ` [now ${active}]` : '';
  return `${current.name}${stale} (requested ${current.requested}): ${current.reason}`;
}
