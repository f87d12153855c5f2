/**
 * Quantization settings, as saved/loaded JSON (versioned). `validateQuantConfig` is the single place
 * that turns a bad file or bad flags into a LocalQuantError('BAD_CONFIG') naming the field.
 */
import { LocalQuantError } from '../errors';
import type { ObserverMethod } from './observers';

export const QUANT_CONFIG_VERSION = 1;

export type WeightBits = 2 | 3 | 4 | 8;
/** 32 = keep activations in float. */
export type ActivationBits = 4 | 8 | 32;

/**
 * Where the exported model will run, which decides its form (exporters/qdq/deploymentTargets.ts):
 * 'ort-cpu', 'ort-cpu-vnni' and 'ort-web': ONNX Runtime's integer kernels (every layer an 8-bit kernel; 4-bit
 * weight codes kept in int8 containers, so the gain is speed at int8 size). 'ort-cpu' runs exactly on any
 * x86-64 CPU (8-bit weights in a 7-bit range: portableWeightBits); 'ort-cpu-vnni' keeps full 8-bit weights
 * for CPUs with VNNI or AMX, where ORT's U8S8 kernels cannot saturate. 'smallest': the smallest file (4-bit
 * weights packed, opset 21; ORT dequantizes those to float, so the gain is size only).
 */
export type DeploymentTarget = 'ort-cpu' | 'ort-cpu-vnni' | 'ort-web' | 'smallest';
export const DEPLOYMENT_TARGETS: readonly DeploymentTarget[] = ['ort-cpu', 'ort-cpu-vnni', 'ort-web', 'smallest'];

export interface AdaroundConfig {
  iterations: number;
  /** Adam learning rate on V. */
  lr: number;
  /** Weight of the rounding regularizer. */
  lambda: number;
  betaStart: number;
  betaEnd: number;
  /** Fraction of iterations without the regularizer (warm start). */
  warmup: number;
  /** Most input columns (im2col patches) used to form the second moments per layer. */
  maxSamples: number;
  /**
   * Reconstruction 'block': iterations of the layer-wise adaptive rounding each block starts from (its
   * own iterations are `iterations`); 0 starts from the float weights, as BRECQ does.
   */
  blockStartIterations: number;
  /**
   * Reconstruction 'block': Adam rate on the log step size of the activation grids each block produces,
   * learned jointly with the rounding (LSQ, as in QDrop) from the calibrated grids; 0 keeps the calibrated
   * grids. Default 0: measured on ResNet-20 W4A4 first/last 8 bit (200 iterations, same 256 synthetic
   * images), learned step sizes (0.92-1.01x the calibrated ones) lower every block's output error by
   * 0.1-2 % and the top-1 from 90.67 to 90.38 (docs/benchmarks/block-w4a4-2026-11-30.json): the MSE grids
   * are close to what the blocks want, and what is left fits the synthetic images, not the test set.
   */
  blockActivationLr: number;
  /**
   * Reconstruction 'block': weight of a KL term between the float model's class distribution and the one
   * each quantized block's output gives through the float rest of the network, beside the block output
   * error (algos/blockReconstruction.ts LogitTerm); relative: 1 makes the KL as large as the block output
   * error at the nearest rounding, in every block. 0: the block output error alone. Classifiers only.
   * Default 0: measured on ResNet-20 W4A4 first/last 8 bit (block 200 iterations, the same 256 synthetic
   * images), weight 1 scored 90.33 / 90.18 (seeds 0, 1) against 90.67 / 90.44 / 90.28 without it (seeds
   * 0-2), at 1.5x the CPU (docs/benchmarks/block-w4a4-seeds-2026-11-30.json).
   */
  blockLogitWeight: number;
  /**
   * Reconstruction 'block': Adam rate on the biases of the block's layers, learned jointly with the rounding
   * on the block output error (AdaQuant-style bias tuning: the mean shift that 4-bit grids and clipping put
   * on each channel is a few numbers per layer, not a rounding choice); 0 keeps the float biases. The
   * learned biases are kept only where they score better on the block output over all images. Default 0:
   * measured on ResNet-20 W4A4 first/last 8 bit (block 200 iterations, the same 256 synthetic images), rate
   * 1e-3 scored 90.63 / 90.55 / 90.52 (seeds 0-2, mean 90.57) against 90.67 / 90.44 / 90.28 (mean 90.46)
   * without; all layers 4 bit 90.66 / 90.33 / 90.23 (mean 90.41) against 90.52 without: +0.10 and -0.11, both
   * inside the seed spread; the biases moved by ~1-3 % of their RMS (docs/benchmarks/block-w4a4-bias-2026-11-30.json).
   */
  blockBiasLr: number;
  /**
   * Reconstruction 'block': Adam rate on the log of each layer's per-channel weight scales, learned jointly
   * with the rounding (Genie-M: the codes' floor stays at the calibrated scale, the step moves); 0 keeps the
   * calibrated scales. Kept only where they score better on the block output over all images. Default 0:
   * measured on ResNet-20 W4A4 first/last 8 bit (block 200 iterations, 256 synthetic images x 40 steps), rate
   * 1e-3 scored 90.60 / 90.87 / 90.41 (seeds 0-2, mean 90.63) against 90.68 / 90.81 / 90.59 (mean 90.69)
   * without; the scales moved 0.94-1.06x (one layer 1.2x) and lowered the block errors 0.2-1.5 %
   * (docs/benchmarks/block-w4a4-levers-2026-12-02.json). At 4-bit activations the loss is the activations'.
   */
  blockWeightScaleLr: number;
}

