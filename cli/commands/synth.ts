import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Graph } from '../../src/core/ir/types.js';
import { importModel } from '../../src/core/importers/index.js';
import { initBackend, type BackendPreference } from '../../src/core/runtime/backends.js';
import { IMAGENET_NORMALIZATION, type Normalization } from '../../src/core/synth/options.js';
import { imageToRgba } from '../../src/core/synth/preview.js';
import type { SynthProgressEvent } from '../../src/core/synth/progress.js';
import { synthesizeImages, type SynthesizeImagesOptions } from '../../src/core/synth/synthesizeImages.js';
import { threadSynthesisWorkers } from '../lib/synthesisWorkers.js';
import { findImageInput } from '../../src/core/synth/graphInput.js';
import type { SynthesisResult } from '../../src/core/synth/synthesizer.js';
import { userImagesResult } from '../../src/core/synth/userImages.js';
import type { RequestedCalibration } from '../../src/core/synth/fallback.js';
import { writeNpyFloat32 } from '../lib/npy.js';
import { readModelFiles } from '../lib/readModelFiles.js';
import { readImageFolder } from '../lib/calibrationImages.js';
import { writePng } from '../lib/png.js';
import { UsageError, parseArgs } from '../lib/usage.js';
import { classWeightOf } from '../lib/classConditionalFlags.js';

export const help = `localquant synth MODEL -o DIR [options]

Synthesize calibration images from the model's BatchNorm statistics (no data needed) and write them to DIR:
  images.npy        all images, float32 NCHW, in the model's normalized input space (for calibration)
  png/NNNN.png      the same images de-normalized to 8-bit RGB
  synth.json        settings, method, loss per step, timings

Options:
  -o, --out DIR        output folder (created)
  --images N           number of images (default 256)
  --steps N            optimization steps per batch (default 80)
  --batch N            images optimized together (default 64)
  --seed N             random seed (default 0)
  --lr X               peak Adam learning rate (default 0.5, cosine decay)
  --mean r,g,b         input normalization mean (pixels in 0..1); default ImageNet 0.485,0.456,0.406
  --std r,g,b          input normalization std; default ImageNet 0.229,0.224,0.225
  --method M           auto (default) | bn-statistics | prior-only | noise | user-images
  --from DIR           own images (PNG/JPEG files in DIR, sorted by name) for --method user-images; resized
                       (centre crop + bilinear) and normalized with --mean/--std
  --class-conditional  class-conditional synthesis (DeepInversion): image i is synthesized for class
                       i mod classes (a cross-entropy term on the logits); synth.json lists each image's
                       target class (classConditional.targets); classifiers only
  --class-weight W     weight of that cross-entropy term (default 0.1; with --class-conditional)
  --backend B          wasm (default) | cpu
  --quiet              no progress lines`;

function intFlag(v: string | boolean | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isInteger(n)) throw new UsageError(`--${name} needs an integer (got '${v}')`);
  return n;
}

function listFlag(v: string | boolean | undefined, name: string): number[] | undefined {
  if (v === undefined) return undefined;
  const parts = String(v).split(',').map(Number);
  if (parts.some((p) => !Number.isFinite(p))) throw new UsageError(`--${name} needs comma-separated numbers (got '${v}')`);
  return parts;
}

function loadGraph(path: string): Graph {
  return importModel(readModelFiles(path));
}

