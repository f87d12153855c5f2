/**
 * Prepares the browser pipeline bench in dist-bench/: the bench page built with the app's vite config
 * (same worker bundle, same wasm files), the models it runs (the shared ResNet-20 with BatchNorm kept, and
 * nsfwjs' Keras MobileNetV2-224 as model.json + shards, as a user would drop them) and plan.json.
 * Then packs it as .devbench/dist-bench.tar.xz for a machine without Node (bench/browser/device.sh).
 *
 * Plan: ResNet-20 W8A8 and MobileNetV2-224 W8A8 with the app's defaults on WebGPU, the same ResNet-20 run on
 * wasm as the in-browser reference, then ResNet-20 W4A4 (adaptive rounding; then block reconstruction, 200
 * iterations per block) on WebGPU and MobileNetV2 on wasm while the deadline allows. --quick: 8 images x 5 steps and 20 iterations (checks the bench itself).
 *
 * Run: npx tsx bench/browser/prepare.ts [--quick] [--deadline 330] [--backends webgpu,wasm] [--runs id,id]
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { defaultPipelineConfig, withBitWidths } from '../../src/core/pipeline/defaults.js';
import type { PipelineConfig } from '../../src/core/pipeline/types.js';
import { CIFAR_MEAN, CIFAR_STD, cifarFixture } from '../../src/core/testing/fixtures.js';
import { nsfwjsModelFiles } from '../../src/core/testing/nsfwjsModels.js';
import type { BenchPlan, BenchRun } from './plan.js';

// not e2e/harness's repoRoot: a bench script does not load the test harness (vitest hooks)
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}
const quick = process.argv.includes('--quick');
const deadlineSeconds = Number(arg('deadline', '330'));
const outDir = join(repoRoot, 'dist-bench');

async function buildPage(): Promise<void> {
  const env = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({
      root: repoRoot, mode: 'production', logLevel: 'warn',
      build: { outDir, emptyOutDir: true, rollupOptions: { input: { bench: join(repoRoot, 'bench/browser/pipeline.html') } } },
    });
  } finally {
    process.env.NODE_ENV = env;
  }
}

function copyModels(): { resnet: string[]; mobilenet: string[] } {
  mkdirSync(join(outDir, 'models/mobilenet_v2'), { recursive: true });
  copyFileSync(cifarFixture('resnet20_bn.onnx'), join(outDir, 'models/resnet20_bn.onnx'));
  const mobilenet = nsfwjsModelFiles('mobilenet_v2').files.map((f) => {
    writeFileSync(join(outDir, 'models/mobilenet_v2', f.name), f.bytes);
    return `/models/mobilenet_v2/${f.name}`;
  });
  return { resnet: ['/models/resnet20_bn.onnx'], mobilenet };
}

function config(backend: 'webgpu' | 'wasm', bits: 8 | 4, model: 'resnet' | 'mobilenet', block = false): PipelineConfig {
  const c = withBitWidths(defaultPipelineConfig(), bits, bits);
  c.backend = backend;
  if (block) {
    // the W4A4 block-reconstruction setting of bench:defaults (200 iterations per block)
    c.quant.reconstruction = 'block';
    c.quant.adaroundIterations = 200;
  }
  if (model === 'resnet') c.normalization = { mean: [...CIFAR_MEAN], std: [...CIFAR_STD], pixelRange: 255 };
  else {
    // nsfwjs feeds pixels / 255; as bench/lib/mobilenetSpeed.ts (the CLI's MobileNetV2-224 row)
    c.normalization = { mean: [0, 0, 0], std: [1, 1, 1], pixelRange: 255 };
    c.quant.keepFirstLast8bit = false;
  }
  if (quick) {
    c.calibration = { ...c.calibration, images: 8, steps: 5, batch: 8 };
    c.quant.adaroundIterations = 20;
  }
  return c;
}

async function main(): Promise<void> {
  await buildPage();
  const files = copyModels();
  const backends = arg('backends', 'webgpu,wasm').split(',');
  const only = process.argv.includes('--runs') ? arg('runs', '').split(',') : undefined;
  const runs: BenchRun[] = [];
  const add = (id: string, model: 'resnet' | 'mobilenet', backend: 'webgpu' | 'wasm', bits: 8 | 4, keepOnnx = false, block = false) => {
    if (!backends.includes(backend) || (only && !only.includes(id))) return;
    runs.push({ id, model: model === 'resnet' ? 'ResNet-20 (CIFAR-10, shared fixture)' : 'MobileNetV2-224 (nsfwjs Keras)', files: files[model], config: config(backend, bits, model, block), keepOnnx });
  };
  add('resnet20-w8a8-webgpu', 'resnet', 'webgpu', 8, true);
  add('mobilenetv2-224-w8a8-webgpu', 'mobilenet', 'webgpu', 8);
  add('resnet20-w8a8-wasm', 'resnet', 'wasm', 8, true);
  add('resnet20-w4a4-webgpu', 'resnet', 'webgpu', 4, true);
  add('resnet20-w4a4-block-webgpu', 'resnet', 'webgpu', 4, true, true);
  add('mobilenetv2-224-w8a8-wasm', 'mobilenet', 'wasm', 8);
  const plan: BenchPlan = { version: 1, runs, deadlineSeconds };
  writeFileSync(join(outDir, 'plan.json'), JSON.stringify(plan, null, 1));
  mkdirSync(join(repoRoot, '.devbench'), { recursive: true });
  execFileSync('tar', ['-C', outDir, '-cJf', join(repoRoot, '.devbench/dist-bench.tar.xz'), '.']);
  console.log(`dist-bench/: ${runs.length} runs (${runs.map((r) => r.id).join(', ')}), deadline ${deadlineSeconds} s; packed .devbench/dist-bench.tar.xz`);
}

await main();
