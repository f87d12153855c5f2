/**
 * bench:export's labelled MobileNetV2 (mobilenetv2-224-cifar): nsfwjs's Keras MobileNetV2 backbone with the
 * committed CIFAR-10 linear probe (src/core/testing/mobileNetV2CifarProbe.ts, models/mobilenetv2-cifar-probe/),
 * quantized W8A8 for target ort-cpu by the whole pipeline as a user runs it (runPipeline, the W8A8 defaults:
 * round to nearest, MSE ranges, channel-noise activation rule), on
 *  - synthetic images (data-free): a cached set of BN-statistics images if --synthetic names one (64 x 40
 *    steps at 224 px takes over an hour on this shared 2-core machine), else synthesized with the defaults;
 *  - the same synthetic images with every activation 8-bit (quantizeGraph with the channel-noise rule off: no
 *    conv left float, the form that runs fastest; the rule is not a pipeline setting, hence quantizeGraph);
 *  - as a reference row only, 64 real CIFAR-10 training images upsampled (not the probe's training records).
 * Images are prepared as the probe was fit: CIFAR-10 32x32 -> 224x224 bilinear, pixels / 255.
 */
import { existsSync, readFileSync } from 'node:fs';
import { cifar10RecordRgba } from '../../cli/lib/calibrationImages.js';
import type { Cifar10Set } from '../../src/core/data/cifar10.js';
import { evaluationImages } from '../../src/core/data/evaluationImages.js';
import { nchwToNhwc } from '../../src/core/data/layout.js';
import { writeOnnx } from '../../src/core/exporters/onnx/onnxWriter.js';
import { qdqOptionsForTarget } from '../../src/core/exporters/qdq/deploymentTargets.js';
import { buildQdqGraph } from '../../src/core/exporters/qdq/qdqOnnxExporter.js';
import { importModel } from '../../src/core/importers/index.js';
import type { Graph, ModelFile } from '../../src/core/ir/types.js';
import { defaultPipelineConfig } from '../../src/core/pipeline/defaults.js';
import { quantizeGraph } from '../../src/core/pipeline/quantizeGraph.js';
import { runPipeline, toQuantConfig } from '../../src/core/pipeline/run.js';
import type { PipelineConfig, PipelineEvent } from '../../src/core/pipeline/types.js';
import type { DeploymentTarget } from '../../src/core/quant/config.js';
import { prepareUserImages } from '../../src/core/synth/userImages.js';
import { unitPixelNormalization } from '../../src/core/synth/pixelRange.js';
import { PROBE_NORMALIZATION } from '../../src/core/testing/mobileNetV2CifarProbe.js';

const SIZE = 224;

/** One pipeline export, with what the pipeline's report says about it. */
export interface PipelineExport {
  variant: string;
  target: DeploymentTarget;
  bytes: Uint8Array;
  calibration: string;
  /** Pipeline wall seconds by stage (report.seconds). */
  seconds: Record<string, number>;
  /** Per-layer output SQNR on the calibration images (report.layers), lowest first. */
  layers: { name: string; sqnrDb: number | null }[];
  floatActivations: { value: string; reason: string }[];
  notes: string[];
}

/** CIFAR-10 records `idx` upsampled to the graph's input in its layout, prepared in chunks (one 224 image is 600 KB). */
export function upsampledCifar(graph: Graph, set: Cifar10Set, idx: number[]): { images: Float32Array; shape: number[] } {
  const per = 3 * SIZE * SIZE;
  const images = new Float32Array(idx.length * per);
  let shape: number[] = [];
  for (let s = 0; s < idx.length; s += 100) {
    const part = evaluationImages(graph, idx.slice(s, s + 100).map((r) => cifar10RecordRgba(set.bytes, r)), PROBE_NORMALIZATION);
    images.set(part.images, s * per);
    shape = part.shape;
  }
  return { images, shape: [idx.length, ...shape.slice(1)] };
}

/** The pipeline's defaults (W8A8) for this model's input normalization, on `images` calibration images. */
export function pipelineConfig(images: number, steps: number): PipelineConfig {
  const d = defaultPipelineConfig();
  return { ...d, backend: 'wasm', normalization: PROBE_NORMALIZATION, calibration: { ...d.calibration, source: 'synthetic', images, steps } };
}

