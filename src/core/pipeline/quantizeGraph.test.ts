import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { importOnnx } from '../importers/onnx/importOnnx.js';
import type { Graph } from '../ir/types.js';
import { defaultQuantConfig } from '../quant/config.js';
import { quantizableLayers } from '../quant/quantPoints.js';
import { initBackend } from '../runtime/backends.js';
import { GraphExecutor } from '../runtime/executor.js';
import { mobileNetV2Like } from '../testing/mobileNetV2Like.js';
import { seeded } from '../testing/opCheck.js';
import { quantizeGraph, type QuantizeGraphResult } from './quantizeGraph.js';

/** A small MobileNetV2-style net (depthwise 3x3 convs), random weights, random calibration images. */
const graph = importOnnx(mobileNetV2Like({ seed: 3, width: 0.5 }));
const N = 16;
const calibration = { images: seeded(N * 3 * 32 * 32, 11), shape: [N, 3, 32, 32] };

function config(rounding: 'adaptive' | 'nearest', biasCorrection: boolean) {
  // depthwise layers at 4 bit too (by default they keep 8 bit: quant/config.ts depthwiseKeeps8bit)
  const dw4 = Object.fromEntries(quantizableLayers(graph).filter((l) => l.depthwise).map((l) => [l.node.name, { weightBits: 4 }]));
  const cfg = { ...defaultQuantConfig(), weightBits: 4 as const, activationBits: 8 as const, rounding, biasCorrection, overrides: dw4 };
  cfg.adaround = { ...cfg.adaround, iterations: 100 };
  return cfg;
}

/** Logits of the float (folded) and the exported QDQ graph on `images` [n, 3, 32, 32]. */
function logits(q: QuantizeGraphResult, images: Float32Array, n: number): { float: tf.Tensor2D; quant: tf.Tensor2D } {
  const run = (g: Graph) => {
    const e = new GraphExecutor(g);
    const x = tf.tensor(images, [n, 3, 32, 32]);
    const r = e.execute({ input: x }).outputs.get('logits') as tf.Tensor2D;
    x.dispose();
    e.dispose();
    return r;
  };
  return { float: run(q.folded), quant: run(q.qdq) };
}

const isDepthwise = (q: QuantizeGraphResult, name: string) => Number(q.folded.nodes.find((n) => n.name === name)?.attrs.group ?? 1) > 1;

let nearest: QuantizeGraphResult;
let corrected: QuantizeGraphResult;
let adaptive: QuantizeGraphResult;

beforeAll(async () => {
  await initBackend('wasm');
  const before = tf.memory().numTensors;
  nearest = await quantizeGraph(graph, calibration, config('nearest', false));
  corrected = await quantizeGraph(graph, calibration, config('nearest', true));
  adaptive = await quantizeGraph(graph, calibration, config('adaptive', false));
  expect(tf.memory().numTensors).toBe(before);
}, 120_000);

describe('quantizeGraph: bias correction', () => {
  it('moves every exported bias and records it as applied', () => {
    // every Conv/Gemm got a corrected bias, recorded as applied
    expect(corrected.layers.every((l) => l.biasCorrected === true)).toBe(true);
    expect(nearest.layers.every((l) => l.biasCorrected === undefined)).toBe(true);
    expect(corrected.plan.layers.every((l) => l.bias instanceof Float32Array)).toBe(true);
    const changed = corrected.plan.layers.filter((l) => {
      const node = corrected.folded.nodes.find((n) => n.name === l.node)!;
      const old = corrected.folded.initializers.get(node.inputs[2])!.data as Float32Array;
      return l.bias!.some((b, i) => Math.abs(b - old[i]) > 1e-6);
    });
    expect(changed.length).toBe(corrected.plan.layers.length);
    // Each bias moves by its layer's own weight error only (pipeline/biasCorrection.test.ts checks the value).
    // The logits' mean is not promised: on this random net with noise images the old correction of every
    // input's upstream shift as well removed it (mean error 0.001 vs 0.035 uncorrected), the own-error one
    // leaves 0.089; on NanoDet the upstream form cascaded and broke the outputs (README, algos/biasCorrection.ts).
  });
});

describe('quantizeGraph: adaptive rounding of depthwise convolutions', () => {
  it('beats nearest on every depthwise layer and on the output of held-out images', () => {
    const dw = adaptive.layers.filter((l) => isDepthwise(adaptive, l.name));
    expect(dw.length).toBeGreaterThan(3);
    for (const l of dw) {
      expect(l.rounding).toBe('adaptive');
      expect(l.adaptiveError!).toBeLessThan(l.nearestError!);
    }
    // held-out images: adaptive is closer to the float model than nearest
    const m = 32;
    const held = seeded(m * 3 * 32 * 32, 99);
    const mse = (q: QuantizeGraphResult) => {
      const { float, quant } = logits(q, held, m);
      const e = tf.tidy(() => quant.sub(float).square().mean().dataSync()[0]);
      tf.dispose([float, quant]);
      return e;
    };
    expect(mse(adaptive)).toBeLessThan(mse(nearest));
  });
});
