/**
 * The browser pipeline bench's plan and results (version 1): which models run with which config on which
 * backend, and what the page reports back for each run. Shared by the page (pipelineBench.ts) and the
 * Node script that writes the plan (prepare.ts).
 */
import type { PipelineConfig } from '../../src/core/pipeline/types.js';

export interface BenchRun {
  id: string;
  model: string;
  /** Model files under the served root, as a user would drop them (an .onnx, or model.json and its shards). */
  files: string[];
  config: PipelineConfig;
  /** Send the quantized ONNX back (to score it on labelled data outside the browser). */
  keepOnnx?: boolean;
}

export interface BenchPlan {
  version: 1;
  runs: BenchRun[];
  /** A run does not start once this many seconds have passed since the page loaded. */
  deadlineSeconds: number;
}

/** What requestAdapter gave: the GPU the runs use (or none, or a software fallback). */
export interface AdapterProbe {
  label: string;
  webgpu: boolean;
  adapter?: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter?: boolean };
  maxBufferSize?: number;
  maxStorageBufferBindingSize?: number;
  features?: string[];
  error?: string;
  userAgent: string;
  hardwareConcurrency: number;
  crossOriginIsolated: boolean;
}

export interface StageSpan {
  stage: string;
  /** Seconds since the run was sent to the worker. */
  start: number;
  end?: number;
  /** The seconds the pipeline itself reported for the stage, where it does. */
  reported?: number;
}

export interface BenchRunResult {
  version: 1;
  id: string;
  model: string;
  backendAsked: string;
  backend?: { name: string; reason: string };
  status: 'done' | 'error' | 'skipped';
  error?: string;
  stages: StageSpan[];
  /** Seconds from sending the run to the result event (import, pipeline, export, verification). */
  totalSeconds?: number;
  /** Seconds from sending the run to the first synthesis step: worker start, backend, import, kernels. */
  firstSynthStepSeconds?: number;
  synthSteps: number;
  layersDone: number;
  blocksDone: number;
  /** The report's own stage seconds (report.seconds) and applied config, as written by the pipeline. */
  reportSeconds?: Record<string, number>;
  applied?: { weightBits: number; activationBits: number; rounding: string; images: number; steps: number; batch: number; iterations: number; reconstruction: string };
  agreement?: number;
  agreementOn?: unknown;
  sizes?: { before?: number; after?: number };
  verification?: unknown;
  notes?: string[];
}
