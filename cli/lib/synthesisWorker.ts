/**
 * Worker-thread entry of cli/lib/synthesisWorkers.ts: its own tfjs backend, then batches of a BN-statistics
 * synthesis (src/core/synth/parallelSynthesis.ts); progress events and the result go back by message.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isLocalQuantError } from '../../src/core/errors.js';
import type { Graph } from '../../src/core/ir/types.js';
import { initBackend, type BackendPreference } from '../../src/core/runtime/backends.js';
import { synthesizeGraphBatches } from '../../src/core/synth/parallelSynthesis.js';
import type { SynthesisOptions } from '../../src/core/synth/options.js';

export interface SynthesisWorkerData {
  graph: Graph;
  options: SynthesisOptions;
  indices: number[];
  backend: BackendPreference;
}

export type SynthesisWorkerMessage =
  | { type: 'event'; event: unknown }
  | { type: 'done'; results: Awaited<ReturnType<typeof synthesizeGraphBatches>> }
  | { type: 'error'; code?: string; message: string; hint?: string };

const post = (m: SynthesisWorkerMessage, transfer: ArrayBuffer[] = []) => parentPort!.postMessage(m, transfer);

async function main(): Promise<void> {
  const { graph, options, indices, backend } = workerData as SynthesisWorkerData;
  try {
    await initBackend(backend);
    const results = await synthesizeGraphBatches(graph, options, indices, (event) => post({ type: 'event', event }));
    post({ type: 'done', results }, results.map((r) => r.images.buffer as ArrayBuffer));
  } catch (e) {
    post(isLocalQuantError(e) ? { type: 'error', code: e.code, message: e.message, hint: e.hint } : { type: 'error', message: e instanceof Error ? e.message : String(e) });
  }
}

void main();
