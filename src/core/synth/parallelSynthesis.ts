/**
 * BN-statistics synthesis with its batches spread over workers (Node worker threads in the CLI, each with its
 * own tfjs backend): batches are independent (synthesizer.ts: each has its own slice of the initial images
 * and its own stretch of the augmentation stream), so the images are those of one sequential run. tfjs-wasm
 * runs on one thread, and synthesis is most of a large model's run (MobileNetV2-224: 0.35-0.45 CPU s per
 * image-step); a worker per core divides its wall time by the number of cores.
 */
import { cancelledError } from '../errors.js';
import type { Graph } from '../ir/types.js';
import { collectBatchNormStats } from './batchNormStats.js';
import { classifierOutput } from './classifierOutput.js';
import { graphSynthesisModel } from './graphModel.js';
import { findImageInput } from './graphInput.js';
import type { SynthesisOptions } from './options.js';
import type { SynthProgressCallback } from './progress.js';
import { combineSynthesisBatches, synthesizeModelBatches, type SynthesisBatchResult, type SynthesisResult } from './synthesizer.js';

/** Where batches of a synthesis can run besides the calling thread. */
export interface SynthesisWorkers {
  /** How many run at once (one per core). */
  count: number;
  /**
   * synthesizeGraphBatches(graph, options, indices) on one worker; its progress events come back through
   * onProgress. Rejects with what the worker threw; stops the worker when `signal` aborts.
   */
  run(graph: Graph, options: SynthesisOptions, indices: number[], onProgress?: SynthProgressCallback, signal?: AbortSignal): Promise<SynthesisBatchResult[]>;
}

/** Batches `indices` of BN-statistics synthesis on `graph` with resolved `options` (batchSize as chosen): a worker's part. */
export async function synthesizeGraphBatches(graph: Graph, options: SynthesisOptions, indices: number[], onProgress?: SynthProgressCallback, signal?: AbortSignal): Promise<SynthesisBatchResult[]> {
  const input = findImageInput(graph, options.imageSize);
  const classifier = options.classWeight > 0 ? classifierOutput(graph, input) : undefined;
  const model = graphSynthesisModel(graph, collectBatchNormStats(graph), input, classifier);
  try {
    return await synthesizeModelBatches(model, options, indices, onProgress, signal);
  } finally {
    model.dispose();
  }
}

/** Batch indices 0..batches-1 dealt round robin to `groups` workers (no empty group). */
export function batchGroups(batches: number, groups: number): number[][] {
  const g = Math.max(1, Math.min(groups, batches));
  return Array.from({ length: g }, (_, w) => Array.from({ length: Math.ceil((batches - w) / g) }, (_, i) => w + i * g));
}

/**
 * BN-statistics synthesis of `graph` with its batches on `workers.count` workers at once; the result is the
 * one synthesizeWithModel gives on one thread (same images and losses), with `workers` set. When one worker
 * fails the others are stopped.
 */
export async function synthesizeInWorkers(graph: Graph, options: SynthesisOptions, workers: SynthesisWorkers, onProgress?: SynthProgressCallback, signal?: AbortSignal): Promise<SynthesisResult & { workers: number }> {
  const started = performance.now();
  const groups = batchGroups(Math.ceil(options.numImages / options.batchSize), workers.count);
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal?.addEventListener('abort', onAbort);
  try {
    const parts = await Promise.all(groups.map((g) => workers.run(graph, options, g, onProgress, stop.signal).catch((e: unknown) => {
      stop.abort();
      throw e;
    })));
    const input = findImageInput(graph, options.imageSize);
    const classifier = options.classWeight > 0 ? classifierOutput(graph, input) : undefined;
    const model = { imageShape: input.imageShape, batchNorms: collectBatchNormStats(graph), ...(classifier ? { classifier } : {}) };
    return { ...combineSynthesisBatches(model, options, parts.flat(), (performance.now() - started) / 1000), workers: groups.length };
  } catch (e) {
    if (signal?.aborted) throw cancelledError('Image synthesis was cancelled.');
    throw e;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
