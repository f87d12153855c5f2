/**
 * Adaptive vs nearest rounding on depthwise convolutions: the MobileNetV2-style test net
 * (src/core/testing/mobileNetV2Like.ts, random weights), W4A8 with first/last layer 8 bit, calibrated on
 * 64 random images; per depthwise layer the output error E||W~x~ - Wx||^2 of nearest and adaptive codes
 * (same inputs), and end to end the logit MSE and top-1 agreement with the float net on 256 other random
 * images, with and without bias correction. Prints tables, writes bench-results/depthwise.json.
 *
 * Run: npx tsx bench/depthwise.ts [--iters 1000]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { importOnnx } from '../src/core/importers/onnx/importOnnx.js';
import { quantizeGraph } from '../src/core/pipeline/quantizeGraph.js';
import { defaultQuantConfig } from '../src/core/quant/config.js';
import { quantizableLayers } from '../src/core/quant/quantPoints.js';
import { initBackend } from '../src/core/runtime/backends.js';
import { GraphExecutor } from '../src/core/runtime/executor.js';
import { mobileNetV2Like } from '../src/core/testing/mobileNetV2Like.js';
import { seeded } from '../src/core/testing/opCheck.js';

const i = process.argv.indexOf('--iters');
const iters = i >= 0 ? Number(process.argv[i + 1]) : 1000;

async function main(): Promise<void> {
  await initBackend('wasm');
  const graph = importOnnx(mobileNetV2Like({ seed: 3 }));
  const cal = { images: seeded(64 * 3 * 32 * 32, 11), shape: [64, 3, 32, 32] };
  const held = tf.tensor(seeded(256 * 3 * 32 * 32, 99), [256, 3, 32, 32]);
  const runs: Record<string, unknown>[] = [];
  let layers: Record<string, unknown>[] = [];
  for (const [rounding, biasCorrection] of [['nearest', false], ['adaptive', false], ['nearest', true], ['adaptive', true]] as const) {
    // depthwise layers at 4 bit too (they would keep 8 bit by default: quant/config.ts depthwiseKeeps8bit)
    const dw4 = Object.fromEntries(quantizableLayers(graph).filter((l) => l.depthwise).map((l) => [l.node.name, { weightBits: 4 }]));
    const cfg = { ...defaultQuantConfig(), weightBits: 4 as const, activationBits: 8 as const, rounding, biasCorrection, overrides: dw4 };
    cfg.adaround = { ...cfg.adaround, iterations: iters };
    const t = performance.now();
    const q = await quantizeGraph(graph, cal, cfg);
    const seconds = (performance.now() - t) / 1000;
    const out = (g: typeof q.folded) => {
      const e = new GraphExecutor(g);
      const y = e.execute({ input: held }).outputs.get('logits')!;
      e.dispose();
      return y;
    };
    const [yf, yq] = [out(q.folded), out(q.qdq)];
    const mse = tf.tidy(() => yq.sub(yf).square().mean().dataSync()[0]);
    const agreement = tf.tidy(() => yq.argMax(1).equal(yf.argMax(1)).mean().dataSync()[0]);
    tf.dispose([yf, yq]);
    runs.push({ rounding, biasCorrection, seconds, logitMse: mse, agreement });
    console.log(`${rounding} bias correction ${biasCorrection ? 'on' : 'off'}: ${seconds.toFixed(0)} s, held-out logit MSE ${mse.toFixed(4)}, top-1 agreement ${(100 * agreement).toFixed(1)}%`);
    if (rounding === 'adaptive' && !biasCorrection) {
      const depthwise = q.layers.filter((l) => Number(q.folded.nodes.find((n) => n.name === l.name)?.attrs.group ?? 1) > 1);
      layers = depthwise.map((l) => ({ name: l.name, channels: l.scales.length, nearestError: l.nearestError, adaptiveError: l.adaptiveError, flipped: l.flippedFraction }));
    }
  }
  held.dispose();
  console.log('\n| depthwise layer | channels | nearest error | adaptive error | reduction | codes flipped |\n|---|---|---|---|---|---|');
  for (const l of layers as { name: string; channels: number; nearestError: number; adaptiveError: number; flipped: number }[]) {
    console.log(`| ${l.name} | ${l.channels} | ${l.nearestError.toExponential(3)} | ${l.adaptiveError.toExponential(3)} | ${(100 * (1 - l.adaptiveError / l.nearestError)).toFixed(1)}% | ${(100 * l.flipped).toFixed(1)}% |`);
  }
  mkdirSync('bench-results', { recursive: true });
  writeFileSync('bench-results/depthwise.json', JSON.stringify({ iters, runs, layers }, null, 2));
}

void main();
