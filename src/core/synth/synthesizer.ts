import * as tf from '@tensorflow/tfjs';
import type { CapturedTensor } from '../runtime/types.js';
import { LocalQuantError, throwIfCancelled } from '../errors.js';
import type { BatchNormStats } from './batchNormStats.js';
import { batchNormLoss, makeBatchNormTargets, type BatchNormTargets } from './bnLoss.js';
import { augment, clampToPixelRange, imagePriorLoss, type Augmentation } from './imagePrior.js';
import {
  IMAGENET_NORMALIZATION, learningRateAt, learningRateScale, resolveSynthesisOptions,
  type CalibrationMethod, type SynthesisOptions,
} from './options.js';
import { batchToRgba } from './preview.js';
import { bnChannelStats } from './bnChannelStats.js';
import { classCrossEntropy, countTargetHits, oneHotBatch, roundRobinTargets } from './classTargets.js';
import type { ClassifierOutput } from './classifierOutput.js';
import { SeededRandom } from './prng.js';
import type { PerLayerLossSummary, SynthProgressCallback, TargetClass } from './progress.js';

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
  /**
   * Classifiers: where the logits are and how many classes. When present, `captureBatchNormInputs` also
   * returns the logits under `classifier.value` (class-conditional synthesis needs them).
   */
  classifier?: ClassifierOutput;
}

