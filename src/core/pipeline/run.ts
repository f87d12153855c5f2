/**
 * The whole data-free pipeline behind one call, shared by the worker and the CLI:
 * import -> calibration images (BN-statistics synthesis by default) -> quantization -> QDQ ONNX -> report.
 * The caller selects the tfjs backend first (initBackend), since only it knows where the wasm files live.
 */
import * as tf from '@tensorflow/tfjs';
import { cancelledError, isLocalQuantError, LocalQuantError } from '../errors.js';
import { writeOnnx } from '../exporters/onnx/onnxWriter.js';
import { exportTfjsGraphModel } from '../exporters/tfjs/tfjsGraphExporter.js';
import { importModel } from '../importers/index.js';
import { probeModel } from '../runtime/probeForward.js';
import { summarizeGraph } from '../ir/summary.js';
import type { ModelFile } from '../ir/types.js';
import { defaultQuantConfig, validateQuantConfig, type QuantConfig } from '../quant/config.js';
import { currentBackend } from '../runtime/backends.js';
import { ortTopOneAgreement, topOneAgreement } from './agreement.js';
import type { OrtLike } from '../verify/ortLike.js';
import { detectionLayout } from './boxAgreement.js';
import { calibrationSet, type SuppliedCalibration } from './calibrationSet.js';
import type { SynthesisWorkers } from '../synth/parallelSynthesis.js';
import { DETECTION_AGREEMENT_IMAGES, measureBoxAgreement } from './detectionAgreement.js';
import { describeFloatTail, floatTailReport, refuseTfjsWithTail, splitFloatTail, withFloatTail } from './floatTail.js';
import { describeAllocation, planSizeBudget } from '../algos/mixedPrecision/sizeBudget.js';
import { FLOAT_ACTIVATIONS_BELOW_DB, hasEightBitGrids } from './defaults.js';
import { quantizeGraph } from './quantizeGraph.js';
import type { PipelineConfig, PipelineEvent, PipelineResult, QuantizationReport, Stage } from './types.js';
import { validatePipelineConfig } from './validateConfig.js';

export interface RunOptions {
  /**
   * Normalized NCHW calibration images supplied directly (bench: real CIFAR-10 batches), instead of
   * config.calibration; converted to the model's layout and checked against its input shape.
   */
  calibration?: SuppliedCalibration;
  /**
   * An onnxruntime for the forward-only passes (activation ranges, channel-noise rule, agreement on the
   * exported file) instead of our executor; the CLI passes onnxruntime-node (faster on CPU). Synthesis and
   * rounding need gradients or the fake-quantized network and stay on tfjs.
   */
  forwardRuntime?: OrtLike;
  /**
   * Where synthesis batches may run besides this thread (the CLI: a worker thread per core); the report's
   * calibration.workers says how many did.
   */
  synthesisWorkers?: SynthesisWorkers;
}

/** Most calibration images the float-vs-quantized agreement is measured on. */
const AGREEMENT_IMAGES = 128;


export function toQuantConfig(config: PipelineConfig, layerNames?: string[]): QuantConfig {
  const d = defaultQuantConfig();
  return validateQuantConfig(
    {
      ...d,
      weightBits: config.quant.weightBits,
      activationBits: config.quant.activationBits,
      perChannel: config.quant.perChannel,
      rounding: config.quant.rounding,
      activationObserver: config.quant.activationObserver,
      keepFirstLast8bit: config.quant.keepFirstLast8bit,
      biasCorrection: config.quant.biasCorrection,
      adaround: { ...d.adaround, iterations: config.quant.adaroundIterations, ...(config.quant.blockLogitWeight !== undefined ? { blockLogitWeight: config.quant.blockLogitWeight } : {}), ...(config.quant.blockBiasLr !== undefined ? { blockBiasLr: config.quant.blockBiasLr } : {}), ...(config.quant.blockWeightScaleLr !== undefined ? { blockWeightScaleLr: config.quant.blockWeightScaleLr } : {}) },
      overrides: config.quant.overrides,
      seed: config.seed,
      // a TF.js-only export runs no ONNX Runtime kernel: the target whose rules leave the grids as asked
      target: config.export.onnx ? config.quant.target : 'ort-cpu-vnni',
      reconstruction: config.quant.reconstruction,
      qdrop: config.quant.qdrop,
      equalization: config.quant.equalization,
      activationBitsAt: config.quant.activationBitsAt,
    },
    layerNames,
  );
}

