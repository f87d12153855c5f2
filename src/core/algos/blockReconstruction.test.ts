import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { Graph, Node, TensorData } from '../ir/types.js';
import { qrange } from '../quant/primitives.js';
import { initBackend } from '../runtime/backends.js';
import { GraphExecutor } from '../runtime/executor.js';
import { SeededRandom } from '../synth/prng.js';
import { logitKl, reconstructBlock, type BlockLayer, type BlockValue } from './blockReconstruction.js';
import { quantizeLayerWeights } from './layerWeights.js';

function gemm(name: string, x: string, w: string, b: string, y: string): Node {
  return { name, opType: 'Gemm', inputs: [x, w, b], outputs: [y], attrs: { transB: 1 } };
}

/** x -> Gemm w1 -> Relu -> Gemm w2 -> y, weights given as [out, in] row-major. */
function twoGemms(w1: TensorData, w2: TensorData): Graph {
  const zeros = (n: number): TensorData => ({ dtype: 'float32', dims: [n], data: new Float32Array(n) });
  return {
    name: 'two', format: 'onnx', interfaceLayout: 'NCHW',
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', w1.dims[1]] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', w2.dims[0]] }],
    nodes: [gemm('fc1', 'x', 'w1', 'b1', 'h'), { name: 'relu', opType: 'Relu', inputs: ['h'], outputs: ['r'], attrs: {} }, gemm('fc2', 'r', 'w2', 'b2', 'y')],
    initializers: new Map([['w1', w1], ['b1', zeros(w1.dims[0])], ['w2', w2], ['b2', zeros(w2.dims[0])]]),
  } as Graph;
}

/**
 * x [N, 8] -> Gemm (16 outputs) -> Relu -> Gemm (2 outputs), seeded normal weights: the second layer
 * keeps two directions of 16 channels, so only part of the first layer's error reaches the output.
 */
function randomNet(seed: number): Graph {
  const rng = new SeededRandom(seed);
  const w = (o: number, i: number): TensorData => ({ dtype: 'float32', dims: [o, i], data: Float32Array.from(rng.normalArray(o * i), (v) => v / Math.sqrt(i)) });
  return twoGemms(w(16, 8), w(2, 16));
}

/** randomNet(5) with 128 seeded inputs: its executor, both layers (3-bit grids) and the float output. */
async function randomBlock() {
  const g = randomNet(5);
  const exec = new GraphExecutor(g);
  const x = tf.tensor2d(new SeededRandom(9).normalArray(128 * 8), [128, 8]);
  const [l1, l2] = [await blockLayer(g, 'fc1'), await blockLayer(g, 'fc2')];
  const [y] = floatValues(exec, x, ['y']);
  return { exec, x, l1, l2, y };
}

async function blockLayer(g: Graph, node: string): Promise<BlockLayer> {
  const n = g.nodes.find((m) => m.name === node)!;
  const weight = g.initializers.get(n.inputs[1])!;
  const near = await quantizeLayerWeights(n, weight, { bits: 3, perChannel: true, rounding: 'nearest' });
  const { qmin, qmax } = qrange(3, true);
  return { weightName: n.inputs[1], weights: weight.data as Float32Array, dims: weight.dims, axis: near.axis, scales: near.scales, qmin, qmax, nearest: near.codes };
}

const opts = { iterations: 300, batch: 32, lr: 1e-2, lambda: 0.01, betaStart: 20, betaEnd: 2, warmup: 0.2, activations: new Map(), dropProbability: 0, seed: 3 };

function floatValues(exec: GraphExecutor, x: tf.Tensor, names: string[]): tf.Tensor[] {
  const r = exec.execute({ x }, { capture: names });
  tf.dispose([...r.outputs.values()]);
  return names.map((n) => r.captured.get(n)!.tensor);
}

/** Block data from [input name, quantized, float] and [output name, float target]. */
function blockData([inName, xq, xf]: [string, tf.Tensor, tf.Tensor], [outName, target]: [string, tf.Tensor]) {
  const v = (name: string, tensor: tf.Tensor): BlockValue => ({ name, tensor, layout: 'plain' });
  return { quantizedInputs: [v(inName, xq)], floatInputs: [v(inName, xf)], targets: [v(outName, target)] };
}

function weightsOf(layers: BlockLayer[], codes: Int8Array[]): Map<string, tf.Tensor> {
  return new Map(layers.map((l, i) => [l.weightName, tf.mul(tf.tensor(Float32Array.from(codes[i]), l.dims), tf.tensor(l.scales, [l.scales.length, 1]))]));
}

