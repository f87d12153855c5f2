/**
 * bench:cancel — how long a cancel takes to stop runPipeline, per stage, on the shared ResNet-20 (wasm).
 * For each stage the run is aborted `--after` ms after the stage starts (or at its first progress event
 * for the mid-layer rounding row) and the time until the promise rejects with CANCELLED is measured.
 * Target: under 1 s at every stage. Prints a table, writes bench-results/cancel.json.
 *
 * Run: npx tsx bench/cancel.ts [--after 300] [--images 64]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { defaultPipelineConfig } from '../src/core/pipeline/defaults.js';
import { runPipeline } from '../src/core/pipeline/run.js';
import type { PipelineConfig, PipelineEvent } from '../src/core/pipeline/types.js';
import { initBackend } from '../src/core/runtime/backends.js';
import { CIFAR_MEAN, CIFAR_STD, cifarFixture } from '../src/core/testing/fixtures.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}
const after = Number(arg('after', '300'));
const images = Number(arg('images', '64'));

interface Row {
  stage: string;
  source: PipelineConfig['calibration']['source'];
  /** Cancel when this event arrives (then wait `after` ms). */
  at: (e: PipelineEvent) => boolean;
}

const rows: Row[] = [
  { stage: 'synthesis', source: 'synthetic', at: (e) => e.type === 'stage' && e.stage === 'synthesis' && e.status === 'start' },
  { stage: 'calibration (noise)', source: 'noise', at: (e) => e.type === 'stage' && e.stage === 'calibration' && e.status === 'start' },
  { stage: 'rounding (range pass)', source: 'noise', at: (e) => e.type === 'stage' && e.stage === 'rounding' && e.status === 'start' },
  { stage: 'rounding (mid-layer)', source: 'noise', at: (e) => e.type === 'layer' && e.status === 'running' && (e.iteration ?? 0) > 0 },
  { stage: 'export', source: 'noise', at: (e) => e.type === 'stage' && e.stage === 'export' && e.status === 'start' },
  { stage: 'evaluation', source: 'noise', at: (e) => e.type === 'stage' && e.stage === 'evaluation' && e.status === 'start' },
];

async function main(): Promise<void> {
  await initBackend('wasm');
  const files = [{ name: 'resnet20_bn.onnx', bytes: new Uint8Array(readFileSync(cifarFixture('resnet20_bn.onnx'))) }];
  const results: { stage: string; latencyMs: number; code: string; delayMs: number }[] = [];
  for (const row of rows) {
    const cfg = defaultPipelineConfig();
    cfg.normalization = { mean: [...CIFAR_MEAN], std: [...CIFAR_STD], pixelRange: 255 };
    cfg.calibration = { source: row.source, images, steps: 40, batch: 32 };
    cfg.quant = { ...cfg.quant, weightBits: 4, rounding: 'adaptive', adaroundIterations: 1000 };
    const ac = new AbortController();
    let abortedAt = 0;
    let armed = false;
    // Calibration (noise), export and evaluation start events come synchronously before their work: abort right there.
    const delay = row.stage === 'export' || row.stage === 'evaluation' || row.stage.startsWith('calibration') ? 0 : after;
    const onEvent = (e: PipelineEvent) => {
      if (armed || !row.at(e)) return;
      armed = true;
      const fire = () => {
        abortedAt = performance.now();
        ac.abort();
      };
      if (delay) setTimeout(fire, delay);
      else fire();
    };
    let code = 'finished';
    try {
      await runPipeline(files, cfg, onEvent, ac.signal);
    } catch (e) {
      code = (e as { code?: string }).code ?? String(e);
    }
    const latencyMs = abortedAt ? performance.now() - abortedAt : NaN;
    results.push({ stage: row.stage, latencyMs, code, delayMs: delay });
    console.log(`${row.stage.padEnd(24)} ${code.padEnd(10)} ${latencyMs.toFixed(0)} ms after the abort`);
  }
  console.log(`\n| stage | result | cancel latency (ms) |\n|---|---|---|`);
  for (const r of results) console.log(`| ${r.stage} | ${r.code} | ${r.latencyMs.toFixed(0)} |`);
  mkdirSync('bench-results', { recursive: true });
  writeFileSync('bench-results/cancel.json', JSON.stringify({ model: 'resnet20_bn.onnx', backend: 'wasm', images, afterMs: after, results }, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