export async function runPipeline(
  files: ModelFile[],
  config: PipelineConfig,
  onEvent: (e: PipelineEvent) => void = () => {},
  signal?: AbortSignal,
  options: RunOptions = {},
): Promise<PipelineResult> {
  try {
    return await runStages(files, config, onEvent, signal, options);
  } catch (e) {
    // Whatever a stage threw after a cancel (tfjs errors, an AbortSignal's DOMException) is a cancel.
    if (signal?.aborted && !(isLocalQuantError(e) && e.code === 'CANCELLED')) throw cancelledError();
    throw e;
  }
}

async function runStages(files: ModelFile[], config: PipelineConfig, onEvent: (e: PipelineEvent) => void, signal: AbortSignal | undefined, options: RunOptions): Promise<PipelineResult> {
  const seconds: Record<string, number> = {};
  const timed = async <T>(stage: Stage, f: () => Promise<T> | T): Promise<T> => {
    if (signal?.aborted) throw cancelledError();
    onEvent({ type: 'stage', stage, status: 'start' });
    const t = performance.now();
    const r = await f();
    seconds[stage] = (performance.now() - t) / 1000;
    if (signal?.aborted) throw cancelledError();
    onEvent({ type: 'stage', stage, status: 'end', seconds: seconds[stage] });
    return r;
  };
  validatePipelineConfig(config);
  const sizeBefore = files.reduce((a, f) => a + f.bytes.byteLength, 0);
  const imported = await timed('import', () => importModel(files));
  const summary = summarizeGraph(imported, sizeBefore);
  // A detector's post-processing stays float: everything below works on the network (the head) only.
  const { head: graph, cut } = splitFloatTail(imported, config.floatTail?.until);
  // Damaged weights that pass import checks can still make the outputs NaN/Inf: refuse now, naming the node.
  await probeModel(graph);
  // A detector's scores are no class logits: refused before any synthesis step.
  if (config.calibration.classConditional && (cut || detectionLayout(imported))) {
    throw new LocalQuantError('BAD_CONFIG', 'Class-conditional synthesis needs a classifier, and this model is a detector (its outputs are boxes and scores).', 'Turn class-conditional synthesis off for detectors.');
  }
  const floatTail = floatTailReport(cut, config.floatTail?.until);
  if (floatTail) onEvent({ type: 'log', level: 'info', message: describeFloatTail(floatTail) });
  const backend = currentBackend() ?? { name: tf.getBackend(), reason: 'backend chosen by the caller' };
  onEvent({ type: 'backend', name: backend.name, reason: backend.reason });
  const quantCfg = toQuantConfig(config, graph.nodes.map((n) => n.name));

  // 'synthesis' when images are optimized; 'calibration' when they are read (own images, noise, supplied).
  const synthesizes = !options.calibration && (config.calibration.source === 'synthetic' || config.calibration.source === 'prior-only');
  const cal = await timed(synthesizes ? 'synthesis' : 'calibration', () => calibrationSet(graph, config, onEvent, signal, options.calibration, options.synthesisWorkers));
  // A size budget becomes per-layer weight bits (measured file cost, sensitivity on the calibration images).
  const mixed = config.sizeBudget ? await planSizeBudget(graph, cal.set, quantCfg, config.sizeBudget, sizeBefore, (g) => writeOnnx(withFloatTail(g, cut)), signal) : undefined;
  if (mixed) onEvent({ type: 'log', level: 'info', message: describeAllocation(mixed.report) });
  const q = await timed('rounding', () => quantizeGraph(graph, cal.set, mixed ? { ...quantCfg, overrides: mixed.overrides } : quantCfg, onEvent, signal, { batch: config.calibration.batch, forwardRuntime: options.forwardRuntime, floatOutputs: !!(cut || detectionLayout(imported)), floatActivationsBelowDb: floatBelowDb(config), integerWeightsOnly: !!mixed, onnxExport: config.export.onnx }));
  seconds.ranges = q.seconds.ranges;
  seconds.channelNoise = q.seconds.channelNoise;
  if (q.seconds.equalization !== undefined) seconds.equalization = q.seconds.equalization;
  const { onnx, tfjs, tfjsFailure } = await timed('export', () => {
    const onnxBytes = config.export.onnx ? writeOnnx(withFloatTail(q.qdq, cut)) : undefined;
    if (!config.export.tfjs) return { onnx: onnxBytes };
    // With ONNX on, the ONNX export is the primary result: a model the TF.js exporter cannot express still gets it.
    try {
      refuseTfjsWithTail(cut);
      return { onnx: onnxBytes, tfjs: exportTfjsGraphModel(q.folded, q.plan) };
    } catch (e) {
      if (!onnxBytes) throw e;
      const failure = `TF.js export skipped: ${(e as Error).message}`;
      onEvent({ type: 'log', level: 'warn', message: failure });
      return { onnx: onnxBytes, tfjsFailure: failure };
    }
  });
  // A detector is judged by its boxes (float tail included), a classifier by its top-1 class.
  const boxes = cut || detectionLayout(imported)
    ? await timed('evaluation', () => measureBoxAgreement(withFloatTail(q.folded, cut), withFloatTail(q.qdq, cut), cal.set, { limit: DETECTION_AGREEMENT_IMAGES, signal }))
    : undefined;
  // On the exported file where an onnxruntime was given and the file is ONNX; else our executor on the plan.
  const ortAgreement = !boxes && options.forwardRuntime && onnx ? options.forwardRuntime : undefined;
  const measured = boxes ?? (await timed('evaluation', () => (ortAgreement ? ortTopOneAgreement(ortAgreement, q.folded, onnx!, cal.set, AGREEMENT_IMAGES, signal) : topOneAgreement(q.folded, q.qdq, cal.set, AGREEMENT_IMAGES, signal))));
  const agreementOn = { images: measured.images, method: cal.info.method, runtime: ortAgreement ? `${ortAgreement.name} on the exported file` : `LocalQuant executor (tfjs ${backend.name})`, metric: boxes ? ('boxes' as const) : ('top-1' as const) };

  const tfjsFiles = tfjs ? [{ name: 'model.json', bytes: new TextEncoder().encode(JSON.stringify(tfjs.modelJson)) }, ...tfjs.files] : undefined;
  const quantizedBytes = onnx ? onnx.byteLength : (tfjsFiles ?? []).reduce((a, f) => a + f.bytes.byteLength, 0);
  const notes: string[] = [];
  if (cal.info.message) notes.push(cal.info.message);
  if (tfjs) notes.push(...tfjs.notes);
  if (tfjsFailure) notes.push(tfjsFailure);
  notes.push(...q.notes);
  const nearestAnyway = q.layers.filter((l) => l.rounding === 'nearest' && config.quant.rounding === 'adaptive').map((l) => l.name);
  if (nearestAnyway.length) notes.push(`Adaptive rounding was asked, but ${nearestAnyway.length} layer(s) used round-to-nearest: ${nearestAnyway.slice(0, 5).join(', ')}${nearestAnyway.length > 5 ? ', ...' : ''} (see layers[].rounding).`);
  if (!onnx) notes.push('Sizes are those of the TF.js files (ONNX export off).');
  // A detector's ranges decide which scores cross its threshold (NanoDet W8A8 on 64 CIFAR-10 mosaics: calibrated on 9
  // photos 78 %, on 16 mosaics of the evaluated kind 84 %, 86 % with the percentile observer; README "Detectors").
  if (boxes && (cal.synthesized || cal.info.method === 'noise')) notes.push(`This detector was calibrated on ${cal.synthesized ? 'synthetic' : 'noise'} images; its box agreement depends on activation ranges that fit the images it will see: calibrate on your own photographs (CLI --calibration images:DIR, or "my own images" in the app).`);
  // NanoDet on 64 CIFAR-10 mosaics (docs/benchmarks/detectors-*-2026-12-01.json): weights alone (W8A32) kept 89 % of
  // the boxes with nearest rounding and 97 % with adaptive; the activation threshold trades boxes for speed.
  if (boxes && config.quant.rounding === 'nearest') notes.push('This detector\'s weights were rounded to nearest. Box agreement is sensitive to weight rounding: adaptive rounding (CLI --rounding adaptive) kept 97 % of NanoDet\'s boxes with 8-bit weights and float activations where nearest kept 89 %.');
  const threshold = floatBelowDb(config);
  if (boxes && boxes.floatDetections > 0 && boxes.agreement < 0.9 && threshold !== null && threshold < 30 && (config.quant.activationBits === 8)) notes.push(`Box agreement is ${(100 * boxes.agreement).toFixed(1)} %. A higher quant.floatActivationsBelowDb (now ${threshold} dB; CLI --float-below-db) keeps more activations float: closer to the float model, fewer integer kernels (NanoDet W8A8, adaptive rounding, 64 CIFAR-10 mosaics: 20 dB kept 85.0 % of the boxes at 2.45x the float model's speed in onnxruntime-node, 30 dB 94.6 % at 0.80x).`);
  if (boxes && boxes.floatDetections === 0) notes.push(`The float model detected nothing above score ${boxes.scoreThreshold} on the ${boxes.images} calibration images, so box agreement (reported as 100%) says nothing here, and activation ranges calibrated on such images may clip real detections: calibrate on your own photographs.`);
  const applied = appliedConfig(config, backend.name, cal.info, cal.synthesized, q.batch, q.layers.some((l) => l.rounding === 'adaptive'));
  // Applied only where some channel group moved (ReLU6/hard-swish networks have few groups, or none).
  applied.quant.equalization = !!q.equalization && q.equalization.rescaled > 0;
  // the rule judges 8-bit grids only: recorded where there are some
  if (hasEightBitGrids(config.quant)) applied.quant.floatActivationsBelowDb = floatBelowDb(config);
  if (config.quant.equalization && !applied.quant.equalization) notes.push('Cross-layer equalization was asked, but no channel group could be rescaled: every channel between two convs passes an op a per-channel scale does not commute with (ReLU6, hard-swish, a residual Add) or is balanced already. Nothing was changed (config.quant.equalization: false).');
  if (mixed) {
    applied.quant.overrides = mixed.overrides;
    seconds.mixedPrecision = mixed.report.seconds;
    if (quantizedBytes > mixed.report.budget.bytesAllowed) notes.push(`The file is ${quantizedBytes} bytes, over the ${mixed.report.budget.bytesAllowed}-byte budget (predicted ${mixed.report.predictedBytes}).`);
  }
  const report: QuantizationReport = {
    version: 1,
    tool: 'localquant',
    createdAt: new Date().toISOString(),
    model: { name: files[0]?.name ?? 'model', format: summary.format, sizeBytes: sizeBefore, batchNormCount: summary.batchNormCount },
    config: applied,
    backend: { name: backend.name, reason: backend.reason },
    forwardEngine: q.forwardEngine,
    calibration: cal.info,
    layers: q.layers,
    ...(q.blocks ? { blocks: q.blocks } : {}),
    activations: Object.fromEntries(Object.entries(q.activations).map(([k, v]) => [k, { scale: v.scale, zeroPoint: v.zeroPoint, bits: v.bits, signed: v.signed }])),
    sizes: { floatBytes: sizeBefore, quantizedBytes, ratio: quantizedBytes / sizeBefore },
    agreement: measured.agreement,
    agreementOn,
    ...(boxes ? { boxAgreement: boxes } : {}),
    ...(floatTail ? { floatTail } : {}),
    ...(q.activationFallback.float.length ? { floatActivations: q.activationFallback.float } : {}),
    ...(q.equalization ? { equalization: q.equalization } : {}),
    ...(mixed ? { mixedPrecision: mixed.report } : {}),
    seconds,
    notes,
  };
  return {
    version: 1, ...(onnx ? { onnx } : {}), report, sizeBefore, sizeAfter: quantizedBytes, agreement: measured.agreement, agreementOn, config: applied,
    plan: q.plan, folded: q.folded, floatModel: withFloatTail(q.folded, cut), calibration: { ...cal.set, method: cal.info.method },
    ...(tfjsFiles ? { tfjs: { files: tfjsFiles } } : {}),
  };
}

