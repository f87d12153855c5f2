import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { importOnnx } from '../importers/onnx/importOnnx.js';
import type { Graph } from '../ir/types.js';
import { defaultQuantConfig } from '../quant/config.js';
import { initBackend } from '../runtime/backends.js';
import { GraphExecutor } from '../runtime/executor.js';
import { cifarResNet } from '../testing/resnetLike.js';
import { seeded } from '../testing/opCheck.js';
import { quantizeGraph, type QuantizeGraphResult } from './quantizeGraph.js';
import type { PipelineEvent } from './types.js';

/** A CIFAR ResNet-8 (one residual block per stage), random weights and random calibration images. */
const graph = importOnnx(cifarResNet(1, 4));
const N = 16;
const calibration = { images: seeded(N * 3 * 32 * 32, 5), shape: [N, 3, 32, 32] };

function config(reconstruction: 'layer' | 'block', rounding: 'adaptive' | 'nearest' = 'adaptive') {
  // Skip paths at 4 bit as the thresholds below were set for. With the default 'layer-inputs' this random
  // ResNet-8 ends further from float after 40 block iterations than with nearest rounding (logit MSE 0.0185
  // vs 0.0159); on ResNet-20 block and layer-wise reconstruction are level there (README, issue 14 figures).
  // Target ort-cpu-vnni: first/last weights at the full 8 bits the thresholds were set with (ort-cpu's 7-bit
  // range moves this random net's outcome; that rule is tested in quant/config.test.ts and u8s8Saturation.test.ts).
  const cfg = { ...defaultQuantConfig(), weightBits: 4 as const, activationBits: 4 as const, rounding, reconstruction, activationBitsAt: 'every-activation' as const, target: 'ort-cpu-vnni' as const };
  cfg.adaround = { ...cfg.adaround, iterations: 40, blockStartIterations: 0, blockActivationLr: reconstruction === 'block' ? 5e-3 : 0 };
  return cfg;
}

/** Mean squared logit error of the exported QDQ graph against the float graph on `images`. */
function logitError(q: QuantizeGraphResult, images: Float32Array): number {
  const x = tf.tensor(images, [images.length / 3072, 3, 32, 32]);
  const run = (g: Graph) => {
    const e = new GraphExecutor(g);
    const r = e.execute({ input: x }).outputs.get('logits')!;
    e.dispose();
    return r;
  };
  const [f, qd] = [run(q.folded), run(q.qdq)];
  const err = tf.tidy(() => tf.mean(tf.squaredDifference(f, qd)).dataSync()[0]);
  tf.dispose([x, f, qd]);
  return err;
}

let nearest: QuantizeGraphResult;
let block: QuantizeGraphResult;
const events: PipelineEvent[] = [];

beforeAll(async () => {
  await initBackend('wasm');
  const before = tf.memory().numTensors;
  nearest = await quantizeGraph(graph, calibration, config('layer', 'nearest'));
  block = await quantizeGraph(graph, calibration, config('block'), (e) => events.push(e));
  expect(tf.memory().numTensors).toBe(before);
}, 300_000);

