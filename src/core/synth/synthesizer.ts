import * as tf from '@tensorflow/tfjs';
import type { CapturedTensor } from '../runtime/types.js';
import { throwIfCancelled } from '../errors.js';
import type { BatchNormStats } from './batchNormStats.js';
import { batchNormLoss, makeBatchNormTargets, type BatchNormTargets } from './bnLoss.js';
import { augment, clampToPixelRange, imagePriorLoss, type Augmentation } from './imagePrior.js';
import {
  IMAGENET_NORMALIZATION, learningRateAt, resolveSynthesisOptions,
  type CalibrationMethod, type SynthesisOptions,
} from './options.js';
import { batchToRgba } from './preview.js';
import { bnChannelStats } from './bnChannelStats.js';
import { SeededRandom } from './prng.js';
import type { PerLayerLossSummary, SynthProgressCallback } from './progress.js';

/**
 * What synthesis needs from a model: the image shape, its BatchNorm statistics, and a differentiable
 * forward pass that returns the BN inputs. `graphSynthesisModel` builds one from a Graph and the executor;
 * tests build small ones by hand.
 */
export interface SynthesisModel {
  /** [channels, height, width] of one image, NCHW, in the model's normalized input space. */
  imageShape: [number, number, number];
  batchNorms: BatchNormStats[];
  /**
   * Run the model on an NCHW batch and return every BN input (keyed by `BatchNormStats.inputValue`).
   * Must be differentiable w.r.t. `images`; may skip the layers after the last BN.
   */
  captureBatchNormInputs(images: tf.Tensor4D): Map<string, CapturedTensor>;
}

export interface SynthesisResult {
  /** All images, NCHW, in the model's normalized input space (what calibration feeds the model). */
  images: Float32Array;
  shape: [number, number, number, number];
  method: CalibrationMethod;
  /** Why a method other than the requested one was used (e.g. the model has no BatchNorm). */
  message?: string;
  /** Optimized objective per step, one array per batch (with augmentation, before that step's update). */
  lossHistory: number[][];
  /** Unweighted BN-statistics loss per step, one array per batch (empty arrays for prior-only / noise). */
  bnLossHistory: number[][];
  /** Objective without augmentation before the first step and after the last, averaged over batches. */
  startLoss: number;
  endLoss: number;
  /** Unweighted BN-statistics loss before / after, averaged over batches (0 without BatchNorm). */
  startBnLoss: number;
  endBnLoss: number;
  seconds: number;
  imagesPerSecond: number;
  /** The settings used (defaults filled in), to record with the images. */
  options: SynthesisOptions;
}

/** Next macrotask: lets a worker receive an abort message between steps. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

export function throwIfSynthesisCancelled(signal?: AbortSignal): void {
  throwIfCancelled(signal, 'Image synthesis was cancelled.');
}

/** Seeded N(0,1) images in normalized space: the starting point of synthesis, and the 'noise' method. */
export function gaussianImages(count: number, imageShape: [number, number, number], seed: number): Float32Array {
  const [c, h, w] = imageShape;
  return new SeededRandom(seed).normalArray(count * c * h * w);
}

/**
 * The objective for one batch: sum_l w_l L_l(bn inputs) + prior(x). Returns the scalar to minimize and,
 * kept apart, [bnLossUnweighted, priorLoss, ...perLayer]. Differentiable w.r.t. x. `targets` null: prior only.
 */
export function synthesisObjective(
  model: SynthesisModel,
  targets: BatchNormTargets | null,
  o: SynthesisOptions,
  x: tf.Tensor4D,
): { loss: tf.Scalar; parts: tf.Tensor1D } {
  const prior = imagePriorLoss(x, o);
  if (!targets) {
    return { loss: prior, parts: tf.stack([tf.scalar(0), prior]) as tf.Tensor1D };
  }
  // Captured tensors are freed by the enclosing tidy / gradient scope.
  const bn = batchNormLoss(model.captureBatchNormInputs(x), targets);
  const loss = tf.add(bn.weighted, prior) as tf.Scalar;
  const parts = tf.concat([tf.stack([tf.sum(bn.perLayer), prior]), bn.perLayer]) as tf.Tensor1D;
  return { loss, parts };
}

