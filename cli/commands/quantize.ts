import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { cifar10Batch, parseCifar10 } from '../../src/core/data/cifar10.js';
import { defaultPipelineConfig } from '../../src/core/pipeline/defaults.js';
import { runPipeline, type RunOptions } from '../../src/core/pipeline/run.js';
import type { PipelineConfig, PipelineEvent } from '../../src/core/pipeline/types.js';
import { initBackend, type BackendPreference } from '../../src/core/runtime/backends.js';
import { readModelFiles } from '../lib/readModelFiles.js';
import { UsageError, parseArgs } from '../lib/usage.js';
import { positiveInt, triple } from './eval.js';

export const help = `localquant quantize MODEL -o OUT [options]

Quantizes MODEL (.onnx, or a TF.js model.json with its shards) with no dataset: calibration images are
synthesized from the model's BatchNorm statistics, weights are rounded layer by layer to minimize each
layer's output error, and a QDQ ONNX model is written to OUT (a .onnx path, or a folder).

Options:
  -o, --out PATH          output .onnx file or folder (model.quant.onnx and report.json go there)
  --wbits 8|4|3|2         weight bits (default 8)
  --abits 8|4|32          activation bits, 32 = float (default 8)
  --rounding adaptive|nearest   (default adaptive)
  --calibration SRC       synthetic (default) | noise | prior-only | cifar10:FILE (real images, reference only)
  --images N              calibration images (default 256)
  --steps N               synthesis steps per batch (default 80)
  --iters N               adaptive-rounding iterations per layer (default 1000)
  --keep-first-last-8bit  keep the first and the last layer at 8-bit weights
  --observer mse|percentile|minmax   activation range choice (default mse)
  --mean r,g,b --std r,g,b   input normalization (default ImageNet/CIFAR fixture: 0.485,0.456,0.406 / 0.229,0.224,0.225)
  --format onnx|tfjs      export format (default onnx). tfjs: OUT is a folder that receives a TF.js graph
                          model (model.json + group1-shard*.bin; weights as per-tensor uint8/uint16,
                          activations float) and report.json
  --report FILE           where to write the report JSON (default beside the model)
  --seed N                seed of synthesis and sampling (default 0)
  --backend wasm|cpu|auto tfjs backend (default wasm)
  --quiet                 no progress lines`;

