/**
 * The whole data-free pipeline behind one call, shared by the worker and the CLI:
 * import -> calibration images (BN-statistics synthesis by default) -> quantization -> QDQ ONNX -> report.
 * The caller selects the tfjs backend first (initBackend), since only it knows where the wasm files live.
 */
import * as tf from '@tensorflow/tfjs';
import { LocalQuantError } from '../errors.js';
import { writeOnnx } from '../exporters/onnx/onnxWriter.js';
import { exportTfjsGraphModel } from '../exporters/tfjs/tfjsGraphExporter.js';
import { importModel } from '../importers/index.js';
import { summarizeGraph } from '../ir/summary.js';
import type { Graph, ModelFile } from '../ir/types.js';
import { defaultQuantConfig, validateQuantConfig, type QuantConfig } from '../quant/config.js';
import { currentBackend } from '../runtime/backends.js';
import { GraphExecutor } from '../runtime/executor.js';
import { findImageInput, noiseImages, synthesizeImages, userImagesResult } from '../synth/index.js';
import type { SynthesisResult } from '../synth/index.js';
import { quantizeGraph, type CalibrationSet } from './quantizeGraph.js';
import type { PipelineConfig, PipelineEvent, PipelineResult, QuantizationReport } from './types.js';

export interface RunOptions {
  /** Calibration images supplied directly (CLI: real images from a CIFAR-10 file), bypassing synthesis. */
  calibration?: CalibrationSet & { method: string };
}

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
      adaround: { ...d.adaround, iterations: config.quant.adaroundIterations },
      overrides: config.quant.overrides,
      seed: config.seed,
    },
    layerNames,
  );
}

function toNhwc(images: Float32Array, [n, c, h, w]: number[]): Float32Array {
  const out = new Float32Array(images.length);
  for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[((b * h + y) * w + x) * c + ch] = images[((b * c + ch) * h + y) * w + x];
  return out;
}

async function calibrationImages(graph: Graph, config: PipelineConfig, onEvent: (e: PipelineEvent) => void, signal?: AbortSignal): Promise<{ set: CalibrationSet; synth: SynthesisResult }> {
  const input = findImageInput(graph);
  const norm = { mean: config.normalization.mean, std: config.normalization.std };
  const common = { numImages: config.calibration.images, batchSize: config.calibration.batch, steps: config.calibration.steps, seed: config.seed, normalization: norm };
  let synth: SynthesisResult;
  const src = config.calibration.source;
  if (src === 'noise') synth = noiseImages(input.imageShape, common);
  else if (src === 'user-images') {
    const imgs = config.calibration.userImages ?? [];
    if (!imgs.length) throw new LocalQuantError('BAD_CONFIG', 'Calibration source is "my own images" but no images were given.', 'Pick a folder of images, or choose synthetic calibration.');
    synth = userImagesResult(imgs.map((i) => ({ width: i.width, height: i.height, data: i.rgba })), input.imageShape, { ...common, numImages: imgs.length });
  } else {
    synth = await synthesizeImages(graph, { ...common, method: src === 'prior-only' ? 'prior-only' : 'auto' }, (e) => onEvent(e as PipelineEvent), signal);
    if (synth.message) onEvent({ type: 'log', level: 'warn', message: synth.message });
  }
  const images = input.layout === 'NHWC' ? toNhwc(synth.images, synth.shape) : synth.images;
  const [n, c, h, w] = synth.shape;
  return { set: { images, shape: input.layout === 'NHWC' ? [n, h, w, c] : [n, c, h, w] }, synth };
}

/** Top-1 agreement between two graphs on the calibration images (classification outputs). */
async function topOneAgreement(a: Graph, b: Graph, cal: CalibrationSet, limit = 128): Promise<number> {
  const n = Math.min(limit, cal.shape[0]);
  const per = cal.shape.slice(1).reduce((x, y) => x * y, 1);
  const ea = new GraphExecutor(a);
  const eb = new GraphExecutor(b);
  try {
    let same = 0;
    let total = 0;
    for (let s = 0; s < n; s += 32) {
      const m = Math.min(32, n - s);
      const x = tf.tensor(cal.images.subarray(s * per, (s + m) * per), [m, ...cal.shape.slice(1)]);
      const ra = ea.execute({ [a.inputs[0].name]: x });
      const rb = eb.execute({ [b.inputs[0].name]: x });
      const oa = ra.outputs.get(a.outputs[0].name)!;
      const ob = rb.outputs.get(b.outputs[0].name)!;
      const [pa, pb] = tf.tidy(() => [oa.reshape([m, -1]).argMax(1), ob.reshape([m, -1]).argMax(1)]);
      const da = await pa.data();
      const db = await pb.data();
      for (let i = 0; i < m; i++) if (da[i] === db[i]) same++;
      total += m;
      tf.dispose([x, pa, pb, ...ra.outputs.values(), ...rb.outputs.values()]);
    }
    return total ? same / total : 0;
  } finally {
    ea.dispose();
    eb.dispose();
  }
}