export async function run(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgs(argv, {
    o: 'string', out: 'string', images: 'string', steps: 'string', batch: 'string', seed: 'string', lr: 'string',
    mean: 'string', std: 'string', method: 'string', backend: 'string', quiet: 'boolean', from: 'string',
    'class-conditional': 'boolean', 'class-weight': 'string',
  });
  if (positional.length !== 1) throw new UsageError('give exactly one MODEL file');
  const out = (flags.o ?? flags.out) as string | undefined;
  if (!out) throw new UsageError('give an output folder with -o DIR');
  const backend = (flags.backend ?? 'wasm') as string;
  if (!['wasm', 'cpu'].includes(backend)) throw new UsageError(`--backend must be wasm or cpu (got '${backend}')`);
  const method = (flags.method ?? 'auto') as string;
  if (!['auto', 'bn-statistics', 'prior-only', 'noise', 'user-images'].includes(method)) {
    throw new UsageError(`--method must be auto, bn-statistics, prior-only, noise or user-images (got '${method}')`);
  }
  const from = flags.from as string | undefined;
  if ((method === 'user-images') !== (from !== undefined)) throw new UsageError('--method user-images goes with --from DIR');
  // Noise and own images are not optimized: the optimizer's flags would change nothing.
  if (method === 'noise' || method === 'user-images') {
    const idle = ['steps', 'batch', 'lr', ...(method === 'user-images' ? ['seed'] : [])].filter((k) => flags[k] !== undefined);
    if (idle.length) throw new UsageError(`${idle.map((k) => `--${k}`).join(', ')} ${idle.length > 1 ? 'do' : 'does'} nothing with --method ${method}`);
  }
  const mean = listFlag(flags.mean, 'mean');
  const std = listFlag(flags.std, 'std');
  if ((mean === undefined) !== (std === undefined)) throw new UsageError('give --mean and --std together');
  const normalization: Normalization | undefined = mean && std ? { mean, std } : undefined;
  let lr: number | undefined;
  if (flags.lr !== undefined) {
    lr = Number(flags.lr);
    if (!Number.isFinite(lr)) throw new UsageError(`--lr needs a number (got '${flags.lr}')`);
  }
  const classWeight = classWeightOf(flags['class-conditional'], flags['class-weight'], method === 'noise' || method === 'user-images' ? `--method ${method}` : undefined);
  const options: SynthesizeImagesOptions = {
    method: method as RequestedCalibration,
    numImages: intFlag(flags.images, 'images'),
    steps: intFlag(flags.steps, 'steps'),
    batchSize: intFlag(flags.batch, 'batch'),
    seed: intFlag(flags.seed, 'seed'),
    learningRate: lr,
    normalization,
    classWeight,
  };

  const modelPath = positional[0];
  const graph = loadGraph(modelPath);
  const info = await initBackend(backend as BackendPreference);
  const quiet = flags.quiet === true;
  const log = (s: string) => {
    if (!quiet) console.error(s);
  };
  log(`backend: ${info.name} (${info.reason})`);
  if (!normalization) log(`no --mean/--std given: PNGs assume ImageNet normalization, pixels are not clamped`);

  const onProgress = (e: SynthProgressEvent) => {
    if (e.type !== 'synth-step') return;
    if (e.step % 20 === 0 || e.step === e.steps - 1) {
      const worst = e.perLayer ? ` worst ${e.perLayer.worst} ${e.perLayer.max.toFixed(4)}` : '';
      const ce = e.classLoss !== undefined ? ` ce ${e.classLoss.toFixed(4)}` : '';
      log(`batch ${e.batch + 1}/${e.batches} step ${e.step + 1}/${e.steps} loss ${e.loss.toFixed(4)} bn ${e.bnLoss.toFixed(4)} prior ${e.priorLoss.toFixed(4)}${ce}${worst}`);
    }
  };
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  let result: SynthesisResult & { workers?: number };
  try {
    if (from !== undefined) {
      if (!normalization) throw new UsageError('--method user-images needs --mean and --std');
      const own = readImageFolder(from, options.numImages ?? Number.MAX_SAFE_INTEGER);
      const decoded = own.images.map((i) => ({ width: i.width, height: i.height, data: i.rgba }));
      result = userImagesResult(decoded, findImageInput(graph).imageShape, options);
    } else {
      // batches on a worker thread per core (the same images as on one thread; synth.json: workers)
      result = await synthesizeImages(graph, options, onProgress, controller.signal, threadSynthesisWorkers(backend as BackendPreference));
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
  if (result.message) console.error(result.message);

  mkdirSync(join(out, 'png'), { recursive: true });
  writeNpyFloat32(join(out, 'images.npy'), result.images, result.shape);
  const norm = normalization ?? IMAGENET_NORMALIZATION;
  const digits = Math.max(4, String(result.shape[0] - 1).length);
  for (let i = 0; i < result.shape[0]; i++) {
    writePng(join(out, 'png', `${String(i).padStart(digits, '0')}.png`), imageToRgba(result.images, result.shape, i, norm));
  }
  const { images: _images, ...summary } = result;
  void _images;
  writeFileSync(join(out, 'synth.json'), JSON.stringify({
    version: 1,
    model: basename(modelPath),
    backend: info.name,
    requestedMethod: method,
    ...summary,
    normalizationForPng: norm,
  }, null, 1));
  console.log(`${result.method}: ${result.shape[0]} images ${result.shape.slice(1).join('x')} in ${result.seconds.toFixed(1)} s` +
    (result.method === 'bn-statistics' ? `, BN loss ${result.startBnLoss.toFixed(4)} -> ${result.endBnLoss.toFixed(4)}` : '') +
    (result.classConditional ? `, ${(100 * result.classConditional.targetHitRate).toFixed(1)}% at their target class` : '') +
    ` -> ${out}`);
  return 0;
}