export async function exportOf(files: ModelFile[], variant: string, cfg: PipelineConfig, supplied?: { images: Float32Array; shape: number[]; method: string }): Promise<PipelineExport> {
  const t0 = performance.now();
  const onEvent = (e: PipelineEvent) => {
    if (e.type === 'stage' && e.status === 'end') console.log(`[${((performance.now() - t0) / 1000).toFixed(0)}s] mobilenetv2-224-cifar ${variant}: ${e.stage} ${e.seconds?.toFixed(0)} s`);
  };
  const r = await runPipeline(files, cfg, onEvent, undefined, supplied ? { calibration: supplied } : {});
  const layers = r.report.layers.map((l) => ({ name: l.name, sqnrDb: l.sqnrDb ?? null })).sort((a, b) => (a.sqnrDb ?? Infinity) - (b.sqnrDb ?? Infinity));
  return {
    variant, target: r.config.quant.target ?? 'ort-cpu', bytes: r.onnx!, calibration: `${r.report.calibration.method}, ${r.report.calibration.images} images`,
    seconds: r.report.seconds, layers, floatActivations: r.report.floatActivations ?? [], notes: r.report.notes,
  };
}

/** A synthetic set as bench/mobilenet.ts caches it: raw float32 NCHW [images, 3, 224, 224] + .json (images, steps, BN loss). */
export function cachedSynthetic(path: string, maxImages = 64): { images: Float32Array; n: number; steps: number; method: string } {
  const meta = JSON.parse(readFileSync(path.replace(/\.f32$/, '.json'), 'utf8')) as { images: number; steps: number; endBnLoss: number };
  const b = readFileSync(path);
  const n = Math.min(meta.images, maxImages);
  const images = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + n * 3 * SIZE * SIZE * 4));
  return { images, n, steps: meta.steps, method: `synthetic (BN statistics, data-free), cached ${meta.images} x ${meta.steps} steps, BN loss ${meta.endBnLoss.toFixed(0)}` };
}

/** The pipeline's quantization stage with the channel-noise rule off (every activation on its 8-bit grid). */
async function allActivationsQuantized(files: ModelFile[], cfg: PipelineConfig, nchw: Float32Array, n: number, method: string): Promise<PipelineExport> {
  const graph = importModel(files);
  const t0 = performance.now();
  const q = await quantizeGraph(graph, { images: nchwToNhwc(nchw, [n, 3, SIZE, SIZE]), shape: [n, SIZE, SIZE, 3] }, toQuantConfig(cfg, graph.nodes.map((x) => x.name)), () => {}, undefined, { floatActivationsBelowDb: null });
  const seconds = (performance.now() - t0) / 1000;
  console.log(`mobilenetv2-224-cifar W8A8 synthetic, every activation 8-bit: quantized in ${seconds.toFixed(0)} s`);
  const layers = q.layers.map((l) => ({ name: l.name, sqnrDb: l.sqnrDb ?? null })).sort((a, b) => (a.sqnrDb ?? Infinity) - (b.sqnrDb ?? Infinity));
  return {
    variant: 'W8A8 synthetic, all act. 8-bit', target: 'ort-cpu', bytes: writeOnnx(buildQdqGraph(q.folded, q.plan, qdqOptionsForTarget('ort-cpu'))),
    calibration: `${method}, ${n} images; channel-noise rule off`, seconds: { quantizeGraph: seconds }, layers, floatActivations: q.activationFallback.float, notes: [],
  };
}

/**
 * W8A8 ort-cpu exports: data-free (the cached synthetic set at `synthetic` if it exists: raw float32 NCHW
 * [64, 3, 224, 224] as bench/mobilenet.ts writes, with its .json beside; else the pipeline's own synthesis)
 * and the real-image reference.
 */
export async function mobileNetV2CifarExports(files: ModelFile[], train: Cifar10Set, synthetic: string, maxImages = 64): Promise<PipelineExport[]> {
  const out: PipelineExport[] = [];
  if (existsSync(synthetic)) {
    const { images, n, steps, method } = cachedSynthetic(synthetic, maxImages);
    const meta = { steps };
    out.push(await exportOf(files, 'W8A8 synthetic', pipelineConfig(n, meta.steps), { images, shape: [n, 3, SIZE, SIZE], method }));
    out.push(await allActivationsQuantized(files, pipelineConfig(n, meta.steps), images, n, method));
  } else {
    const d = defaultPipelineConfig().calibration;
    out.push(await exportOf(files, 'W8A8 synthetic', pipelineConfig(Math.min(d.images, maxImages), d.steps)));
  }
  // Reference: 64 real training images, offset by 2 from the probe's records floor(i * count / 10000).
  const nReal = Math.min(64, maxImages);
  const idx = Array.from({ length: nReal }, (_, i) => Math.floor((i * train.count) / nReal) + 2);
  const rgba = idx.map((r) => cifar10RecordRgba(train.bytes, r));
  const real = prepareUserImages(rgba.map((i) => ({ width: i.width, height: i.height, data: i.rgba })), [3, SIZE, SIZE], { normalization: unitPixelNormalization(PROBE_NORMALIZATION) });
  out.push(await exportOf(files, 'W8A8 real (reference)', pipelineConfig(nReal, 1), { images: real, shape: [nReal, 3, SIZE, SIZE], method: 'CIFAR-10 training images upsampled' }));
  return out;
}