/** Loss value of x without augmentation (no gradient): [objective, bnLoss]. */
async function evaluate(model: SynthesisModel, targets: BatchNormTargets | null, o: SynthesisOptions, x: tf.Tensor4D): Promise<[number, number]> {
  const v = tf.tidy(() => {
    const { loss, parts } = synthesisObjective(model, targets, o, x);
    return tf.concat([loss.reshape([1]), parts.slice(0, 1)]);
  });
  // Asynchronous read: a synchronous GPU readback fails in Chromium workers on webgpu.
  const d = await v.data();
  v.dispose();
  return [d[0], d[1]];
}

function summarizeLayers(perLayer: Float32Array, stats: BatchNormStats[]): PerLayerLossSummary | undefined {
  if (perLayer.length === 0) return undefined;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let worst = 0;
  for (let i = 0; i < perLayer.length; i++) {
    const v = perLayer[i];
    sum += v;
    if (v < min) min = v;
    if (v > max) {
      max = v;
      worst = i;
    }
  }
  return { min, max, mean: sum / perLayer.length, worst: stats[worst].nodeName };
}

/**
 * Optimize images so that the model's BN input statistics match the stored ones (method 'bn-statistics'),
 * or, for a model without BatchNorm, only the image prior ('prior-only': pass a model with no batchNorms).
 * Adam with a learning-rate schedule; random jitter and flips between steps; deterministic for a seed.
 */
export async function synthesizeWithModel(
  model: SynthesisModel,
  options: Partial<SynthesisOptions> = {},
  onProgress?: SynthProgressCallback,
  signal?: AbortSignal,
): Promise<SynthesisResult> {
  const o = resolveSynthesisOptions(options);
  const started = performance.now();
  throwIfSynthesisCancelled(signal);
  const [c, h, w] = model.imageShape;
  const per = c * h * w;
  const method: CalibrationMethod = model.batchNorms.length > 0 ? 'bn-statistics' : 'prior-only';
  // A stream apart from the one of the initial images (same seed).
  const rng = new SeededRandom(o.seed ^ 0x5eed);
  const all = gaussianImages(o.numImages, model.imageShape, o.seed);
  const batches = Math.ceil(o.numImages / o.batchSize);
  const previewNorm = o.normalization ?? IMAGENET_NORMALIZATION;
  const clampNorm = o.normalization && o.clampToPixelRange ? o.normalization : null;
  const targets = method === 'bn-statistics' ? makeBatchNormTargets(model.batchNorms, o.bnWeight, o.firstBnMultiplier) : null;
  const lossHistory: number[][] = [];
  const bnLossHistory: number[][] = [];
  let startLoss = 0;
  let endLoss = 0;
  let startBnLoss = 0;
  let endBnLoss = 0;
  // Parts of the loss for reporting, kept out of the gradient scope; the step loop disposes them.
  let pendingParts: tf.Tensor1D | null = null;
  let currentAug: Augmentation = { dy: 0, dx: 0, flip: false };
  const gradient = tf.grad((x: tf.Tensor) => {
    const { loss, parts } = synthesisObjective(model, targets, o, augment(x as tf.Tensor4D, currentAug));
    pendingParts = tf.keep(parts);
    return loss;
  });

  try {
    for (let b = 0; b < batches; b++) {
      const n = Math.min(o.batchSize, o.numImages - b * o.batchSize);
      const shape: [number, number, number, number] = [n, c, h, w];
      let x = tf.tensor4d(all.subarray(b * o.batchSize * per, (b * o.batchSize + n) * per), shape);
      if (clampNorm) {
        const clamped = clampToPixelRange(x, clampNorm);
        x.dispose();
        x = clamped;
      }
      let m: tf.Tensor = tf.zerosLike(x);
      let v: tf.Tensor = tf.zerosLike(x);
      const losses: number[] = [];
      const bnLosses: number[] = [];
      try {
        const [l0, bn0] = await evaluate(model, targets, o, x);
        startLoss += l0 / batches;
        startBnLoss += bn0 / batches;
        for (let step = 0; step < o.steps; step++) {
          throwIfSynthesisCancelled(signal);
          currentAug = {
            dy: o.jitter > 0 ? rng.int(-o.jitter, o.jitter) : 0,
            dx: o.jitter > 0 ? rng.int(-o.jitter, o.jitter) : 0,
            flip: o.flip ? rng.next() < 0.5 : false,
          };
          const lr = learningRateAt(o, step, o.steps);
          const g = gradient(x);
          const [nx, nm, nv] = tf.tidy(() => adamUpdate(x, m, v, g, lr, step + 1, clampNorm));
          tf.dispose([g, x, m, v]);
          x = nx;
          m = nm;
          v = nv;
          const partsT = pendingParts as tf.Tensor1D | null;
          pendingParts = null;
          const parts = partsT ? ((await partsT.data()) as Float32Array) : new Float32Array(2);
          partsT?.dispose();
          const [bnLoss, priorLoss] = parts;
          const perLayer = parts.subarray(2);
          const loss = weightedBn(perLayer, targets) + priorLoss;
          losses.push(loss);
          bnLosses.push(bnLoss);
          onProgress?.({
            type: 'synth-step', version: 1, batch: b, batches, step, steps: o.steps,
            loss, bnLoss, priorLoss, perLayer: summarizeLayers(perLayer, model.batchNorms),
          });
          if (onProgress && o.previewEvery > 0 && o.previewCount > 0 && ((step + 1) % o.previewEvery === 0 || step === o.steps - 1)) {
            const k = Math.min(o.previewCount, n);
            const head = tf.slice(x, [0, 0, 0, 0], [k, c, h, w]);
            const data = (await head.data()) as Float32Array;
            head.dispose();
            onProgress({ type: 'synth-preview', version: 1, batch: b, step, images: batchToRgba(data, [k, c, h, w], k, previewNorm) });
            if (model.batchNorms.length) onProgress({ type: 'synth-bn-stats', version: 1, batch: b, step, layers: await bnChannelStats(model, x) });
          }
          await yieldToEventLoop();
        }
        const [l1, bn1] = await evaluate(model, targets, o, x);
        endLoss += l1 / batches;
        endBnLoss += bn1 / batches;
        all.set((await x.data()) as Float32Array, b * o.batchSize * per);
      } finally {
        tf.dispose([x, m, v]);
      }
      lossHistory.push(losses);
      bnLossHistory.push(bnLosses);
    }
  } finally {
    targets?.dispose();
    if (pendingParts) (pendingParts as tf.Tensor).dispose();
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    images: all, shape: [o.numImages, c, h, w], method, lossHistory, bnLossHistory,
    startLoss, endLoss, startBnLoss, endBnLoss, seconds, imagesPerSecond: o.numImages / Math.max(seconds, 1e-9), options: o,
  };
}