export interface LayerOverride {
  weightBits?: number;
  activationBits?: number;
  /** Leave this layer unquantized. */
  float?: boolean;
}

export interface QuantConfig {
  version: 1;
  weightBits: WeightBits;
  activationBits: ActivationBits;
  perChannel: boolean;
  rounding: 'adaptive' | 'nearest';
  activationObserver: ObserverMethod;
  /** Used by the 'percentile' observer, in percent. */
  percentile: number;
  /**
   * First conv and last FC keep 8-bit weights (common practice; the reference does so in W4 rows; "last": every
   * layer no other weight layer reads from, so each head conv of a multi-head detector, quant/quantPoints.ts). Their
   * inputs keep the activation bits (the network input is 8 bit anyway): BRECQ's convention of an 8-bit
   * input for the last layer was measured on ResNet-20 W4A4 layer-wise, 90.56 vs 90.55 (same synthetic
   * images; docs/benchmarks/block-w4a4-2026-11-30.json), so it is not applied.
   */
  keepFirstLast8bit: boolean;
  biasCorrection: boolean;
  adaround: AdaroundConfig;
  overrides: Record<string, LayerOverride>;
  seed: number;
  target: DeploymentTarget;
  /**
   * 'layer': each layer's rounding fits that layer's output (AdaRound on second moments); 'block': the
   * rounding of all layers of a block (residual block, or a short chain between branch points) is
   * optimised jointly on the block's output with activation quantization inside (BRECQ,
   * algos/blockReconstruction.ts). Needs adaptive rounding.
   */
  reconstruction: 'layer' | 'block';
  /**
   * QDrop: during block reconstruction, each activation element skips its quantization with p = 0.5.
   * ResNet-20 (256 synthetic images x 40 steps, block 200): all layers W4A4 90.71 on four seeds against 90.52
   * without; first/last 8 bit 90.64 against 90.69, with a higher agreement with float on every seed
   * (docs/benchmarks/block-w4a4-levers-2026-12-02.json), both with every activation at 4 bit. With 4-bit layer
   * inputs and 8-bit skip paths (activationBitsAt 'layer-inputs'): first/last 8 bit 91.12 against 90.80 without,
   * all layers 4 bit 90.77, three seeds each (docs/benchmarks/layer-inputs-w4a4-2026-12-02.json).
   * Off by default: not yet measured on other models.
   */
  qdrop: boolean;
  /**
   * Cross-layer equalization before quantization (pipeline/equalize.ts): channels that pass between convs
   * through per-channel ops are rescaled so that they fill their per-tensor activation grids and their
   * readers' weight grids evenly. Needs quantized activations (it changes nothing else).
   */
  equalization: boolean;
  /**
   * Where activation bits below 8 apply. 'layer-inputs': on the inputs of weight layers only; a value that
   * a low-bit layer reads and something else reads too (the skip path of a residual block, a pool, a
   * graph output) keeps 8 bits for those other readers (quant/layerInputSplit.ts), as in LSQ/PACT-style
   * W4A4 and QuaRot. 'every-activation': every quantized value at the activation bits (the BRECQ/ZeroQ
   * benchmark convention), skip paths included. No difference when no activation is below 8 bits
   * (refused then). ResNet-20 (float 91.73), 256 synthetic images, ORT top-1 / agreement with float on the
   * 10,000 test images: W8A4 nearest 91.16 / 96.73 against 90.65 / 95.69 (bench:quant rows w8a4-nearest and
   * w8a4-nearest-everyact).
   */
  activationBitsAt: ActivationBitsAt;
}

