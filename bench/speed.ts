/**
 * bench:speed — how quantization time grows with depth. For the shared ResNet-20, a ResNet-20-like and a
 * ResNet-56-like net (src/core/testing/resnetLike.ts, random weights and BN statistics: timing only), on
 * the same random calibration images: stage times of quantizeGraph (activation ranges, rounding) and
 * onnxruntime-node's float forward time over those images at 1 thread, as ratios. Layer-by-layer
 * rounding is linear in depth when rounding(56) / rounding(20) stays near the ratio of layer counts.
 * Prints a table, writes bench-results/speed.json.
 *
 * Run: npm run bench:speed -- [--images 256] [--iters 1000] [--wbits 8] [--abits 8] [--rounding adaptive]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { importOnnx } from '../src/core/importers/onnx/importOnnx.js';
import { quantizeGraph } from '../src/core/pipeline/quantizeGraph.js';
import { defaultQuantConfig } from '../src/core/quant/config.js';
import { quantizableLayers } from '../src/core/quant/quantPoints.js';
import { initBackend } from '../src/core/runtime/backends.js';
import { cifarFixture } from '../src/core/testing/fixtures.js';
import { seeded } from '../src/core/testing/opCheck.js';
import { cifarResNet } from '../src/core/testing/resnetLike.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}
const nImages = Number(arg('images', '256'));
const iters = Number(arg('iters', '1000'));
const wbits = Number(arg('wbits', '8')) as 8;
const abits = Number(arg('abits', '8')) as 8;
const rounding = arg('rounding', 'adaptive') as 'adaptive';

/** Seconds for one float forward pass over all images in onnxruntime-node, 1 thread, batches of 64 (best of 3). */
async function ortForward(model: Uint8Array, images: Float32Array): Promise<number> {
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const per = 3 * 32 * 32;
  let best = Infinity;
  for (let rep = 0; rep < 3; rep++) {
    const t = performance.now();
    for (let s = 0; s < nImages; s += 64) {
      const m = Math.min(64, nImages - s);
      await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', images.subarray(s * per, (s + m) * per), [m, 3, 32, 32]) });
    }
    best = Math.min(best, (performance.now() - t) / 1000);
  }
  return best;
}

async function main(): Promise<void> {
  const backend = await initBackend('wasm');
  const images = seeded(nImages * 3 * 32 * 32, 5, -2, 2);
  const nets: [string, Uint8Array][] = [
    ['resnet20 (fixture)', new Uint8Array(readFileSync(cifarFixture('resnet20_bn.onnx')))],
    ['resnet20-like', cifarResNet(3)],
    ['resnet56-like', cifarResNet(9)],
  ];
  const cfg = { ...defaultQuantConfig(), weightBits: wbits, activationBits: abits, rounding };
  cfg.adaround = { ...cfg.adaround, iterations: iters };
  const rows: { net: string; layers: number; ranges: number; rounding: number; secondsPerLayer: number; ortForward: number; roundingVsForward: number }[] = [];
  for (const [net, bytes] of nets) {
    const graph = importOnnx(bytes);
    const q = await quantizeGraph(graph, { images, shape: [nImages, 3, 32, 32] }, cfg);
    const fwd = await ortForward(bytes, images);
    const layers = quantizableLayers(q.folded).length;
    const row = { net, layers, ranges: q.seconds.ranges, rounding: q.seconds.rounding, secondsPerLayer: q.seconds.rounding / layers, ortForward: fwd, roundingVsForward: q.seconds.rounding / fwd };
    rows.push(row);
    console.log(`${net.padEnd(20)} ${layers} layers  ranges ${row.ranges.toFixed(1)} s  rounding ${row.rounding.toFixed(1)} s (${row.secondsPerLayer.toFixed(2)} s/layer)  ORT forward ${fwd.toFixed(2)} s  rounding/forward ${row.roundingVsForward.toFixed(0)}x`);
  }
  const [, r20, r56] = rows;
  const depthRatio = { layers: r56.layers / r20.layers, rounding: r56.rounding / r20.rounding, ortForward: r56.ortForward / r20.ortForward };
  console.log(`\nW${wbits}A${abits} ${rounding}, ${nImages} random images, ${iters} iterations, backend ${backend.name}\n`);
  console.log('| net | layers | ranges s | rounding s | s/layer | ORT fwd s (1 thread) | rounding / ORT fwd |\n|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.net} | ${r.layers} | ${r.ranges.toFixed(1)} | ${r.rounding.toFixed(1)} | ${r.secondsPerLayer.toFixed(2)} | ${r.ortForward.toFixed(2)} | ${r.roundingVsForward.toFixed(0)} |`);
  console.log(`\nresnet56-like / resnet20-like: layers ${depthRatio.layers.toFixed(2)}x, rounding ${depthRatio.rounding.toFixed(2)}x, ORT forward ${depthRatio.ortForward.toFixed(2)}x (target: rounding <= 3.5x)`);
  mkdirSync('bench-results', { recursive: true });
  writeFileSync('bench-results/speed.json', JSON.stringify({ backend: backend.name, images: nImages, iters, wbits, abits, rounding, rows, depthRatio }, null, 2));
}

void main();