export async function run(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgs(argv, {
    o: 'string', out: 'string', wbits: 'string', abits: 'string', rounding: 'string', calibration: 'string', images: 'string', steps: 'string', iters: 'string',
    'keep-first-last-8bit': 'boolean', observer: 'string', mean: 'string', std: 'string', format: 'string', report: 'string', seed: 'string', backend: 'string', quiet: 'boolean',
  });
  if (positional.length !== 1) throw new UsageError('needs exactly one MODEL path');
  const out = (flags.o ?? flags.out) as string | undefined;
  if (!out) throw new UsageError('needs -o OUT');
  const cfg: PipelineConfig = defaultPipelineConfig();
  const wbits = Number(flags.wbits ?? 8);
  if (![2, 3, 4, 8].includes(wbits)) throw new UsageError(`--wbits must be 8, 4, 3 or 2; got ${flags.wbits}`);
  const abits = Number(flags.abits ?? 8);
  if (![4, 8, 32].includes(abits)) throw new UsageError(`--abits must be 8, 4 or 32 (float); got ${flags.abits}`);
  const rounding = String(flags.rounding ?? 'adaptive');
  if (rounding !== 'adaptive' && rounding !== 'nearest') throw new UsageError(`--rounding must be adaptive or nearest; got ${rounding}`);
  const observer = String(flags.observer ?? 'mse');
  if (!['mse', 'percentile', 'minmax'].includes(observer)) throw new UsageError(`--observer must be mse, percentile or minmax`);
  const format = String(flags.format ?? 'onnx');
  if (format !== 'onnx' && format !== 'tfjs') throw new UsageError(`--format must be onnx or tfjs; got ${format}`);
  if (format === 'tfjs' && extname(out).toLowerCase() === '.onnx') throw new UsageError('--format tfjs writes a folder: give -o a folder, not a .onnx path');
  cfg.export = { onnx: true, tfjs: format === 'tfjs' };
  cfg.quant = { ...cfg.quant, weightBits: wbits as 8, activationBits: abits as 8, rounding, activationObserver: observer as 'mse', keepFirstLast8bit: !!flags['keep-first-last-8bit'], adaroundIterations: positiveInt(flags.iters, 1000, 'iters') };
  cfg.seed = flags.seed === undefined ? 0 : positiveInt(String(Number(flags.seed) + 1), 1, 'seed') - 1;
  cfg.normalization = { mean: triple(flags.mean, cfg.normalization.mean, 'mean'), std: triple(flags.std, cfg.normalization.std, 'std'), pixelRange: 255 };
  cfg.calibration = { ...cfg.calibration, images: positiveInt(flags.images, 256, 'images'), steps: positiveInt(flags.steps, 80, 'steps') };
  cfg.backend = String(flags.backend ?? 'wasm') as BackendPreference;
  const calib = String(flags.calibration ?? 'synthetic');
  const options: RunOptions = {};
  if (calib.startsWith('cifar10:')) {
    const set = parseCifar10(new Uint8Array(readFileSync(calib.slice('cifar10:'.length))));
    // The file is sorted by class: take an evenly spread subset.
    const n = Math.min(cfg.calibration.images, set.count);
    const idx = Array.from({ length: n }, (_, i) => Math.floor((i * set.count) / n));
    const b = cifar10Batch(set, idx, cfg.normalization.mean, cfg.normalization.std);
    options.calibration = { images: b.images, shape: [n, 3, 32, 32], method: 'real (cifar10)' };
  } else if (['synthetic', 'noise', 'prior-only'].includes(calib)) cfg.calibration.source = calib as 'synthetic';
  else throw new UsageError(`--calibration must be synthetic, noise, prior-only or cifar10:FILE; got ${calib}`);

  const info = await initBackend(cfg.backend);
  const files = readModelFiles(positional[0]);
  const quiet = !!flags.quiet;
  const t0 = performance.now();
  let lastStep = 0;
  const onEvent = (e: PipelineEvent) => {
    if (quiet) return;
    if (e.type === 'stage' && e.status === 'end') console.log(`[${((performance.now() - t0) / 1000).toFixed(1)}s] ${e.stage} done in ${e.seconds?.toFixed(1)} s`);
    else if (e.type === 'synth-step' && (e.step === e.steps - 1 || performance.now() - lastStep > 5000)) {
      lastStep = performance.now();
      console.log(`  synthesis batch ${e.batch + 1}/${e.batches} step ${e.step + 1}/${e.steps} BN loss ${e.bnLoss.toFixed(3)}`);
    } else if (e.type === 'layer' && e.status === 'done' && e.nearestError !== undefined) console.log(`  ${e.name}: output error nearest ${e.nearestError.toExponential(2)} -> chosen ${e.adaptiveError?.toExponential(2)}`);
    else if (e.type === 'log') console.log(`  ${e.level}: ${e.message}`);
  };
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  const result = await runPipeline(files, cfg, onEvent, controller.signal, options);
  if (format === 'tfjs') {
    mkdirSync(out, { recursive: true });
    for (const f of result.tfjs?.files ?? []) writeFileSync(join(out, f.name), f.bytes);
    const reportPath = (flags.report as string | undefined) ?? join(out, 'report.json');
    writeFileSync(reportPath, JSON.stringify(result.report, null, 2));
    const bytes = (result.tfjs?.files ?? []).reduce((a, f) => a + f.bytes.byteLength, 0);
    console.log(`backend ${info.name}; wrote TF.js graph model to ${out} (${bytes} bytes, ${((100 * bytes) / result.sizeBefore).toFixed(1)}% of ${result.sizeBefore}); report ${reportPath}`);
    for (const n of result.report.notes) console.log(`  note: ${n}`);
    console.log(`top-1 agreement with the float model on the calibration images: ${(100 * result.agreement).toFixed(1)}%; total ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return 0;
  }
  const isFile = extname(out).toLowerCase() === '.onnx';
  const onnxPath = isFile ? out : join(out, `${basename(positional[0]).replace(/\.(onnx|json)$/i, '')}.quant.onnx`);
  if (!isFile) mkdirSync(out, { recursive: true });
  writeFileSync(onnxPath, result.onnx);
  const reportPath = (flags.report as string | undefined) ?? onnxPath.replace(/\.onnx$/i, '.report.json');
  writeFileSync(reportPath, JSON.stringify(result.report, null, 2));
  console.log(`backend ${info.name}; wrote ${onnxPath} (${result.sizeAfter} bytes, ${(100 * result.report.sizes.ratio).toFixed(1)}% of ${result.sizeBefore}); report ${reportPath}`);
  console.log(`top-1 agreement with the float model on the calibration images: ${(100 * result.agreement).toFixed(1)}%; total ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return 0;
}