/**
 * Defaults follow the independent reference in docs/method.md: W4A8 per channel with adaptive rounding,
 * MSE ranges (4 pt better than min/max at A4), first/last layer 8 bit, AdaRound 1000 iterations,
 * lr 1e-2, lambda 0.01, beta 20 -> 2 after a 20 % warm start.
 * Bias correction is off by default: measured on ResNet-20 (bench:quant, 256 synthetic images, first/last
 * 8 bit, top-1 on the 10,000 test images in onnxruntime-node; float 91.73) it is no consistent gain:
 *   W4A8 nearest 90.60 -> 90.96, W4A8 adaptive 91.49 -> 91.39, W4A4 nearest 87.92 -> 87.65,
 *   W4A4 adaptive 89.71 -> 90.03 (off -> on). Adaptive rounding already fits each layer's output
 *   (mean included); on the default (adaptive, A8) it does not help, and it needs every batch's means.
 */
/** AdaRound's settings (see defaultQuantConfig); algos/adaptiveRounding.ts fills its options from them too. */
export const DEFAULT_ADAROUND: Readonly<AdaroundConfig> = Object.freeze({
  iterations: 1000, lr: 1e-2, lambda: 0.01, betaStart: 20, betaEnd: 2, warmup: 0.2, maxSamples: 4096,
  blockStartIterations: 1000, blockActivationLr: 0, blockLogitWeight: 0, blockBiasLr: 0, blockWeightScaleLr: 0,
});

export function defaultQuantConfig(): QuantConfig {
  return {
    version: 1,
    weightBits: 4,
    activationBits: 8,
    perChannel: true,
    rounding: 'adaptive',
    activationObserver: 'mse',
    percentile: 99.99,
    keepFirstLast8bit: true,
    biasCorrection: false,
    adaround: { ...DEFAULT_ADAROUND },
    overrides: {},
    seed: 0,
    target: 'ort-cpu',
    reconstruction: 'layer',
    qdrop: false,
    equalization: false,
    activationBitsAt: 'layer-inputs',
  };
}

const WEIGHT_BITS = [2, 3, 4, 8] as const;
const ACT_BITS = [4, 8, 32] as const;
export const ACTIVATION_BITS_AT = ['layer-inputs', 'every-activation'] as const;
export type ActivationBitsAt = (typeof ACTIVATION_BITS_AT)[number];

function bad(message: string, hint?: string): never {
  throw new LocalQuantError('BAD_CONFIG', message, hint);
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(path: string, v: unknown, ok: (n: number) => boolean, want: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) bad(`${path} must be ${want}; got ${JSON.stringify(v)}`);
  return v;
}

function oneOf<T extends string | number | boolean>(path: string, v: unknown, allowed: readonly T[], label?: string): T {
  if (!allowed.includes(v as T)) bad(`${path} must be one of ${label ?? allowed.join(', ')}; got ${JSON.stringify(v)}`);
  return v as T;
}

/**
 * Check a parsed config (missing fields are filled from the defaults) and return a complete one.
 * `layerNames`, when given, are the quantizable layers of the model: overrides must name one of them.
 */
