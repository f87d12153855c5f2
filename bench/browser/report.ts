/**
 * Reads what bench/browser/device.sh wrote (results.json, probes.jsonl, the kept ONNX exports), scores each
 * kept ResNet-20 export on the CIFAR-10 test set in onnxruntime-node (10,000 images), prints a table of
 * stage times per run with WebGPU / wasm ratios measured in the same browser, and writes one JSON.
 *
 * Several output dirs (--from a,b: runs of one machine over two calls) are merged; a run id seen again gets
 * a '#2' suffix.
 *
 * Run: npx tsx bench/browser/report.ts --from <device output dir>[,<dir>...] --out docs/benchmarks/<name>.json [--machine "..."]
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { arg, resnet20Setup, top1 } from '../lib/resnet20Bench.js';
import type { AdapterProbe, BenchRunResult } from './plan.js';

const from = arg('from', '');
const outPath = arg('out', 'bench-results/browser-pipeline.json');
const machine = arg('machine', '');
if (!from) throw new Error('--from <device output dir> is required');

const dirs = from.split(',');
const all = dirs.flatMap((dir) => (JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as { runs: BenchRunResult[] }).runs.map((r) => ({ ...r, dir })));
const runs: (BenchRunResult & { dir: string; onnxId: string })[] = [];
// A run skipped in one call and done in another is reported once, as done.
for (const r of all.filter((x) => x.status !== 'skipped' || !all.some((y) => y.id === x.id && y.status !== 'skipped'))) {
  const seen = runs.filter((x) => x.onnxId === r.id).length;
  runs.push({ ...r, id: seen ? `${r.id}#${seen + 1}` : r.id, onnxId: r.id });
}
const probes: AdapterProbe[] = [];
for (const dir of dirs) {
  if (existsSync(join(dir, 'probes.jsonl'))) {
    probes.push(...// device.sh before 2026-12-01 wrote the probes without newlines between them
      readFileSync(join(dir, 'probes.jsonl'), 'utf8').replace(/}\s*{"label"/g, '}\n{"label"').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as AdapterProbe));
  }
}

const stageSeconds = (r: BenchRunResult, stage: string) => {
  const s = r.stages.find((x) => x.stage === stage);
  return s?.end !== undefined ? s.end - s.start : undefined;
};
const fmt = (v: number | undefined, d = 1) => (v === undefined ? '-' : v.toFixed(d));

const { evalSet, floatTop1, evalImages } = await resnet20Setup(10_000);
const scored: Record<string, number> = {};
for (const r of runs) {
  const file = join(r.dir, `${r.onnxId}.onnx`);
  if (r.id.startsWith('resnet20') && existsSync(file)) scored[r.id] = await top1(new Uint8Array(readFileSync(file)), evalSet.images, evalSet.labels);
}

const stages = ['synthesis', 'rounding', 'export', 'evaluation', 'verification'];
console.log(`adapter: ${JSON.stringify(probes.find((p) => p.label === 'bench')?.adapter ?? probes[0]?.adapter ?? 'none')}`);
console.log(['run', 'status', 'backend', ...stages.map((s) => `${s} s`), 'first step s', 'total s', 'agreement', `top-1 (float ${floatTop1.toFixed(2)})`].join(' | '));
for (const r of runs) {
  console.log([r.id, r.status, r.backend?.name ?? '-', ...stages.map((s) => fmt(stageSeconds(r, s))), fmt(r.firstSynthStepSeconds), fmt(r.totalSeconds),
    r.agreement === undefined ? '-' : (100 * r.agreement).toFixed(1), scored[r.id] === undefined ? '-' : scored[r.id].toFixed(2)].join(' | '));
}
// WebGPU against wasm in the same browser on the same machine: the reference is the same model and config.
const ratios: Record<string, Record<string, number>> = {};
for (const gpu of runs.filter((r) => r.backendAsked === 'webgpu' && r.status === 'done')) {
  const cpu = runs.find((r) => r.id === gpu.id.split('#')[0].replace('-webgpu', '-wasm') && r.status === 'done');
  if (!cpu) continue;
  ratios[gpu.id] = {};
  for (const s of [...stages, 'total']) {
    const a = s === 'total' ? cpu.totalSeconds : stageSeconds(cpu, s);
    const b = s === 'total' ? gpu.totalSeconds : stageSeconds(gpu, s);
    if (a !== undefined && b !== undefined && b > 0) ratios[gpu.id][s] = a / b;
  }
  console.log(`${gpu.id}: wasm / webgpu seconds: ${Object.entries(ratios[gpu.id]).map(([k, v]) => `${k} ${v.toFixed(2)}x`).join(', ')}`);
}
writeFileSync(outPath, JSON.stringify({ version: 1, bench: 'browser-pipeline', machine, probes, floatTop1, evalImages, top1: scored, ratios, runs: runs.map(({ dir: _d, onnxId: _o, ...r }) => r) }, null, 1));
console.log(`wrote ${outPath}`);