/**
 * The configuration as it was applied: the backend that ran, the calibration source, image count and steps
 * actually used (steps 0 when nothing was synthesized), the batch quantization ran with (the memory budget
 * may lower it; the synthesis batch is report.calibration.batch), iterations 0 when no layer used adaptive
 * rounding. Own images are counted in report.calibration, not copied into the report.
 */
/** The channel-noise threshold asked for, or the default. */
function floatBelowDb(config: PipelineConfig): number | null {
  return config.quant.floatActivationsBelowDb === undefined ? FLOAT_ACTIVATIONS_BELOW_DB : config.quant.floatActivationsBelowDb;
}

function appliedConfig(config: PipelineConfig, backend: string, cal: QuantizationReport['calibration'], synthesized: boolean, quantBatch: number, anyAdaptive: boolean): PipelineConfig {
  const { userImages: _images, userImagesFrom: _from, ...calibration } = config.calibration;
  const source = cal.method === 'bn-statistics' ? 'synthetic' : (cal.method as PipelineConfig['calibration']['source']);
  return {
    ...config,
    backend: backend as PipelineConfig['backend'],
    calibration: { ...calibration, source, images: cal.images, steps: synthesized ? (cal.steps ?? 0) : 0, batch: Math.min(quantBatch, cal.images) },
    quant: { ...config.quant, adaroundIterations: anyAdaptive ? config.quant.adaroundIterations : 0, ...(config.export.onnx ? {} : { target: undefined }) },
  };
}