export function validateQuantConfig(cfg: unknown, layerNames?: readonly string[]): QuantConfig {
  if (!isObj(cfg)) bad(`quantization config must be a JSON object; got ${cfg === null ? 'null' : typeof cfg}`);
  const d = defaultQuantConfig();
  if (cfg.version !== undefined && cfg.version !== QUANT_CONFIG_VERSION) {
    bad(`config version ${JSON.stringify(cfg.version)} is not supported (this build reads version ${QUANT_CONFIG_VERSION})`);
  }
  const known = new Set(['version', 'weightBits', 'activationBits', 'perChannel', 'rounding', 'activationObserver', 'percentile', 'keepFirstLast8bit', 'biasCorrection', 'adaround', 'overrides', 'seed', 'target', 'reconstruction', 'qdrop', 'equalization', 'activationBitsAt']);
  for (const k of Object.keys(cfg)) if (!known.has(k)) bad(`unknown config field "${k}"`, `known fields: ${[...known].join(', ')}`);
  const get = <K extends keyof QuantConfig>(k: K): unknown => (cfg[k] === undefined ? d[k] : cfg[k]);

  const out: QuantConfig = {
    version: 1,
    weightBits: oneOf('weightBits', get('weightBits'), WEIGHT_BITS),
    activationBits: oneOf('activationBits', get('activationBits'), ACT_BITS, '4, 8, 32 (float)'),
    perChannel: oneOf('perChannel', get('perChannel'), [true, false]),
    rounding: oneOf('rounding', get('rounding'), ['adaptive', 'nearest'] as const),
    activationObserver: oneOf('activationObserver', get('activationObserver'), ['minmax', 'percentile', 'mse'] as const),
    percentile: num('percentile', get('percentile'), (n) => n > 50 && n <= 100, 'a number in (50, 100]'),
    keepFirstLast8bit: oneOf('keepFirstLast8bit', get('keepFirstLast8bit'), [true, false]),
    biasCorrection: oneOf('biasCorrection', get('biasCorrection'), [true, false]),
    adaround: { ...d.adaround },
    overrides: {},
    seed: num('seed', get('seed'), (n) => Number.isInteger(n), 'an integer'),
    target: oneOf('target', get('target'), DEPLOYMENT_TARGETS),
    reconstruction: oneOf('reconstruction', get('reconstruction'), ['layer', 'block'] as const),
    qdrop: oneOf('qdrop', get('qdrop'), [true, false]),
    activationBitsAt: oneOf('activationBitsAt', get('activationBitsAt'), ACTIVATION_BITS_AT),
    equalization: oneOf('equalization', get('equalization'), [true, false]),
  };

  const ar = cfg.adaround;
  if (ar !== undefined) {
    if (!isObj(ar)) bad('adaround must be an object');
    const a = out.adaround;
    for (const k of Object.keys(ar)) if (!(k in a)) bad(`unknown adaround field "${k}"`, `known: ${Object.keys(a).join(', ')}`);
    const pick = (k: keyof AdaroundConfig) => (ar[k] === undefined ? a[k] : ar[k]);
    a.iterations = num('adaround.iterations', pick('iterations'), (n) => Number.isInteger(n) && n >= 0 && n <= 1e6, 'an integer in 0..1000000');
    a.lr = num('adaround.lr', pick('lr'), (n) => n > 0 && n < 10, 'a number in (0, 10)');
    a.lambda = num('adaround.lambda', pick('lambda'), (n) => n >= 0, 'a number >= 0');
    a.betaStart = num('adaround.betaStart', pick('betaStart'), (n) => n > 0, 'a number > 0');
    a.betaEnd = num('adaround.betaEnd', pick('betaEnd'), (n) => n > 0, 'a number > 0');
    a.warmup = num('adaround.warmup', pick('warmup'), (n) => n >= 0 && n < 1, 'a number in [0, 1)');
    a.maxSamples = num('adaround.maxSamples', pick('maxSamples'), (n) => Number.isInteger(n) && n >= 1, 'a positive integer');
    a.blockStartIterations = num('adaround.blockStartIterations', pick('blockStartIterations'), (n) => Number.isInteger(n) && n >= 0 && n <= 1e6, 'an integer in 0..1000000');
    a.blockActivationLr = num('adaround.blockActivationLr', pick('blockActivationLr'), (n) => n >= 0 && n < 1, 'a number in [0, 1)');
    a.blockLogitWeight = num('adaround.blockLogitWeight', pick('blockLogitWeight'), (n) => n >= 0 && n <= 1e4, 'a number in [0, 10000]');
    a.blockBiasLr = num('adaround.blockBiasLr', pick('blockBiasLr'), (n) => n >= 0 && n < 1, 'a number in [0, 1)');
    a.blockWeightScaleLr = num('adaround.blockWeightScaleLr', pick('blockWeightScaleLr'), (n) => n >= 0 && n < 1, 'a number in [0, 1)');
  }

  const ov = cfg.overrides;
  if (ov !== undefined) {
    if (!isObj(ov)) bad('overrides must be an object mapping layer names to settings');
    const names = layerNames ? new Set(layerNames) : null;
    for (const [layer, o] of Object.entries(ov)) {
      if (names && !names.has(layer)) {
        const few = layerNames!.slice(0, 5).join(', ') + (layerNames!.length > 5 ? `, ... (${layerNames!.length} in all)` : '');
        bad(`override names layer "${layer}", which is not a quantizable layer of this model`, `known layers: ${few}`);
      }
      if (!isObj(o)) bad(`overrides["${layer}"] must be an object`);
      for (const k of Object.keys(o)) if (!['weightBits', 'activationBits', 'float'].includes(k)) bad(`unknown field "${k}" in overrides["${layer}"]`, 'allowed: weightBits, activationBits, float');
      const lo: LayerOverride = {};
      if (o.weightBits !== undefined) lo.weightBits = oneOf(`overrides["${layer}"].weightBits`, o.weightBits, WEIGHT_BITS);
      if (o.activationBits !== undefined) lo.activationBits = oneOf(`overrides["${layer}"].activationBits`, o.activationBits, ACT_BITS, '4, 8, 32 (float)');
      if (o.float !== undefined) lo.float = oneOf(`overrides["${layer}"].float`, o.float, [true, false]);
      // a float layer has no weight grid, and its input grid is set by the layers that read the value
      if (lo.float && (lo.weightBits !== undefined || lo.activationBits !== undefined)) {
        bad(`overrides["${layer}"]: float keeps the layer float, so weightBits/activationBits beside it would do nothing`,
          'give either float, or the bits (activationBits 32 keeps the layer\'s input float; its weights are then quantized)');
      }
      out.overrides[layer] = lo;
    }
  }
  refuseInertReconstruction(out);
  const lowBitActivations = out.activationBits < 8 || Object.values(out.overrides).some((o) => o.activationBits !== undefined && o.activationBits < 8);
  if (out.activationBitsAt === 'every-activation' && !lowBitActivations) {
    bad('activationBitsAt "every-activation" places activation bits below 8 on every activation: with no activation below 8 bits it does nothing', 'Set activationBits to 4, or activationBitsAt to layer-inputs.');
  }
  return out;
}

