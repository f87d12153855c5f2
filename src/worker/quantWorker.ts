/// <reference lib="webworker" />
/**
 * The worker: all model work runs here so the page stays responsive. Cancel is done by the page
 * terminating this worker (the only sure way to stop running compute); the abort signal below lets the
 * pipeline stop cleanly when it gets the chance.
 */
import { importModel } from '../core/importers/index.js';
import { summarizeGraph } from '../core/ir/summary.js';
import { toUserError } from '../core/toUserError.js';
import { initBackend } from '../core/runtime/backends.js';
import { PROTOCOL_VERSION, transferablesOf, type WorkerErrorInfo, type WorkerEvent, type WorkerRequest } from './protocol.js';
import { loadRunPipeline } from './pipelineHost.js';
import { adaptResult } from './resultAdapter.js';
import { registerInlinedWasm } from './wasmFiles.js';

declare const self: DedicatedWorkerGlobalScope;

function post(event: WorkerEvent): void {
  self.postMessage(event, transferablesOf(event));
}

function errorInfo(e: unknown): WorkerErrorInfo {
  const { error, detail } = toUserError(e);
  // The JS text of an unexpected error goes to the console for a bug report, not into the page.
  if (detail) console.warn(`LocalQuant: ${detail}`);
  return { code: error.code, message: error.message, hint: error.hint };
}

let running: AbortController | null = null;

async function handle(req: WorkerRequest): Promise<void> {
  if (req.v !== PROTOCOL_VERSION) {
    post({ v: PROTOCOL_VERSION, type: 'error', error: { code: 'INTERNAL', message: `Protocol mismatch: page ${req.v}, worker ${PROTOCOL_VERSION}.`, hint: 'Reload the page.' } });
    return;
  }
  try {
    if (req.type === 'import') {
      const bytes = req.files.reduce((s, f) => s + f.bytes.byteLength, 0);
      const graph = importModel(req.files);
      post({ v: PROTOCOL_VERSION, type: 'summary', summary: summarizeGraph(graph, bytes) });
    } else if (req.type === 'run') {
      running = new AbortController();
      // The backend needs the page's wasm location (same origin, or inlined in the single-file build).
      registerInlinedWasm();
      const backend = await initBackend(req.config.backend, { wasmPath: req.wasmPath });
      post({ v: PROTOCOL_VERSION, type: 'progress', event: { type: 'backend', name: backend.name, reason: backend.reason } });
      const runPipeline = await loadRunPipeline();
      const raw = await runPipeline(req.files, req.config, (event) => post({ v: PROTOCOL_VERSION, type: 'progress', event }), running.signal);
      post({ v: PROTOCOL_VERSION, type: 'result', result: adaptResult(raw) });
    } else if (req.type === 'cancel') {
      running?.abort();
    }
  } catch (e) {
    post({ v: PROTOCOL_VERSION, type: 'error', error: errorInfo(e) });
  } finally {
    if (req.type === 'run') running = null;
  }
}

self.onmessage = (msg: MessageEvent<WorkerRequest>) => void handle(msg.data);
self.addEventListener('unhandledrejection', (e) => post({ v: PROTOCOL_VERSION, type: 'error', error: errorInfo(e.reason) }));
post({ v: PROTOCOL_VERSION, type: 'ready' });
