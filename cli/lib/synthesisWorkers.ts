/**
 * Synthesis batches on Node worker threads, one per core (src/core/synth/parallelSynthesis.ts): tfjs-wasm
 * runs on one thread, so a worker per core, each with its own backend, divides synthesis wall time by the
 * core count. The worker runs TypeScript source through tsx, as the CLI does (synthesisWorkerEntry.mjs).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { LocalQuantError, type ErrorCode } from '../../src/core/errors.js';
import type { BackendPreference } from '../../src/core/runtime/backends.js';
import type { SynthesisWorkers } from '../../src/core/synth/parallelSynthesis.js';
import type { SynthProgressEvent } from '../../src/core/synth/progress.js';
import type { SynthesisWorkerData, SynthesisWorkerMessage } from './synthesisWorker.js';

/** `count` worker threads (default: one per core) running synthesis batches on `backend`. */
export function threadSynthesisWorkers(backend: BackendPreference, count = availableParallelism()): SynthesisWorkers {
  return {
    count,
    run: (graph, options, indices, onProgress, signal) => new Promise((resolve, reject) => {
      const data: SynthesisWorkerData = { graph, options, indices, backend };
      const worker = new Worker(new URL('./synthesisWorkerEntry.mjs', import.meta.url), { workerData: data });
      let settled = false;
      const finish = (f: () => void) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        void worker.terminate();
        f();
      };
      const onAbort = () => finish(() => reject(new LocalQuantError('CANCELLED', 'Image synthesis was cancelled.')));
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort);
      worker.on('message', (m: SynthesisWorkerMessage) => {
        if (m.type === 'event') onProgress?.(m.event as SynthProgressEvent);
        else if (m.type === 'done') finish(() => resolve(m.results));
        else finish(() => reject(m.code ? new LocalQuantError(m.code as ErrorCode, m.message, m.hint) : new Error(m.message)));
      });
      worker.on('error', (e) => finish(() => reject(e)));
      worker.on('exit', (code) => finish(() => reject(new LocalQuantError('INTERNAL', `a synthesis worker stopped (exit code ${code}) before returning its batches`))));
    }),
  };
}
