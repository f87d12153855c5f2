import { LocalQuantError } from '../errors.js';

/** How calibration images are obtained. */
export type CalibrationMethod = 'bn-statistics' | 'prior-only' | 'noise' | 'user-images';

export type LearningRateSchedule = 'cosine' | 'step' | 'constant';

/** Per-channel normalization the model expects: normalized = (pixel / 255 - mean) / std. */
export interface Normalization {
  mean: number[];
  std: number[];
}

/** ImageNet normalization, the usual convention (and that of the CIFAR-10 fixtures). Used for previews when none is given. */
export const IMAGENET_NORMALIZATION: Normalization = {
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
};

/**
 * Settings of data-free image synthesis. Every field is optional; `DEFAULT_SYNTHESIS_OPTIONS` documents
 * the defaults (chosen by bench/synth.ts on ResNet-20 / CIFAR-10: see the notes there).
 */
export interface SynthesisOptions {
  /** Total images to produce; split into batches of `batchSize` (the last may be smaller). */
  numImages: number;
  /** Images optimized together; BN batch statistics are matched per batch. */
  batchSize: number;
  /** Adam steps per batch. */
  steps: number;
  /** Peak Adam learning rate, for ImageNet-normalized inputs (the synthesizer scales it by learningRateScale). */
  learningRate: number;
  /** cosine: lr * (minFactor + (1-minFactor) * (1 + cos(pi t/T)) / 2); step: x0.1 at 50% and 75%; constant. */
  lrSchedule: LearningRateSchedule;
  /** Final learning rate as a fraction of the peak (cosine only). */
  lrMinFactor: number;
  /** Seed of the initial images, jitter and flips: same seed, same images (on one backend). */
  seed: number;
  /** Weight of the BN-statistics term. */
  bnWeight: number;
  /** Extra multiplier on the first BatchNorm's term (DeepInversion uses 10). */
  firstBnMultiplier: number;
  /** Weight of the input prior: per-channel batch mean 0 and std 1 in normalized space (ZeroQ). */
  inputStatsWeight: number;
  /** Weight of total variation (mean squared difference of neighbouring pixels). */
  tvWeight: number;
  /** Weight of the mean squared pixel value. */
  l2Weight: number;
  /** Random circular shift of up to this many pixels (each axis) before every step; 0 disables. */
  jitter: number;
  /** Random horizontal flip before every step. */
  flip: boolean;
  /** Emit a preview every this many steps (and at the last step); 0 disables previews. */
  previewEvery: number;
  /** How many images of the batch a preview shows. */
  previewCount: number;
  /**
   * The model's input normalization. When given, pixels are kept inside the valid range
   * [(0 - mean) / std, (1 - mean) / std] after each step (when `clampToPixelRange`), and previews use it.
   * When absent, previews assume ImageNet normalization and nothing is clamped.
   */
  normalization?: Normalization;
  clampToPixelRange: boolean;
  /** Image height/width when the model's input leaves them symbolic. */
  imageSize?: [number, number];
  /**
   * Weight of the class-conditional cross-entropy term (DeepInversion): image i gets target class
   * i mod classes and the loss adds classWeight * CE(logits, target). 0 (default): off. Needs a model
   * with a classifier output (see classifierOutput.ts).
   */
  classWeight: number;
}

/**
 * Defaults, measured with `npm run bench:synth` on ResNet-20 / CIFAR-10, wasm, one batch of 64 (BN loss =
 * unweighted sum over the 19 BNs; real CIFAR test images score 1.68 at batch 64; random start 36.1):
 *  - lr (cosine, 100 steps): 0.05 -> 2.02, 0.1 -> 1.12, 0.25 -> 0.53, 0.5 -> 0.34, 1.0 -> 0.27 (ZeroQ uses 0.5);
 *  - schedule at lr 0.5: cosine 0.34, constant 0.37, step 0.44;
 *  - steps at lr 0.5 cosine: 50 -> 0.89, 100 -> 0.34, 150 -> 0.21;
 *  - TV weight (batch 32, 80 steps; BN loss / mean squared neighbour difference of the images, real 0.35):
 *    0.001 -> 0.45 / 2.40, 0.01 -> 0.45 / 2.34, 0.3 -> 0.40 / 1.18, 1 -> 0.43 / 0.70, 3 -> 0.73 / 0.43: at 1 the
 *    images are far smoother (closer to real) at no cost in BN loss;
 *  - a step costs 0.71 s CPU at batch 64 (90 image-steps/s; 78 at batch 32, 93 at 128), so 256 images x 80
 *    steps fit the 5-minute target on 2 cores with margin, ending below the real-image level.
 */
export const DEFAULT_SYNTHESIS_OPTIONS: Readonly<SynthesisOptions> = Object.freeze({
  numImages: 256,
  batchSize: 64,
  steps: 80,
  learningRate: 0.5,
  lrSchedule: 'cosine',
  lrMinFactor: 0.05,
  seed: 0,
  bnWeight: 1,
  firstBnMultiplier: 1,
  inputStatsWeight: 1,
  tvWeight: 1,
  l2Weight: 1e-5,
  jitter: 2,
  flip: true,
  previewEvery: 10,
  previewCount: 8,
  clampToPixelRange: true,
  classWeight: 0,
});