function weightedBn(perLayer: Float32Array, targets: BatchNormTargets | null): number {
  if (!targets) return 0;
  let s = 0;
  for (let i = 0; i < perLayer.length; i++) s += targets.weights[i] * perLayer[i];
  return s;
}

const ADAM_BETA1 = 0.9;
const ADAM_BETA2 = 0.999;
const ADAM_EPS = 1e-8;

/** One Adam step on x (bias-corrected); returns new [x, m, v]. Optionally clamps x to the pixel range. */
function adamUpdate(
  x: tf.Tensor4D, m: tf.Tensor, v: tf.Tensor, g: tf.Tensor, lr: number, t: number,
  clampNorm: SynthesisOptions['normalization'] | null,
): [tf.Tensor4D, tf.Tensor, tf.Tensor] {
  const m1 = tf.add(tf.mul(m, ADAM_BETA1), tf.mul(g, 1 - ADAM_BETA1));
  const v1 = tf.add(tf.mul(v, ADAM_BETA2), tf.mul(tf.square(g), 1 - ADAM_BETA2));
  const stepSize = (lr * Math.sqrt(1 - ADAM_BETA2 ** t)) / (1 - ADAM_BETA1 ** t);
  let x1 = tf.sub(x, tf.mul(tf.div(m1, tf.add(tf.sqrt(v1), ADAM_EPS)), stepSize)) as tf.Tensor4D;
  if (clampNorm) x1 = clampToPixelRange(x1, clampNorm);
  return [x1, m1, v1];
}