/** What class-conditional synthesis applied and reached (absent when it was off). */
export interface ClassConditionalResult {
  /** Weight of the cross-entropy term. */
  weight: number;
  classes: number;
  /** Class names from the model's metadata, when it gives them. */
  names?: string[];
  /** Target class of every image (round robin: image i gets class i mod classes). */
  targets: number[];
  /** Unweighted cross-entropy before / after, without augmentation, averaged over batches. */
  startClassLoss: number;
  endClassLoss: number;
  /** Share of the images the model classifies as their target class after synthesis (no augmentation). */
  targetHitRate: number;
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
  classConditional?: ClassConditionalResult;
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
 * The objective for one batch: sum_l w_l L_l(bn inputs) + prior(x) + classWeight * CE(logits, labels).
 * Returns the scalar to minimize and, kept apart, [bnLossUnweighted, priorLoss, classLoss, ...perLayer],
 * plus the logits when `labels` are given. Differentiable w.r.t. x. `targets` null: no BN term;
 * `labels` (one-hot [n, classes]) null: no class term.
 */
export function synthesisObjective(
  model: SynthesisModel,
  targets: BatchNormTargets | null,
  o: SynthesisOptions,
  x: tf.Tensor4D,
  labels: tf.Tensor2D | null = null,
): { loss: tf.Scalar; parts: tf.Tensor1D; logits?: tf.Tensor } {
  const prior = imagePriorLoss(x, o);
  if (!targets && !labels) {
    return { loss: prior, parts: tf.stack([tf.scalar(0), prior, tf.scalar(0)]) as tf.Tensor1D };
  }
  // Captured tensors are freed by the enclosing tidy / gradient scope.
  const captured = model.captureBatchNormInputs(x);
  const bn = targets ? batchNormLoss(captured, targets) : null;
  const logits = labels ? captured.get(model.classifier!.value)?.tensor : undefined;
  if (labels && !logits) throw new LocalQuantError('INTERNAL', `The logits '${model.classifier!.value}' were not captured.`);
  const ce = labels ? classCrossEntropy(logits!, labels) : tf.scalar(0);
  let loss = bn ? (tf.add(bn.weighted, prior) as tf.Scalar) : prior;
  if (labels) loss = tf.add(loss, tf.mul(ce, o.classWeight)) as tf.Scalar;
  const head = tf.stack([bn ? tf.sum(bn.perLayer) : tf.scalar(0), prior, ce]);
  const parts = (bn ? tf.concat([head, bn.perLayer]) : head) as tf.Tensor1D;
  return { loss, parts, ...(logits ? { logits } : {}) };
}

/** Values of x without augmentation (no gradient): [objective, bnLoss, classLoss, images at their target class]. */
async function evaluate(model: SynthesisModel, targets: BatchNormTargets | null, o: SynthesisOptions, x: tf.Tensor4D, labels: tf.Tensor2D | null): Promise<number[]> {
  const v = tf.tidy(() => {
    const { loss, parts, logits } = synthesisObjective(model, targets, o, x, labels);
    const hits = logits && labels ? countTargetHits(logits, labels) : tf.scalar(0);
    return tf.concat([loss.reshape([1]), parts.slice(0, 1), parts.slice(2, 1), hits.reshape([1])]);
  });
  // Asynchronous read: a synchronous GPU readback fails in Chromium workers on webgpu.
  const d = await v.data();
  v.dispose();
  return Array.from(d);
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

/** One batch as synthesized: its final images and what was measured on it. */
export interface SynthesisBatchResult {
  /** Batch index (images index * batchSize ..). */
  index: number;
  /** Final images of the batch, NCHW. */
  images: Float32Array;
  losses: number[];
  bnLosses: number[];
  /** Objective, BN loss and class loss without augmentation before the first step. */
  start: [number, number, number];
  /** The same after the last step, and the images at their target class. */
  end: [number, number, number, number];
}

/** Uniform draws one synthesis step takes from the augmentation stream (jitter dy, dx; flip). */
function drawsPerStep(o: SynthesisOptions): number {
  return (o.jitter > 0 ? 2 : 0) + (o.flip ? 1 : 0);
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
  const all = Array.from({ length: Math.ceil(o.numImages / o.batchSize) }, (_, b) => b);
  const batches = await synthesizeModelBatches(model, o, all, onProgress, signal);
  return combineSynthesisBatches(model, o, batches, (performance.now() - started) / 1000);
}

/**
 * Batches `indices` of synthesizeWithModel(model, options): the same images, losses and events as the whole
 * run gives for them, whichever other batches run, here or elsewhere (each batch starts from its slice of the
 * seeded initial images and its own stretch of the augmentation stream), so batches can run in parallel.
 */
export async function synthesizeModelBatches(
  model: SynthesisModel,
  options: Partial<SynthesisOptions>,
  indices: number[],
  onProgress?: SynthProgressCallback,
  signal?: AbortSignal,
): Promise<SynthesisBatchResult[]> {
  const o = resolveSynthesisOptions(options);
  throwIfSynthesisCancelled(signal);
  const [c, h, w] = model.imageShape;
  const per = c * h * w;
  const batches = Math.ceil(o.numImages / o.batchSize);
  const previewNorm = o.normalization ?? IMAGENET_NORMALIZATION;
  const clampNorm = o.normalization && o.clampToPixelRange ? o.normalization : null;
  const lrScale = learningRateScale(o.normalization);
  const classifier = o.classWeight > 0 ? model.classifier : undefined;
  if (o.classWeight > 0 && !classifier) {
    throw new LocalQuantError('BAD_CONFIG', 'Class-conditional synthesis needs the model\'s class logits, and this model gives none.', 'Turn class-conditional synthesis off.');
  }
  const classTargets = classifier ? roundRobinTargets(o.numImages, classifier.classes) : null;
  const targetClass = (i: number): TargetClass => ({ index: classTargets![i], ...(classifier?.names ? { name: classifier.names[classTargets![i]] } : {}) });
  const method: CalibrationMethod = model.batchNorms.length > 0 ? 'bn-statistics' : 'prior-only';
  const targets = method === 'bn-statistics' ? makeBatchNormTargets(model.batchNorms, o.bnWeight, o.firstBnMultiplier) : null;
  // Parts of the loss for reporting, kept out of the gradient scope; the step loop disposes them.
  let pendingParts: tf.Tensor1D | null = null;
  let currentAug: Augmentation = { dy: 0, dx: 0, flip: false };
  let labels: tf.Tensor2D | null = null;
  const gradient = tf.grad((x: tf.Tensor) => {
    const { loss, parts } = synthesisObjective(model, targets, o, augment(x as tf.Tensor4D, currentAug), labels);
    pendingParts = tf.keep(parts);
    return loss;
  });
  const out: SynthesisBatchResult[] = [];
  try {
    for (const b of indices) {
      if (!(Number.isInteger(b) && b >= 0 && b < batches)) throw new RangeError(`batch ${b} outside 0..${batches - 1}`);
      const n = Math.min(o.batchSize, o.numImages - b * o.batchSize);
      const shape: [number, number, number, number] = [n, c, h, w];
      // Initial images: this batch's slice of the seeded set. Augmentation: a stream apart from the one of the
      // initial images (same seed), skipped to where batch b begins (a fixed number of draws per step).
      const rng = new SeededRandom(o.seed ^ 0x5eed);
      for (let k = b * o.steps * drawsPerStep(o); k > 0; k--) rng.next();
      const start = new SeededRandom(o.seed);
      for (let k = b * o.batchSize * per; k > 0; k--) start.normal();
      let x = tf.tensor4d(start.normalArray(n * per), shape);
      if (clampNorm) {
        const clamped = clampToPixelRange(x, clampNorm);
        x.dispose();
        x = clamped;
      }
      let m: tf.Tensor = tf.zerosLike(x);
      let v: tf.Tensor = tf.zerosLike(x);
      labels = classifier ? oneHotBatch(classTargets!, b * o.batchSize, n, classifier.classes) : null;
      const losses: number[] = [];
      const bnLosses: number[] = [];
      try {
        const [l0, bn0, ce0] = await evaluate(model, targets, o, x, labels);
        for (let step = 0; step < o.steps; step++) {
          throwIfSynthesisCancelled(signal);
          currentAug = {
            dy: o.jitter > 0 ? rng.int(-o.jitter, o.jitter) : 0,
            dx: o.jitter > 0 ? rng.int(-o.jitter, o.jitter) : 0,
            flip: o.flip ? rng.next() < 0.5 : false,
          };
          const lr = learningRateAt(o, step, o.steps) * lrScale;
          const g = gradient(x);
          const [nx, nm, nv] = tf.tidy(() => adamUpdate(x, m, v, g, lr, step + 1, clampNorm));
          tf.dispose([g, x, m, v]);
          x = nx;
          m = nm;
          v = nv;
          const partsT = pendingParts as tf.Tensor1D | null;
          pendingParts = null;
          const parts = partsT ? ((await partsT.data()) as Float32Array) : new Float32Array(3);
          partsT?.dispose();
          const [bnLoss, priorLoss, classLoss] = parts;
          const perLayer = parts.subarray(3);
          const loss = weightedBn(perLayer, targets) + priorLoss + (classifier ? o.classWeight * classLoss : 0);
          losses.push(loss);
          bnLosses.push(bnLoss);
          onProgress?.({
            type: 'synth-step', version: 1, batch: b, batches, step, steps: o.steps,
            loss, bnLoss, priorLoss, perLayer: summarizeLayers(perLayer, model.batchNorms), ...(classifier ? { classLoss } : {}),
          });
          if (onProgress && o.previewEvery > 0 && o.previewCount > 0 && ((step + 1) % o.previewEvery === 0 || step === o.steps - 1)) {
            const k = Math.min(o.previewCount, n);
            const head = tf.slice(x, [0, 0, 0, 0], [k, c, h, w]);
            const data = (await head.data()) as Float32Array;
            head.dispose();
            const classes = classifier ? Array.from({ length: k }, (_, i) => targetClass(b * o.batchSize + i)) : undefined;
            onProgress({ type: 'synth-preview', version: 2, batch: b, step, images: batchToRgba(data, [k, c, h, w], k, previewNorm), ...(classes ? { classes } : {}) });
            if (model.batchNorms.length) onProgress({ type: 'synth-bn-stats', version: 1, batch: b, step, layers: await bnChannelStats(model, x) });
          }
          await yieldToEventLoop();
        }
        const [l1, bn1, ce1, hit1] = await evaluate(model, targets, o, x, labels);
        out.push({ index: b, images: (await x.data()) as Float32Array, losses, bnLosses, start: [l0, bn0, ce0], end: [l1, bn1, ce1, hit1] });
      } finally {
        tf.dispose([x, m, v]);
        labels?.dispose();
        labels = null;
      }
    }
  } finally {
    targets?.dispose();
    if (pendingParts) (pendingParts as tf.Tensor).dispose();
  }
  return out;
}

/** The SynthesisResult of every batch of a run (any order; each batch once), as synthesizeWithModel returns it. */
export function combineSynthesisBatches(model: Pick<SynthesisModel, 'imageShape' | 'batchNorms' | 'classifier'>, options: Partial<SynthesisOptions>, results: SynthesisBatchResult[], seconds: number): SynthesisResult {
  const o = resolveSynthesisOptions(options);
  const [c, h, w] = model.imageShape;
  const per = c * h * w;
  const batches = Math.ceil(o.numImages / o.batchSize);
  const sorted = [...results].sort((a, b) => a.index - b.index);
  if (sorted.length !== batches || sorted.some((r, i) => r.index !== i)) {
    throw new LocalQuantError('INTERNAL', `synthesis returned batches [${sorted.map((r) => r.index).join(', ')}] of ${batches}`);
  }
  const all = new Float32Array(o.numImages * per);
  for (const r of sorted) all.set(r.images, r.index * o.batchSize * per);
  const mean = (f: (r: SynthesisBatchResult) => number) => sorted.reduce((a, r) => a + f(r) / batches, 0);
  const classifier = o.classWeight > 0 ? model.classifier : undefined;
  const classConditional: ClassConditionalResult | undefined = classifier && {
    weight: o.classWeight, classes: classifier.classes, ...(classifier.names ? { names: classifier.names } : {}), targets: Array.from(roundRobinTargets(o.numImages, classifier.classes)),
    startClassLoss: mean((r) => r.start[2]), endClassLoss: mean((r) => r.end[2]), targetHitRate: sorted.reduce((a, r) => a + r.end[3], 0) / o.numImages,
  };
  return {
    images: all, shape: [o.numImages, c, h, w], method: model.batchNorms.length > 0 ? 'bn-statistics' : 'prior-only',
    lossHistory: sorted.map((r) => r.losses), bnLossHistory: sorted.map((r) => r.bnLosses),
    startLoss: mean((r) => r.start[0]), endLoss: mean((r) => r.end[0]), startBnLoss: mean((r) => r.start[1]), endBnLoss: mean((r) => r.end[1]),
    seconds, imagesPerSecond: o.numImages / Math.max(seconds, 1e-9), options: o,
    ...(classConditional ? { classConditional } : {}),
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