/** Network output error (sum over the 2 outputs, mean over images) with the given codes in place. */
function outputError(exec: GraphExecutor, x: tf.Tensor, layers: BlockLayer[], codes: Int8Array[]): number {
  return tf.tidy(() => {
    const yq = exec.execute({ x }, { overrides: weightsOf(layers, codes) }).outputs.get('y')!;
    const y = exec.execute({ x }).outputs.get('y')!;
    return tf.mean(tf.sum(tf.squaredDifference(yq, y), 1)).dataSync()[0];
  });
}

describe('block reconstruction', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  it('a case where layer-wise rounding is provably suboptimal: the block finds the better joint rounding', async () => {
    // x > 0 (one feature), fc1 weights [0.45, 2.35], fc2 weights [1, 1], grid step 1: y = 2.8 x.
    // Layer-wise: fc1's two channels are independent least-squares problems, so their best codes are the
    // nearest ones, [0, 2]; fc2 then sees 2x for 2.8x, and its codes for the weight 1 are 1 or 2: y~ = 2x
    // (error 0.8x) at best. Jointly, [1, 2] with [1, 1] gives y~ = 3x (error 0.2x).
    const g = twoGemms({ dtype: 'float32', dims: [2, 1], data: Float32Array.of(0.45, 2.35) }, { dtype: 'float32', dims: [1, 2], data: Float32Array.of(1, 1) });
    const exec = new GraphExecutor(g);
    const x = tf.tensor2d(Float32Array.from({ length: 64 }, (_, i) => 0.5 + i / 64), [64, 1]);
    const unitGrid = (name: string, n: number): BlockLayer => {
      const w = g.initializers.get(name)!.data as Float32Array;
      return { weightName: name, weights: w, dims: g.initializers.get(name)!.dims, axis: 0, scales: new Float32Array(n).fill(1), qmin: -8, qmax: 7, nearest: Int8Array.from(w, Math.round) };
    };
    const [l1, l2] = [unitGrid('w1', 2), unitGrid('w2', 1)];
    const [h, rf, y] = floatValues(exec, x, ['h', 'r', 'y']);
    const before = tf.memory().numTensors;
    const layer1 = await reconstructBlock(exec, [l1], blockData(['x', x, x], ['h', h]), opts);
    const rq = tf.tidy(() => tf.relu(exec.execute({ x }, { capture: ['h'], overrides: weightsOf([l1], [layer1.codes[0]]) }).captured.get('h')!.tensor));
    const layer2 = await reconstructBlock(exec, [l2], blockData(['r', rq, rf], ['y', y]), opts);
    rq.dispose();
    const block = await reconstructBlock(exec, [l1, l2], blockData(['x', x, x], ['y', y]), opts);
    expect(tf.memory().numTensors).toBe(before);
    expect(Array.from(layer1.codes[0])).toEqual([0, 2]);
    expect(Array.from(layer2.codes[0])).toEqual([1, 1]);
    const meanX2 = tf.tidy(() => tf.mean(tf.square(x)).dataSync()[0]);
    expect(outputError(exec, x, [l1, l2], [layer1.codes[0], layer2.codes[0]])).toBeCloseTo(0.64 * meanX2, 4);
    const joint = outputError(exec, x, [l1, l2], block.codes);
    expect(joint).toBeCloseTo(0.04 * meanX2, 4);
    expect(block.blockError).toBeCloseTo(joint, 4);
    expect(block.kept).toBe('block');
    tf.dispose([x, h, rf, y]);
    exec.dispose();
  });

  it('from initial codes (layer-wise rounding): scored beside the result and nearest, never worse than them', async () => {
    const { exec, x, l1, l2, y } = await randomBlock();
    const scratch = await reconstructBlock(exec, [l1, l2], blockData(['x', x, x], ['y', y]), opts);
    // start from the codes found from scratch: the kept error can only be the same or lower
    const again = await reconstructBlock(exec, [{ ...l1, initial: scratch.codes[0] }, { ...l2, initial: scratch.codes[1] }], blockData(['x', x, x], ['y', y]), { ...opts, iterations: 100 });
    expect(again.initialError).toBeCloseTo(scratch.blockError, 4);
    expect(again.blockError).toBeLessThanOrEqual(scratch.blockError + 1e-9);
    expect(['block', 'initial']).toContain(again.kept);
    tf.dispose([x, y]);
    exec.dispose();
  });

  it('a random two-layer block: rounding error below nearest, loss reported falling, codes on the grid, no tensor leaks', async () => {
    const { exec, x, l1, l2, y } = await randomBlock();
    const before = tf.memory().numTensors;
    const losses: number[] = [];
    const block = await reconstructBlock(exec, [l1, l2], blockData(['x', x, x], ['y', y]), { ...opts, progressEvery: 10, onProgress: (p) => losses.push(p.loss) });
    expect(tf.memory().numTensors).toBe(before);
    const nearest = outputError(exec, x, [l1, l2], [l1.nearest, l2.nearest]);
    const joint = outputError(exec, x, [l1, l2], block.codes);
    expect(block.nearestError).toBeCloseTo(nearest, 4);
    expect(block.blockError).toBeCloseTo(joint, 4);
    expect(joint).toBeLessThan(0.8 * nearest);
    // the regulariser dominates the total loss once it starts; it falls as h(V) settles on 0 or 1
    const regStart = Math.ceil((opts.warmup * opts.iterations) / 10);
    expect(losses[losses.length - 1]).toBeLessThan(losses[regStart]);
    expect(block.flippedFraction.every((f) => f > 0 && f < 0.5)).toBe(true);
    for (const [i, l] of [l1, l2].entries()) for (const c of block.codes[i]) expect(c >= l.qmin && c <= l.qmax).toBe(true);
    tf.dispose([x, y]);
    exec.dispose();
  });

  it('QDrop mixes float values in during optimisation only: the kept codes are scored without dropping', async () => {
    const g = randomNet(7);
    const exec = new GraphExecutor(g);
    const x = tf.tensor2d(new SeededRandom(2).normalArray(64 * 8), [64, 8]);
    const layers = [await blockLayer(g, 'fc1'), await blockLayer(g, 'fc2')];
    const r = exec.execute({ x }, { capture: ['y'] });
    tf.dispose([...r.outputs.values()]);
    const y = r.captured.get('y')!.tensor;
    const act = new Map([['r', { scale: 0.05, zeroPoint: 0, bits: 4, signed: false, min: 0, max: 0.75 }]]);
    const data = { quantizedInputs: [{ name: 'x', tensor: x, layout: 'plain' as const }], floatInputs: [{ name: 'x', tensor: x, layout: 'plain' as const }], targets: [{ name: 'y', tensor: y, layout: 'plain' as const }] };
    const before = tf.memory().numTensors;
    const plain = await reconstructBlock(exec, layers, data, { ...opts, iterations: 60, activations: act });
    const dropped = await reconstructBlock(exec, layers, data, { ...opts, iterations: 60, activations: act, dropProbability: 0.5 });
    expect(tf.memory().numTensors).toBe(before);
    // same nearest reference (full quantization, no dropping), different optimisation paths
    expect(dropped.nearestError).toBeCloseTo(plain.nearestError, 6);
    expect(dropped.codes.map((c) => Array.from(c))).not.toEqual(plain.codes.map((c) => Array.from(c)));
    tf.dispose([x, y]);
    exec.dispose();
  });

  it('learned activation step sizes: a clipping grid inside the block grows and the block error falls; a grid shared with the block input stays', async () => {
    const { exec, x, l1, l2, y } = await randomBlock();
    // 4-bit grid on the ReLU output r (values up to ~3) at step 0.05: it clips at 0.75
    const grid = { scale: 0.05, zeroPoint: 0, bits: 4, signed: false, min: 0, max: 0.75 };
    const data = blockData(['x', x, x], ['y', y]);
    const before = tf.memory().numTensors;
    const fixed = await reconstructBlock(exec, [l1, l2], data, { ...opts, iterations: 150, activations: new Map([['r', grid]]) });
    const learned = await reconstructBlock(exec, [l1, l2], data, { ...opts, iterations: 150, activations: new Map([['r', grid]]), activationLr: 0.05 });
    expect(fixed.learnedActivations).toBeUndefined();
    const r = learned.learnedActivations?.get('r');
    expect(r?.scale).toBeGreaterThan(2 * grid.scale);
    expect(r?.max).toBeCloseTo(15 * r!.scale, 6);
    expect(learned.calibratedGridError).toBeGreaterThan(learned.blockError);
    expect(learned.blockError).toBeLessThan(0.5 * fixed.blockError);
    // the same grid object on the block's input x (already applied upstream) and on r: not learned
    const shared = await reconstructBlock(exec, [l1, l2], data, { ...opts, iterations: 20, activations: new Map([['x', grid], ['r', grid]]), activationLr: 0.05 });
    expect(shared.learnedActivations).toBeUndefined();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
    exec.dispose();
  });
  it('learned biases: the mean shift of a clipping grid is taken up by the biases; kept only with the codes they were learned with', async () => {
    const { exec, x, l1, l2, y } = await randomBlock();
    const grid = { scale: 0.05, zeroPoint: 0, bits: 4, signed: false, min: 0, max: 0.75 };
    const data = blockData(['x', x, x], ['y', y]);
    const withBias = (l: BlockLayer, name: string): BlockLayer => ({ ...l, bias: { name, values: new Float32Array(l.scales.length) } });
    const before = tf.memory().numTensors;
    const fixed = await reconstructBlock(exec, [withBias(l1, 'b1'), withBias(l2, 'b2')], data, { ...opts, iterations: 150, activations: new Map([['r', grid]]) });
    const learned = await reconstructBlock(exec, [withBias(l1, 'b1'), withBias(l2, 'b2')], data, { ...opts, iterations: 150, activations: new Map([['r', grid]]), biasLr: 0.02 });
    expect(tf.memory().numTensors).toBe(before);
    expect(fixed.learnedBiases).toBeUndefined();
    const [b1, b2] = learned.learnedBiases!;
    expect(b2!.length).toBe(2);
    expect(Math.max(...b2!.map(Math.abs))).toBeGreaterThan(0.05);
    expect(b1!.length).toBe(16);
    expect(learned.originalBiasError).toBeGreaterThan(learned.blockError);
    expect(learned.blockError).toBeLessThan(0.8 * fixed.blockError);
    // a layer without a bias input learns none; the other still does
    const one = await reconstructBlock(exec, [l1, withBias(l2, 'b2')], data, { ...opts, iterations: 60, activations: new Map([['r', grid]]), biasLr: 0.02 });
    expect(one.learnedBiases?.[0]).toBeUndefined();
    expect(one.learnedBiases?.[1]?.length).toBe(2);
    tf.dispose([x, y]);
    exec.dispose();
  });

  it('learned weight scales (Genie-M): scales set too narrow grow back, the block error falls, the codes keep their floor', async () => {
    const { exec, x, l1, l2, y } = await randomBlock();
    // 3-bit grids at 0.6x the chosen scales: the largest weights clip at qmax
    const narrow = (l: BlockLayer): BlockLayer => {
      const scales = l.scales.map((v) => 0.6 * v);
      const k = l.weights.length / scales.length;
      const nearest = Int8Array.from(l.weights, (w, j) => Math.max(l.qmin, Math.min(l.qmax, Math.round(w / scales[Math.floor(j / k)]))));
      return { ...l, scales, nearest };
    };
    const layers = [narrow(l1), narrow(l2)];
    const data = blockData(['x', x, x], ['y', y]);
    const before = tf.memory().numTensors;
    const fixed = await reconstructBlock(exec, layers, data, { ...opts, iterations: 150 });
    const learned = await reconstructBlock(exec, layers, data, { ...opts, iterations: 150, weightScaleLr: 0.01 });
    expect(tf.memory().numTensors).toBe(before);
    expect(fixed.learnedWeightScales).toBeUndefined();
    const ratios = learned.learnedWeightScales!.flatMap((s, i) => Array.from(s, (v, c) => v / layers[i].scales[c]));
    expect(ratios.length).toBe(18);
    expect(ratios.reduce((a, r) => a + r, 0) / ratios.length).toBeGreaterThan(1.05);
    expect(learned.calibratedWeightScaleError).toBeGreaterThan(learned.blockError);
    expect(learned.blockError).toBeLessThan(0.9 * fixed.blockError);
    // the error reported is that of the codes at the learned scales
    const w = new Map(layers.map((l, i) => [l.weightName, tf.mul(tf.tensor(Float32Array.from(learned.codes[i]), l.dims), tf.tensor(learned.learnedWeightScales![i], [l.scales.length, 1]))]));
    const yq = exec.execute({ x }, { overrides: w }).outputs.get('y')!;
    const err = tf.tidy(() => tf.mean(tf.sum(tf.squaredDifference(yq, y), 1)).dataSync()[0]);
    expect(err).toBeCloseTo(learned.blockError, 4);
    for (const [i, l] of layers.entries()) for (const c of learned.codes[i]) expect(c >= l.qmin && c <= l.qmax).toBe(true);
    tf.dispose([...w.values(), yq, x, y]);
    exec.dispose();
  });

  it('never reads a tensor synchronously (tfjs-webgpu cannot: it fails in mapAsync), with learned grids and biases', async () => {
    const { exec, x, l1, l2, y } = await randomBlock();
    const grid = { scale: 0.05, zeroPoint: 0, bits: 4, signed: false, min: 0, max: 0.75 };
    const withBias = (l: BlockLayer, name: string): BlockLayer => ({ ...l, bias: { name, values: new Float32Array(l.scales.length) } });
    const sync = vi.spyOn(tf.Tensor.prototype, 'dataSync').mockImplementation(() => {
      throw new Error('dataSync called');
    });
    try {
      const r = await reconstructBlock(exec, [withBias(l1, 'b1'), withBias(l2, 'b2')], blockData(['x', x, x], ['y', y]), { ...opts, iterations: 20, activations: new Map([['r', grid]]), activationLr: 0.01, biasLr: 0.02 });
      expect(r.blockError).toBeGreaterThan(0);
      expect(sync).not.toHaveBeenCalled();
    } finally {
      sync.mockRestore();
      tf.dispose([x, y]);
      exec.dispose();
    }
  });

  it('the logit term: errors of two channels that cancel in the logits, which the block output error cannot see', async () => {
    // x in [1, 3] (one feature) -> h = [0.3 x, 0.45 x] -> Relu -> logits [h1 + h2, 0] (float: [0.75 x, 0]), grid
    // step 1. The block (fc1, output h) alone keeps the nearest codes [0, 0] (each channel's own error is
    // smallest there) and the logits collapse to [0, 0]; through the rest of the network the second code
    // up gives [x, 0], close to the float logits: the logit term must find it.
    const g = twoGemms({ dtype: 'float32', dims: [2, 1], data: Float32Array.of(0.3, 0.45) }, { dtype: 'float32', dims: [2, 2], data: Float32Array.of(1, 1, 0, 0) });
    const exec = new GraphExecutor(g);
    const x = tf.tensor2d(Float32Array.from({ length: 64 }, (_, i) => 1 + (2 * i) / 63), [64, 1]);
    const w = g.initializers.get('w1')!;
    const l1: BlockLayer = { weightName: 'w1', weights: w.data as Float32Array, dims: w.dims, axis: 0, scales: new Float32Array(2).fill(1), qmin: -8, qmax: 7, nearest: Int8Array.of(0, 0) };
    const [h, y] = floatValues(exec, x, ['h', 'y']);
    const logitsOf = (outs: Map<string, { tensor: tf.Tensor; layout: 'plain' | 'NHWC' | 'NCHW' }>) => {
      const r = exec.execute(new Map(), { start: outs, capture: ['y'], stopAfterCaptures: true });
      tf.dispose([...r.outputs.values()]);
      return r.captured.get('y')!.tensor;
    };
    const data = blockData(['x', x, x], ['h', h]);
    const before = tf.memory().numTensors;
    // lambda 1: the soft rounding here can reproduce the float weights exactly (zero block error), so the
    // regulariser must be strong enough to force a decision within 300 iterations
    const plain = await reconstructBlock(exec, [l1], data, { ...opts, lambda: 1 });
    // relative weight 2: the KL is scaled to twice the block output error of the nearest codes [0, 0]
    const withLogits = await reconstructBlock(exec, [l1], data, { ...opts, lambda: 1, logits: { weight: 2, floatLogits: y, logitsOf, batch: 8 } });
    expect(tf.memory().numTensors).toBe(before);
    expect(Array.from(plain.codes[0])).toEqual([0, 0]);
    expect(Array.from(withLogits.codes[0])).toEqual([0, 1]);
    // the objective reported: block output error plus klWeight x the mean KL of the logits, over all images
    const parts = (codes: Int8Array) => tf.tidy(() => {
      const hq = exec.execute({ x }, { capture: ['h', 'y'], overrides: weightsOf([l1], [codes]) });
      return [tf.mean(tf.sum(tf.squaredDifference(hq.captured.get('h')!.tensor, h), 1)).dataSync()[0], logitKl(y, hq.captured.get('y')!.tensor).dataSync()[0]];
    });
    const [mse0, kl0] = parts(l1.nearest);
    expect(withLogits.klWeight).toBeCloseTo((2 * mse0) / kl0, 3);
    const [mse, kl] = parts(withLogits.codes[0]);
    expect(withLogits.blockError).toBeCloseTo(mse + withLogits.klWeight! * kl, 4);
    expect(withLogits.nearestError).toBeCloseTo(3 * mse0, 4);
    expect(withLogits.blockError).toBeLessThan(withLogits.nearestError);
    expect(plain.klWeight).toBeUndefined();
    tf.dispose([x, h, y]);
    exec.dispose();
  });
});
