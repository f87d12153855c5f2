/** What the CLI gives runPipeline beside the config: the engines its stages run on in Node. */
import { availableParallelism } from 'node:os';
import type { RunOptions } from '../../src/core/pipeline/run.js';
import type { BackendPreference } from '../../src/core/runtime/backends.js';
import { ortNodeRuntime } from './ortNodeRuntime.js';
import { threadSynthesisWorkers } from './synthesisWorkers.js';

/**
 * Forward-only passes on onnxruntime-node on every core (unless `forwardEngine` is 'tfjs'), synthesis
 * batches on a worker thread per core (same images as one thread), tfjs `backend` in each worker.
 */
export function cliRunOptions(o: { forwardEngine: 'ort' | 'tfjs'; backend: BackendPreference }): RunOptions {
  return {
    ...(o.forwardEngine === 'ort' ? { forwardRuntime: ortNodeRuntime({ threads: availableParallelism() }) } : {}),
    synthesisWorkers: threadSynthesisWorkers(o.backend),
  };
}
