import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Graph } from '../ir/types.js';
import { defaultQuantConfig } from '../quant/config.js';
import { initBackend } from '../runtime/backends.js';
import { GraphExecutor } from '../runtime/executor.js';
import { seeded } from '../testing/opCheck.js';
import { quantizeGraph, type QuantizeGraphResult } from './quantizeGraph.js';

const f32 = (dims: number[], data: number[]) => ({ dtype: 'float32' as const, dims, data: Float32Array.from(data) });

/**
 * x [N,2,8,8] -> 1x1 conv whose output channel 1 is 1/200 of channel 0's scale (a folded BN with a small
 * gamma) -> 3x3 depthwise conv that scales channel 1 back up (its own folded BN) -> y.
 */
function drownedChannelNet(): Graph {
  return {
    name: 'drowned', format: 'onnx', interfaceLayout: 'NCHW', opset: 13, metadata: {}, valueInfo: new Map(),
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 2, 8, 8] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 2, 8, 8] }],
    nodes: [
      { name: 'pw', opType: 'Conv', inputs: ['x', 'w1', 'b1'], outputs: ['a'], attrs: { kernel_shape: [1, 1] } },
      { name: 'dw', opType: 'Conv', inputs: ['a', 'w2', 'b2'], outputs: ['y'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], group: 2 } },
    ],
    initializers: new Map([
      ['w1', f32([2, 2, 1, 1], [1, 0.3, 0.002, 0.004])],
      ['b1', f32([2], [0, 0])],
      ['w2', f32([2, 1, 3, 3], [...Array(9).fill(1 / 9), ...Array(9).fill(200 / 9)])],
      ['b2', f32([2], [0, 0])],
    ]),
  };
}

const N = 8;
const calibration = { images: seeded(N * 2 * 8 * 8, 5), shape: [N, 2, 8, 8] };
const cfg = { ...defaultQuantConfig(), weightBits: 8 as const, activationBits: 8 as const, rounding: 'nearest' as const };

/** SQNR (dB) of output channel `c` of the exported graph against the float graph on the calibration images. */
function channelSqnr(q: QuantizeGraphResult, c: number): number {
  const run = (g: Graph) => {
    const e = new GraphExecutor(g);
    const x = tf.tensor(calibration.images, calibration.shape);
    const y = e.execute({ x }).outputs.get('y')!;
    const ch = tf.slice(y, [0, c, 0, 0], [N, 1, 8, 8]);
    const data = ch.dataSync() as Float32Array;
    tf.dispose([x, y, ch]);
    e.dispose();
    return data;
  };
  const ref = run(q.folded);
  const got = run(q.qdq);
  let s = 0;
  let e = 0;
  for (let i = 0; i < ref.length; i++) {
    s += ref[i] ** 2;
    e += (ref[i] - got[i]) ** 2;
  }
  return 10 * Math.log10(s / e);
}

let kept: QuantizeGraphResult;
let all: QuantizeGraphResult;
let a4: QuantizeGraphResult;
let a4dw4: QuantizeGraphResult;
beforeAll(async () => {
  await initBackend('wasm');
  const before = tf.memory().numTensors;
  kept = await quantizeGraph(drownedChannelNet(), calibration, cfg);
  all = await quantizeGraph(drownedChannelNet(), calibration, cfg, undefined, undefined, { floatActivationsBelowDb: null });
  a4 = await quantizeGraph(drownedChannelNet(), calibration, { ...cfg, activationBits: 4 });
  a4dw4 = await quantizeGraph(drownedChannelNet(), calibration, { ...cfg, activationBits: 4, overrides: { dw: { activationBits: 4 } } });
  expect(tf.memory().numTensors).toBe(before);
}, 60_000);

describe('activation fallback: a channel the per-tensor grid drowns before a depthwise conv', () => {
  it('keeps that activation float, says why, and quantizes the rest', () => {
    expect(kept.activationFallback.float.map((f) => f.value)).toEqual(['a']);
    expect(kept.activationFallback.float[0].reason).toMatch(/output channel 1 of dw at -?\d+\.\d dB SQNR \(< 20 dB\)/);
    expect(kept.activationFallback.sqnr.a.db).toBeLessThan(10);
    expect(kept.activationFallback.sqnr.x.db).toBeGreaterThan(20);
    expect(kept.activationFallback.sqnr.x.db).toBeGreaterThan(30);
    expect(Object.keys(kept.plan.activations)).not.toContain('a');
    expect(Object.keys(kept.plan.activations)).toEqual(expect.arrayContaining(['x', 'y']));
    expect(kept.notes.join(' ')).toMatch(/1 activation\(s\) kept float/);
  });

  it('with the rule off every point is quantized and the drowned channel comes out as noise', () => {
    expect(all.activationFallback.float).toEqual([]);
    expect(Object.keys(all.plan.activations)).toContain('a');
    const off = channelSqnr(all, 1);
    const on = channelSqnr(kept, 1);
    expect(off).toBeLessThan(10);
    expect(on).toBeGreaterThan(off + 20);
  });

  it('judges only the 8-bit grids a config asks for: at A4 the depthwise input keeps the depthwise rule\'s 8-bit grid, unjudged', () => {
    expect(a4.activationFallback.float).toEqual([]);
    expect(a4.plan.activations.a?.bits).toBe(8);
    expect(a4.layers.find((l) => l.name === 'dw')?.activationBits).toBe(8);
    expect(a4.notes.join(' ')).toMatch(/Depthwise layers keep 8-bit inputs .*1 layer\(s\), dw/);
  });

  it('4-bit activations a per-layer override asks for stay 4 bit, and the report says so', () => {
    expect(a4dw4.activationFallback.float).toEqual([]);
    expect(a4dw4.plan.activations.a?.bits).toBe(4);
    expect(a4dw4.layers.find((l) => l.name === 'dw')?.activationBits).toBe(4);
  });

  it('the report gives a layer whose input the rule kept float activation bits 32, not the 8 asked for', () => {
    expect(kept.layers.find((l) => l.name === 'dw')?.activationBits).toBe(32);
    expect(all.layers.find((l) => l.name === 'dw')?.activationBits).toBe(8);
  });
});