/** Block reconstruction and QDrop only where they change the result (a setting that does nothing is refused). */
function refuseInertReconstruction(c: QuantConfig): void {
  const quantizedActivations = c.activationBits < 32 || Object.values(c.overrides).some((o) => o.activationBits !== undefined && o.activationBits < 32);
  if (c.reconstruction === 'block') {
    if (c.rounding !== 'adaptive') bad('reconstruction "block" optimises the weights\' rounding: it does nothing with rounding "nearest"', 'Set rounding to adaptive, or reconstruction to layer.');
    if (c.adaround.iterations < 1) bad('reconstruction "block" needs at least 1 adaptive-rounding iteration per block');
    if (c.adaround.blockActivationLr > 0 && !quantizedActivations) bad('adaround.blockActivationLr learns activation step sizes: it does nothing with float activations (activationBits 32)');
    if (c.biasCorrection) bad('bias correction is not combined with reconstruction "block": block reconstruction fits each block\'s output, mean included', 'Turn bias correction off, or use reconstruction layer.');
  }
  if (c.qdrop && !quantizedActivations) bad('qdrop drops activation quantization: it does nothing with float activations (activationBits 32)');
  if (c.adaround.blockActivationLr > 0 && c.reconstruction !== 'block') bad('adaround.blockActivationLr learns activation step sizes during block reconstruction: it does nothing with reconstruction "layer"', 'Set reconstruction to block, or blockActivationLr to 0.');
  if (c.adaround.blockLogitWeight > 0 && c.reconstruction !== 'block') bad('adaround.blockLogitWeight weighs a logit term in block reconstruction: it does nothing with reconstruction "layer"', 'Set reconstruction to block, or blockLogitWeight to 0.');
  if (c.adaround.blockWeightScaleLr > 0 && c.reconstruction !== 'block') bad('adaround.blockWeightScaleLr learns weight scales during block reconstruction: it does nothing with reconstruction "layer"', 'Set reconstruction to block, or blockWeightScaleLr to 0.');
  if (c.adaround.blockBiasLr > 0 && c.reconstruction !== 'block') bad('adaround.blockBiasLr learns biases during block reconstruction: it does nothing with reconstruction "layer"', 'Set reconstruction to block, or blockBiasLr to 0.');
  if (c.equalization && !quantizedActivations) bad('equalization balances channels for the activation grids: it does nothing with float activations (activationBits 32)', 'Set activationBits to 8 or 4, or turn equalization off.');
  if (c.qdrop && c.reconstruction !== 'block') bad('qdrop drops activation quantization during block reconstruction: it does nothing with reconstruction "layer"', 'Set reconstruction to block, or turn qdrop off.');
}

/**
 * Depthwise layers keep 8-bit weights when the others go below 8 bit. A depthwise filter has only
 * kh*kw taps per output channel (9 for 3x3), so a 4-bit grid cannot follow it: measured on nsfwjs'
 * MobileNetV2 (bench/mobilenet.ts --sections sensitivity), its first depthwise layer alone at 4 bit
 * (everything else float) brings the output SQNR to 1.5 dB. They hold ~1-2 % of such a network's
 * weights, so 8 bit costs little size; TFLite/ORT deployments of MobileNets commonly do the same.
 * A per-layer override still sets them.
 */
