/**
 * How many images fit in one batch, from static shapes and a memory budget per backend, so that a large
 * input (a 224x224 MobileNetV2: ~10 MB of activations per image) gets a small batch instead of a wasm
 * trap ("memory access out of bounds" at synthesis batch >= 32).
 *
 * Per-image bytes are the sum of every float value the graph computes for one image (shape inference at
 * batch 1). Synthesis keeps them all for backprop and adds their gradients and Adam/augmentation
 * temporaries (factor 3); a forward pass for calibration frees values after their last use, but the range
 * pass keeps the captured activations of the batch and the rounding streams two copies of the live ones
 * (factor 1.5). Measured activations stay below these estimates on the ResNet-20 and MobileNetV2 tests.
 */
import * as tf from '@tensorflow/tfjs';
import { LocalQuantError } from '../errors.js';
import { shapesAtBatchOne } from '../ir/shapeInference.js';
import type { Graph } from '../ir/types.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

export interface MemoryBudget {
  /** Bytes of activations one batch may use. */
  bytes: number;
  /** Largest single tensor in bytes (WebGPU: the adapter's binding size). */
  maxTensorBytes: number;
  /** Where the figures come from, for the report. */
  source: string;
}

export interface GpuLimits {
  maxBufferSize?: number;
  maxStorageBufferBindingSize?: number;
}

/**
 * wasm: a 4 GB address space that also holds the weights, their prepared copies and the heap's
 * fragmentation: activations get 1.5 GB. WebGPU: the adapter's buffer limits (a tensor is one buffer),
 * 2 GB in all. cpu: typed arrays on the JS heap, 2 GB.
 */
export function memoryBudget(backend: string = tf.getBackend(), gpu?: GpuLimits): MemoryBudget {
  if (backend === 'webgpu') {
    const limits = gpu ?? webgpuLimits();
    const maxTensor = Math.min(limits.maxStorageBufferBindingSize ?? 128 * MiB, limits.maxBufferSize ?? 256 * MiB);
    return { bytes: Math.min(2 * GiB, 8 * maxTensor), maxTensorBytes: maxTensor, source: `webgpu adapter limits (binding ${Math.round(maxTensor / MiB)} MB)` };
  }
  if (backend === 'wasm') return { bytes: 1.5 * GiB, maxTensorBytes: 1 * GiB, source: 'wasm: 4 GB address space, 1.5 GB for activations' };
  return { bytes: 2 * GiB, maxTensorBytes: 1 * GiB, source: `${backend}: 2 GB for activations` };
}

function webgpuLimits(): GpuLimits {
  const device = (tf.backend() as unknown as { device?: { limits?: GpuLimits } }).device;
  return device?.limits ?? {};
}

export interface ActivationBytes {
  /** Sum of all float values computed for one image. */
  total: number;
  /** The largest of them. */
  largest: number;
}

/**
 * Float activation bytes per image, from the graph's static shapes at batch 1; `imageShapes` gives the
 * per-image shape (without batch) of inputs whose declared shape is not fully known.
 */
export function activationBytesPerImage(graph: Graph, imageShapes: Record<string, number[]> = {}): ActivationBytes {
  for (const v of graph.inputs) {
    const s = v.shape ?? [];
    if (graph.initializers.has(v.name) || imageShapes[v.name]) continue;
    if (s.slice(1).some((d) => typeof d !== 'number' || d <= 0)) {
      throw new LocalQuantError('BAD_INPUT', `Input '${v.name}' has shape [${s.map((d) => d ?? '?').join(', ')}]: the batch size cannot be chosen without its image size.`, 'Export the model with a fixed input size.');
    }
  }
  const info = shapesAtBatchOne(graph, imageShapes);
  let total = 0;
  let largest = 0;
  for (const n of graph.nodes) {
    for (const o of n.outputs) {
      const v = o ? info.get(o) : undefined;
      if (!v?.shape || !(v.dtype === 'float32' || v.dtype === 'float16')) continue;
      const bytes = 4 * (v.shape as unknown[]).reduce<number>((a, b) => a * (typeof b === 'number' ? b : 1), 1);
      total += bytes;
      largest = Math.max(largest, bytes);
    }
  }
  return { total, largest };
}

/** activationBytesPerImage, or undefined when the shapes cannot be inferred (then no budget applies). */
export function tryActivationBytesPerImage(graph: Graph, imageShapes: Record<string, number[]> = {}): ActivationBytes | undefined {
  try {
    return activationBytesPerImage(graph, imageShapes);
  } catch {
    return undefined;
  }
}

export type BatchPurpose = 'synthesis' | 'calibration';

const FACTOR: Record<BatchPurpose, number> = { synthesis: 3, calibration: 1.5 };

export interface BatchChoice {
  batch: number;
  /** Set when the budget made the batch smaller than asked: why, in words. */
  reduced?: string;
}

/** The largest batch <= requested that fits the budget; OUT_OF_MEMORY when not even one image fits. */
export function chooseBatch(o: { perImage: ActivationBytes | undefined; budget: MemoryBudget; purpose: BatchPurpose; requested: number }): BatchChoice {
  if (!o.perImage) return { batch: o.requested };
  const need = FACTOR[o.purpose] * o.perImage.total;
  const fit = Math.min(Math.floor(o.budget.bytes / Math.max(need, 1)), Math.floor(o.budget.maxTensorBytes / Math.max(o.perImage.largest, 1)));
  const mb = (b: number) => `${(b / MiB).toFixed(0)} MB`;
  if (fit < 1) {
    throw new LocalQuantError(
      'OUT_OF_MEMORY',
      `One image needs about ${mb(need)} of activations for ${o.purpose} (largest tensor ${mb(o.perImage.largest)}), more than this backend allows (${o.budget.source}).`,
      'Use a model with a smaller input size, or another backend (WebGPU, or the CLI with --backend cpu).',
    );
  }
  if (fit >= o.requested) return { batch: o.requested };
  return { batch: fit, reduced: `${o.purpose} batch ${fit} instead of ${o.requested}: one image needs about ${mb(need)} of activations and ${o.budget.source}` };
}

/** A raw wasm/allocation failure (trap, failed grow) as it surfaces from tfjs. */
export function isOutOfMemory(e: unknown): boolean {
  const msg = e instanceof Error ? e.message : String(e);
  const trap = typeof WebAssembly !== 'undefined' && e instanceof WebAssembly.RuntimeError;
  return (trap && /memory access out of bounds|out of memory|OOM/i.test(msg)) || /Cannot enlarge memory|Aborted\(OOM\)|Array buffer allocation failed|WebAssembly\.Memory\.grow|Out of memory/i.test(msg);
}

/**
 * `e` as OUT_OF_MEMORY with what to do when it is a memory failure (also when the executor already
 * wrapped the trap as EXECUTION_FAILED); anything else unchanged.
 */
export function asOutOfMemory(e: unknown, purpose: BatchPurpose, batch: number): unknown {
  const inner = (e as { cause?: unknown })?.cause;
  const text = e instanceof Error ? e.message : String(e);
  if (!isOutOfMemory(e) && !isOutOfMemory(inner) && !/memory access out of bounds/i.test(text)) return e;
  return new LocalQuantError(
    'OUT_OF_MEMORY',
    `The ${purpose} batch of ${batch} images ran out of memory (${text.split('\n')[0].slice(0, 200)}).`,
    `Use a smaller batch (--batch ${Math.max(1, batch >> 1)}, or the batch setting), fewer images or a smaller input size; in the browser, reload the page first (the wasm memory may be unusable after this).`,
  );
}