describe('quantizeGraph with reconstruction block', () => {
  it('rounds the stem, each residual block and the FC jointly, and records the blocks in the result', () => {
    expect(block.blocks!.map((b) => b.layers.length)).toEqual([1, 2, 2, 2, 1]);
    expect(block.layers.map((l) => l.block)).toEqual(block.blocks!.flatMap((b) => b.layers.map(() => b.name)));
    for (const b of block.blocks!) {
      expect(b).toMatchObject({ iterations: 40, batch: 32, qdrop: 0 });
      expect(b.blockError).toBeLessThanOrEqual(b.nearestError);
    }
    // from the float weights (blockStartIterations 0, as BRECQ): each block keeps the better of its jointly
    // optimised and its nearest rounding, and the joint optimisation wins clearly somewhere
    for (const b of block.blocks!) {
      expect(b.blockError).toBeLessThanOrEqual(b.nearestError);
      expect(b.layerWiseError).toBeUndefined();
    }
    expect(block.blocks!.some((b) => b.kept === 'block' && b.blockError < 0.9 * b.nearestError)).toBe(true);
    expect(nearest.blocks).toBeUndefined();
  });

  it('the exported QDQ model is closer to the float model than with nearest rounding, on the calibration images', () => {
    expect(logitError(block, calibration.images)).toBeLessThan(logitError(nearest, calibration.images));
    expect(block.layers.every((l) => l.weightScale === 'output')).toBe(true); // clips chosen as layer-wise rounding chooses them
  });

  it('activation step sizes learned in a block are the ones the result and the exported QuantizeLinear nodes carry', () => {
    const learned = block.blocks!.flatMap((b) => (b.activationScales ?? []).map((a) => ({ ...a, block: b })));
    expect(learned.length).toBeGreaterThan(0);
    const exported = new Set(
      block.qdq.nodes.filter((n) => n.opType === 'QuantizeLinear').map((n) => (block.qdq.initializers.get(n.inputs[1])!.data as Float32Array)[0]),
    );
    for (const a of learned) {
      expect(a.learned).not.toBe(a.calibrated);
      // kept because they score better than the calibrated grids on the same codes
      expect(a.block.blockError).toBeLessThanOrEqual(a.block.calibratedGridError!);
      expect(block.activations[a.value].scale).toBe(a.learned);
      expect(exported.has(Math.fround(a.learned))).toBe(true);
    }
    expect(block.notes.some((n) => n.includes(`step sizes of ${learned.length} activation grid(s)`))).toBe(true);
  });

  it('sends one blocks event, then running and done events per block, in order', () => {
    const listed = events.filter((e) => e.type === 'blocks');
    expect(listed.length).toBe(1);
    const done = events.filter((e): e is Extract<PipelineEvent, { type: 'block' }> => e.type === 'block' && e.status === 'done');
    expect(done.map((e) => e.index)).toEqual([0, 1, 2, 3, 4]);
    expect(events.some((e) => e.type === 'block' && e.status === 'running' && e.loss !== undefined)).toBe(true);
    // layer rows follow their block's iterations
    expect(events.some((e) => e.type === 'layer' && e.status === 'running' && (e.iteration ?? 0) > 0)).toBe(true);
  });

  it('the logit term: every block is scored with it (the first block on the same inputs scores higher by the KL), no tensor leaks', async () => {
    const before = tf.memory().numTensors;
    const cfg = config('block');
    const withLogits = await quantizeGraph(graph, calibration, { ...cfg, adaround: { ...cfg.adaround, iterations: 5, blockLogitWeight: 2 } });
    expect(tf.memory().numTensors).toBe(before);
    expect(block.blocks!.every((b) => b.logitTerm === undefined)).toBe(true);
    // the last block (the FC) outputs the logits themselves: the term applies there too
    expect(withLogits.blocks!.map((b) => [b.logitTerm?.weight, b.logitTerm?.batch])).toEqual(withLogits.blocks!.map(() => [2, 8]));
    expect(withLogits.blocks!.every((b) => b.logitTerm!.klWeight > 0)).toBe(true);
    // the first block reads the same quantized input in both runs: its nearest rounding (calibrated grids)
    // scores its block output error in both, plus 2 x the KL of the logits through the float rest of the
    // network here
    expect(withLogits.blocks![0].nearestError).toBeGreaterThan(block.blocks![0].nearestError * 1.0001);
  }, 60_000);

  it('learned biases are the ones the export carries (int32 bias x scale), and the report gives how far they moved', async () => {
    const cfg = config('block');
    const before = tf.memory().numTensors;
    const biased = await quantizeGraph(graph, calibration, { ...cfg, adaround: { ...cfg.adaround, iterations: 30, blockActivationLr: 0, blockBiasLr: 0.02 } });
    expect(tf.memory().numTensors).toBe(before);
    const moved = biased.blocks!.flatMap((b) => b.learnedBiases ?? []);
    expect(moved.length).toBeGreaterThan(0);
    expect(block.blocks!.every((b) => b.learnedBiases === undefined)).toBe(true);
    for (const m of moved) {
      const node = biased.folded.nodes.find((n) => n.name === m.layer)!;
      const floatBias = biased.folded.initializers.get(node.inputs[2])!.data as Float32Array;
      // the exported layer reads its bias from a DequantizeLinear of int32 codes
      const conv = biased.qdq.nodes.find((n) => n.name === m.layer)!;
      const dq = biased.qdq.nodes.find((n) => n.outputs[0] === conv.inputs[2])!;
      expect(dq.opType).toBe('DequantizeLinear');
      const codes = biased.qdq.initializers.get(dq.inputs[0])!.data as Int32Array;
      const scales = biased.qdq.initializers.get(dq.inputs[1])!.data as Float32Array;
      let d = 0;
      for (let c = 0; c < codes.length; c++) d += (codes[c] * scales[c] - floatBias[c]) ** 2;
      expect(m.rmsShift).toBeGreaterThan(0);
      expect(Math.sqrt(d / codes.length)).toBeCloseTo(m.rmsShift, 3);
    }
    expect(biased.notes.some((n) => n.includes(`biases of ${moved.length} layer(s)`))).toBe(true);
  }, 60_000);

  it('learned weight scales are the ones the export carries (DequantizeLinear scales), and the report gives how far they moved', async () => {
    const cfg = config('block');
    const before = tf.memory().numTensors;
    const scaled = await quantizeGraph(graph, calibration, { ...cfg, adaround: { ...cfg.adaround, iterations: 30, blockActivationLr: 0, blockWeightScaleLr: 0.02 } });
    expect(tf.memory().numTensors).toBe(before);
    const moved = scaled.blocks!.flatMap((b) => b.learnedWeightScales ?? []);
    expect(moved.length).toBeGreaterThan(0);
    expect(block.blocks!.every((b) => b.learnedWeightScales === undefined)).toBe(true);
    expect(moved.some((m) => m.minRatio < 0.999 || m.maxRatio > 1.001)).toBe(true);
    for (const b of scaled.blocks!.filter((x) => x.learnedWeightScales)) expect(b.calibratedWeightScaleError).toBeGreaterThan(b.blockError);
    for (const m of moved) {
      const conv = scaled.qdq.nodes.find((n) => n.name === m.layer)!;
      const dq = scaled.qdq.nodes.find((n) => n.outputs[0] === conv.inputs[1])!;
      expect(dq.opType).toBe('DequantizeLinear');
      const exported = Array.from(scaled.qdq.initializers.get(dq.inputs[1])!.data as Float32Array);
      const reported = scaled.layers.find((l) => l.name === m.layer)!.scales;
      expect(exported).toEqual(reported.map((v) => Math.fround(v)));
    }
    expect(scaled.notes.some((n) => n.includes(`weight scales of ${moved.length} layer(s)`))).toBe(true);
  }, 60_000);

  it('the logit term is refused for a model with several outputs', async () => {
    const two = { ...graph, outputs: [...graph.outputs, { name: graph.nodes[0].outputs[0], dtype: 'float32' as const, shape: [] }] };
    const cfg = config('block');
    await expect(quantizeGraph(two, calibration, { ...cfg, adaround: { ...cfg.adaround, blockLogitWeight: 1 } })).rejects.toMatchObject({ code: 'BAD_CONFIG', message: expect.stringMatching(/2 outputs/) });
  });

  it('a cancel during block reconstruction rejects with CANCELLED and frees every tensor', async () => {
    const before = tf.memory().numTensors;
    const ctl = new AbortController();
    const run = quantizeGraph(graph, calibration, config('block'), (e) => {
      if (e.type === 'block' && e.status === 'running' && e.index === 1) ctl.abort();
    }, ctl.signal);
    await expect(run).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(tf.memory().numTensors).toBe(before);
  });
});