export function depthwiseKeeps8bit(cfgWeightBits: number, position: { depthwise?: boolean }): boolean {
  return cfgWeightBits < 8 && !!position.depthwise;
}

/**
 * Depthwise layers keep 8-bit inputs when the other activations go below 8 bit. Each output channel reads
 * one input channel, so a per-tensor 4-bit grid (15 steps over the widest channel's range) leaves a narrow
 * channel a few levels, and nothing averages that noise away. Measured on GhostNet-CIFAR W4A4 nearest
 * (bench/quant.ts rows w4a4-nearest-dwa4 vs w4a4-nearest, 128 synthetic images, 10,000 test images; float
 * 88.68): 84.65 with them at 4 bit, 85.98 at 8 bit; its 38 other inner layers' inputs at 8 bit instead would
 * give 86.68, its 15 squeeze-excite ones 84.51. Depthwise layers hold a few percent
 * of a mobile network's multiply-adds, and 4-bit activations have no integer kernel in ONNX Runtime, so the
 * cost is small. A per-layer activationBits override still sets them.
 */
export function depthwiseInputKeeps8bit(cfgActivationBits: number, position: { depthwise?: boolean }): boolean {
  return cfgActivationBits < 8 && !!position.depthwise;
}

/**
 * Target ort-web: depthwise layers read float inputs (their weights quantized, written as float32 values for ORT's float kernels: qdqOnnxExporter.ts floatInputWeights).
 * onnxruntime-web's int8 depthwise QLinearConv is slower than its float conv: MobileNetV2-CIFAR W8A8 ran
 * 0.62x float all-int8 and 1.02x this way, at the same top-1 (docs/benchmarks/ortweb-speed-2026-12-01.json).
 * A per-layer activationBits override still sets them.
 */
export function depthwiseInputFloat(target: DeploymentTarget, position: { depthwise?: boolean }): boolean {
  return target === 'ort-web' && !!position.depthwise;
}

/**
 * Target ort-cpu: 8-bit weights get a 7-bit range (codes -64..63). On x86-64 CPUs without VNNI (AVX2 or
 * AVX-512BW only: Intel before Ice Lake / Cascade Lake, AMD before Zen 4) ONNX Runtime's U8S8 kernels add
 * pairs of uint8 x int8 products in int16 (vpmaddubsw), which saturates once |w0| + |w1| > 128: full-range
 * int8 weights then compute wrong outputs (ResNet-20 W8A8 on an AMD EPYC: 96.4 % top-1 agreement with the
 * same QDQ graph run unoptimized; random MobileNetV2-style net: 38 %). Codes within +-64 cannot saturate, and
 * U8S8 stays the fast kernel on every CPU (U8U8, exact too, ran at 0.9x float there). ORT's quantizer offers the
 * same remedy (reduce_range). Only layers reading 8-bit activations: input codes below 8 bits (<= 15) cannot
 * saturate (15 x 127 x 2 = 3810), and a float input runs a float kernel. Target 'ort-cpu-vnni' keeps the full
 * range for CPUs with VNNI or AMX.
 */
export function portableWeightBits(target: DeploymentTarget, weightBits: number, activationBits: number): number {
  return target === 'ort-cpu' && weightBits === 8 && activationBits === 8 ? 7 : weightBits;
}

/** Bits for one layer after overrides, the first/last rule, the depthwise rules and the target's weight range; null = keep float. */
export function layerBits(cfg: QuantConfig, layer: string, position: { first: boolean; last: boolean; depthwise?: boolean }): { weightBits: number; activationBits: number } | null {
  const o = cfg.overrides[layer] ?? {};
  if (o.float) return null;
  let weightBits: number = cfg.weightBits;
  if (cfg.keepFirstLast8bit && (position.first || position.last)) weightBits = 8;
  if (depthwiseKeeps8bit(cfg.weightBits, position)) weightBits = 8;
  let activationBits: number = cfg.activationBits;
  if (depthwiseInputKeeps8bit(cfg.activationBits, position)) activationBits = 8;
  if (depthwiseInputFloat(cfg.target, position)) activationBits = 32;
  activationBits = o.activationBits ?? activationBits;
  return { weightBits: portableWeightBits(cfg.target, o.weightBits ?? weightBits, activationBits), activationBits };
}
