/**
 * The run stage behind an interface: the lead's src/core/pipeline/run.ts plugs in when it exists. Found
 * with import.meta.glob so the bundle builds with or without that file.
 */
import type { ModelFile } from '../core/ir/types.js';
import type { PipelineConfig, PipelineEvent } from '../core/pipeline/types.js';
import { LocalQuantError } from '../core/errors.js';

export type RunPipeline = (files: ModelFile[], config: PipelineConfig, onEvent: (e: PipelineEvent) => void, signal: AbortSignal) => Promise<unknown>;

// Eager: one worker bundle without split chunks, which an inlined (single-file) worker could not load.
const candidates = import.meta.glob<{ runPipeline?: RunPipeline }>('../core/pipeline/run.ts', { eager: true });

export async function loadRunPipeline(): Promise<RunPipeline> {
  const load = candidates['../core/pipeline/run.ts'];
  const mod = load;
  if (!mod?.runPipeline) {
    throw new LocalQuantError('INTERNAL', 'The quantization pipeline is not available in this build yet.',
      'Import and inspection work; quantizing needs src/core/pipeline/run.ts (runPipeline).');
  }
  return mod.runPipeline;
}
