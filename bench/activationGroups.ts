/**
 * Which activations cost a low-bit model its accuracy: the run with every layer input at the row's
 * activation bits, then once per group of layers with that group's inputs at 8 bit (per-layer overrides),
 * scored on the 10,000 CIFAR-10 test images in onnxruntime-node. Groups: depthwise convs, squeeze-excite
 * convs (and any conv reading a global pool within two ops), and the other inner layers (first and last
 * excluded). Use the -dwa4 form to see the depthwise group at 4 bit in the base run.
 *
 * Run: npx tsx bench/activationGroups.ts [--model models/ghostnet-cifar/ghostnet_cifar_w1_bn.onnx] [--row w4a4-nearest]
 *      [--groups none,se,depthwise,pointwise] [--images 128] [--steps 60] [--out bench-results/activation-groups.json]
 * Calibration: the cached synthetic images of bench:quant (--cache), synthesized on first use.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { importModel } from '../src/core/importers/index.js';
import { producerMap } from '../src/core/ir/graph.js';
import { runPipeline } from '../src/core/pipeline/run.js';
import { quantizableLayers } from '../src/core/quant/quantPoints.js';
import { initBackend } from '../src/core/runtime/backends.js';
import { arg, benchCalibration, resnet20Setup, rowConfig, top1 } from './lib/resnet20Bench.js';

const model = arg('model', 'models/ghostnet-cifar/ghostnet_cifar_w1_bn.onnx');
const row = arg('row', 'w4a4-nearest');
const groupNames = arg('groups', 'none,se,depthwise,pointwise').split(',');
const nImages = Number(arg('images', '128'));
const steps = Number(arg('steps', '60'));
const out = arg('out', 'bench-results/activation-groups.json');

await initBackend('wasm');
const { files, evalSet, floatTop1 } = await resnet20Setup(10000, model);
const graph = importModel(files);
const producer = producerMap(graph);
/** Whether `v` comes from an `op` node within `hops` single-input ops. */
const from = (v: string, op: string, hops: number): boolean => {
  const p = producer.get(v);
  return !!p && (p.opType === op || (hops > 0 && from(p.inputs[0], op, hops - 1)));
};
const inner = quantizableLayers(graph).filter((l) => !l.first && !l.last);
const groups: Record<string, string[]> = {
  none: [],
  se: inner.filter((l) => from(l.node.inputs[0], 'GlobalAveragePool', 2)).map((l) => l.node.name),
  depthwise: inner.filter((l) => l.depthwise).map((l) => l.node.name),
};
groups.pointwise = inner.map((l) => l.node.name).filter((n) => !groups.se.includes(n) && !groups.depthwise.includes(n));
const cal = await benchCalibration('synthetic', graph, nImages, steps, true, basename(model, '.onnx'));
const results: Record<string, unknown>[] = [];
console.log(`${basename(model)}: float ${floatTop1.toFixed(2)}; ${row}; groups ${groupNames.map((g) => `${g} ${groups[g].length}`).join(', ')}`);
for (const g of groupNames) {
  if (!groups[g]) throw new Error(`unknown group ${g}`);
  const cfg = rowConfig(row.replace(/-dwa4$/, ''), 1000);
  const strictDepthwise = row.endsWith('-dwa4') ? groups.depthwise.filter((n) => !(g === 'depthwise')) : [];
  const bits = cfg.quant.activationBits;
  cfg.quant.overrides = {
    ...Object.fromEntries(strictDepthwise.map((n) => [n, { activationBits: bits }])),
    ...Object.fromEntries(groups[g].map((n) => [n, { activationBits: 8 }])),
  };
  const r = await runPipeline(files, cfg, () => {}, undefined, { calibration: cal });
  const q = await top1(r.onnx!, evalSet.images, evalSet.labels);
  console.log(`${g.padEnd(10)} inputs at 8 bit (${groups[g].length} layers): top-1 ${q.toFixed(2)} (drop ${(floatTop1 - q).toFixed(2)})`);
  results.push({ group: g, layers: groups[g].length, top1: q, drop: floatTop1 - q });
  mkdirSync('bench-results', { recursive: true });
  writeFileSync(out, JSON.stringify({ model: basename(model), row, float: floatTop1, images: nImages, steps, results }, null, 2));
}