/**
 * The cross-entropy weight used when class-conditional synthesis is turned on without one. Measured with
 * bench/classConditional.ts on ResNet-20 (256 images, 80 steps, seed 0; docs/benchmarks/class-conditional-*):
 * at 0.1 the cross-entropy falls 12.6 -> 0.002 and the float model puts 100 % of the images in their target
 * class (classes exactly balanced), at a BN loss of 0.50 (0.44 without the term); W4A8 / W4A4 adaptive
 * calibrated on them score 91.65 / 90.51, against 91.59 / 90.55 for today's synthesis and 91.71 / 90.56 for
 * 256 real training images: the class term costs no accuracy and makes each image show one class.
 * Weight 1 also reaches 100 % but at a BN loss of 1.49, and scores 91.53 / 90.37.
 */
export const DEFAULT_CLASS_WEIGHT = 0.1;

function check(ok: boolean, what: string): void {
  if (!ok) throw new LocalQuantError('BAD_CONFIG', `Invalid synthesis setting: ${what}.`);
}

/** Defaults filled in and every value checked (BAD_CONFIG names the bad one). */
export function resolveSynthesisOptions(opts: Partial<SynthesisOptions> = {}): SynthesisOptions {
  const o: SynthesisOptions = { ...DEFAULT_SYNTHESIS_OPTIONS, ...stripUndefined(opts) };
  const posInt = (v: number) => Number.isInteger(v) && v > 0;
  const nonNeg = (v: number) => Number.isFinite(v) && v >= 0;
  check(posInt(o.numImages), `numImages must be a positive integer (got ${o.numImages})`);
  check(posInt(o.batchSize), `batchSize must be a positive integer (got ${o.batchSize})`);
  check(Number.isInteger(o.steps) && o.steps >= 0, `steps must be a non-negative integer (got ${o.steps})`);
  check(Number.isFinite(o.learningRate) && o.learningRate > 0, `learningRate must be > 0 (got ${o.learningRate})`);
  check(['cosine', 'step', 'constant'].includes(o.lrSchedule), `lrSchedule must be cosine, step or constant (got ${o.lrSchedule})`);
  check(o.lrMinFactor >= 0 && o.lrMinFactor <= 1, `lrMinFactor must be in [0, 1] (got ${o.lrMinFactor})`);
  check(Number.isInteger(o.seed), `seed must be an integer (got ${o.seed})`);
  for (const k of ['bnWeight', 'firstBnMultiplier', 'inputStatsWeight', 'tvWeight', 'l2Weight', 'classWeight'] as const) {
    check(nonNeg(o[k]), `${k} must be >= 0 (got ${o[k]})`);
  }
  check(Number.isInteger(o.jitter) && o.jitter >= 0, `jitter must be a non-negative integer (got ${o.jitter})`);
  check(Number.isInteger(o.previewEvery) && o.previewEvery >= 0, `previewEvery must be a non-negative integer`);
  check(Number.isInteger(o.previewCount) && o.previewCount >= 0, `previewCount must be a non-negative integer`);
  if (o.normalization) {
    const { mean, std } = o.normalization;
    check(mean.length > 0 && mean.length === std.length, 'normalization mean and std need one value per channel');
    check(std.every((s) => Number.isFinite(s) && s > 0), 'normalization std values must be > 0');
    check(mean.every((m) => Number.isFinite(m)), 'normalization mean values must be numbers');
  }
  if (o.imageSize) check(o.imageSize.length === 2 && o.imageSize.every(posInt), 'imageSize must be [height, width]');
  return o;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * How wide the valid pixel range is in the model's normalized input space relative to ImageNet
 * normalization, where the learning rate default was tuned: mean_c(1 / std_c) / mean_c(1 / std_imagenet_c).
 * The synthesizer multiplies the learning rate by it, so that a step moves pixels by the same fraction of
 * their range whatever the normalization: 1 for ImageNet/CIFAR-fixture normalization, 0.226 for a model
 * fed pixels / 255 (nsfwjs' MobileNetV2), where the unscaled 0.5 throws pixels to the clamp at each step.
 * Measured there (bench/mobilenet.ts, 4 images, batch 4): BN loss after 20 steps 382 at lr 0.5, 278 at 0.1;
 * 0.03 was slower (459 vs 328 after 11 steps). Without a normalization: 1.
 */
export function learningRateScale(norm?: Normalization): number {
  if (!norm) return 1;
  const inv = (std: number[], n: number) => Array.from({ length: n }, (_, c) => 1 / std[c % std.length]).reduce((a, b) => a + b, 0) / n;
  const n = Math.max(norm.std.length, 1);
  return inv(norm.std, n) / inv(IMAGENET_NORMALIZATION.std, 3);
}

/** Learning rate at `step` (0-based) of `steps`. */
export function learningRateAt(o: Pick<SynthesisOptions, 'learningRate' | 'lrSchedule' | 'lrMinFactor'>, step: number, steps: number): number {
  const t = steps <= 1 ? 0 : step / (steps - 1);
  switch (o.lrSchedule) {
    case 'constant':
      return o.learningRate;
    case 'step':
      return o.learningRate * (t < 0.5 ? 1 : t < 0.75 ? 0.1 : 0.01);
    case 'cosine':
      return o.learningRate * (o.lrMinFactor + ((1 - o.lrMinFactor) * (1 + Math.cos(Math.PI * t))) / 2);
  }
}