export async function runPipeline(
  files: ModelFile[],
  config: PipelineConfig,
  onEvent: (e: PipelineEvent) => void = () => {},
  signal?: AbortSignal,
  options: RunOptions = {},
): Promise<PipelineResult> {
  const seconds: Record<string, number> = {};
  const timed = async <T>(stage: 'import' | 'synthesis' | 'calibration' | 'rounding' | 'export' | 'evaluation', f: () => Promise<T> | T): Promise<T> => {
    onEvent({ type: 'stage', stage, status: 'start' });
    const t = performance.now();
    const r = await f();
    seconds[stage] = (performance.now() - t) / 1000;
    onEvent({ type: 'stage', stage, status: 'end', seconds: seconds[stage] });
    return r;
  };
  const sizeBefore = files.reduce((a, f) => a + f.bytes.byteLength, 0);
  const graph = await timed('import', () => importModel(files));
  const summary = summarizeGraph(graph, sizeBefore);
  const backend = currentBackend() ?? { name: tf.getBackend(), reason: 'backend chosen by the caller' };
  onEvent({ type: 'backend', name: backend.name, reason: backend.reason });
  const quantCfg = toQuantConfig(config, graph.nodes.map((n) => n.name));

  let cal: CalibrationSet;
  let calInfo: QuantizationReport['calibration'];
  if (options.calibration) {
    cal = options.calibration;
    calInfo = { method: options.calibration.method, images: cal.shape[0], seconds: 0 };
  } else {
    const r = await timed('synthesis', () => calibrationImages(graph, config, onEvent, signal));
    cal = r.set;
    calInfo = { method: r.synth.method, images: cal.shape[0], message: r.synth.message, startBnLoss: r.synth.startBnLoss, endBnLoss: r.synth.endBnLoss, seconds: r.synth.seconds };
  }
  const q = await timed('rounding', () => quantizeGraph(graph, cal, quantCfg, onEvent, signal));
  seconds.ranges = q.seconds.ranges;
  const onnx = await timed('export', () => writeOnnx(q.qdq));
  let tfjs: ReturnType<typeof exportTfjsGraphModel> | undefined;
  let tfjsFailure: string | undefined;
  if (config.export.tfjs) {
    // The ONNX export is the primary result: a model the TF.js exporter cannot express still gets it.
    try {
      tfjs = exportTfjsGraphModel(q.folded, q.plan);
    } catch (e) {
      tfjsFailure = `TF.js export skipped: ${(e as Error).message}`;
      onEvent({ type: 'log', level: 'warn', message: tfjsFailure });
    }
  }
  const agreement = await timed('evaluation', () => topOneAgreement(q.folded, q.qdq, cal));
  const notes: string[] = [];
  if (calInfo.message) notes.push(calInfo.message);
  if (tfjs) notes.push(...tfjs.notes);
  if (tfjsFailure) notes.push(tfjsFailure);
  if (q.layers.some((l) => l.rounding === 'nearest' && config.quant.rounding === 'adaptive')) notes.push('Grouped/depthwise convolutions use round-to-nearest (adaptive rounding is implemented for group 1 only).');
  const report: QuantizationReport = {
    version: 1,
    tool: 'localquant',
    createdAt: new Date().toISOString(),
    model: { name: files[0]?.name ?? 'model', format: summary.format, sizeBytes: sizeBefore, batchNormCount: summary.batchNormCount },
    config,
    backend: { name: backend.name, reason: backend.reason },
    calibration: calInfo,
    layers: q.layers,
    activations: Object.fromEntries(Object.entries(q.activations).map(([k, v]) => [k, { scale: v.scale, zeroPoint: v.zeroPoint, bits: v.bits, signed: v.signed }])),
    sizes: { floatBytes: sizeBefore, quantizedBytes: onnx.byteLength, ratio: onnx.byteLength / sizeBefore },
    agreement,
    seconds,
    notes,
  };
  const tfjsFiles = tfjs ? [{ name: 'model.json', bytes: new TextEncoder().encode(JSON.stringify(tfjs.modelJson)) }, ...tfjs.files] : undefined;
  return { version: 1, onnx, report, sizeBefore, sizeAfter: onnx.byteLength, agreement, config, plan: q.plan, folded: q.folded, ...(tfjsFiles ? { tfjs: { files: tfjsFiles } } : {}) };
}
