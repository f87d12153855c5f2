import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerWasmGradKernels, unregisterWasmGradKernels } from './wasmGradKernels';

/** Deterministic values in [-1, 1). */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

interface Case {
  name: string;
  x: [number, number, number, number];
  w: [number, number, number, number];
  strides: number | [number, number];
  dilations: number;
  pad: 'same' | 'valid' | number[][];
  depthwise?: boolean;
}

/** Zero-inserts the filter taps so that a dilation-1 conv equals the dilated one (reference for dilation > 1). */
function dilateFilter(w: tf.Tensor4D, d: number): tf.Tensor4D {
  if (d === 1) return w;
  const [fh, fw, a, b] = w.shape;
  const r = tf.reshape(w, [fh, 1, fw, 1, a, b]);
  const p = tf.pad(r, [[0, 0], [0, d - 1], [0, 0], [0, d - 1], [0, 0], [0, 0]]);
  const full = tf.reshape(p, [fh * d, fw * d, a, b]) as tf.Tensor4D;
  return tf.slice(full, [0, 0, 0, 0], [(fh - 1) * d + 1, (fw - 1) * d + 1, a, b]) as tf.Tensor4D;
}

/** d(sum(conv(x, w) * r))/dx and /dw, as arrays, on the current backend. */
function gradients(c: Case, viaDilatedFilter: boolean): { dx: Float32Array; dw: Float32Array } {
  return tf.tidy(() => {
    const x = tf.tensor4d(values(size(c.x), 1), c.x);
    const w = tf.tensor4d(values(size(c.w), 2), c.w);
    const conv = (xx: tf.Tensor4D, ww: tf.Tensor4D): tf.Tensor4D => {
      const pad = c.pad as 'same';
      if (viaDilatedFilter) {
        const wd = dilateFilter(ww, c.dilations);
        return c.depthwise ? tf.depthwiseConv2d(xx, wd, c.strides, pad) : tf.conv2d(xx, wd, c.strides, pad);
      }
      return c.depthwise
        ? tf.depthwiseConv2d(xx, ww, c.strides, pad, 'NHWC', c.dilations)
        : tf.conv2d(xx, ww, c.strides, pad, 'NHWC', c.dilations);
    };
    const outShape = tf.tidy(() => conv(x, w).shape);
    const r = tf.tensor(values(size(outShape), 3), outShape);
    const [dx, dw] = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.mul(conv(xx as tf.Tensor4D, ww as tf.Tensor4D), r)))([x, w]);
    expect(dx.shape).toEqual(c.x);
    expect(dw.shape).toEqual(c.w);
    return { dx: dx.dataSync() as Float32Array, dw: dw.dataSync() as Float32Array };
  });
}

function relErr(a: Float32Array, ref: Float32Array): number {
  let maxDiff = 0, scale = 0;
  for (let i = 0; i < ref.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(a[i] - ref[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  return maxDiff / Math.max(scale, 1e-12);
}

const cases: Case[] = [
  { name: 'plain 3x3 same', x: [2, 8, 8, 3], w: [3, 3, 3, 4], strides: 1, dilations: 1, pad: 'same' },
  { name: 'valid 3x3', x: [2, 8, 7, 3], w: [3, 3, 3, 4], strides: 1, dilations: 1, pad: 'valid' },
  { name: 'stride 2 same', x: [2, 8, 8, 4], w: [3, 3, 4, 5], strides: 2, dilations: 1, pad: 'same' },
  { name: 'stride 2 odd 7x9 same', x: [2, 7, 9, 3], w: [3, 3, 3, 4], strides: 2, dilations: 1, pad: 'same' },
  { name: 'stride 2 odd 7x9 valid', x: [1, 7, 9, 3], w: [3, 3, 3, 2], strides: 2, dilations: 1, pad: 'valid' },
  { name: 'stride 2 explicit pad', x: [2, 9, 8, 3], w: [3, 3, 3, 4], strides: 2, dilations: 1, pad: [[0, 0], [1, 0], [2, 1], [0, 0]] },
  { name: 'explicit asymmetric pad', x: [1, 6, 7, 2], w: [3, 2, 2, 3], strides: 1, dilations: 1, pad: [[0, 0], [0, 2], [1, 0], [0, 0]] },
  { name: 'dilation 2 same', x: [2, 9, 9, 3], w: [3, 3, 3, 4], strides: 1, dilations: 2, pad: 'same' },
  { name: 'dilation 2 valid', x: [1, 9, 8, 2], w: [3, 3, 2, 3], strides: 1, dilations: 2, pad: 'valid' },
  { name: '1x1', x: [2, 5, 5, 6], w: [1, 1, 6, 4], strides: 1, dilations: 1, pad: 'valid' },
  { name: '1x1 stride 2', x: [2, 8, 7, 6], w: [1, 1, 6, 4], strides: 2, dilations: 1, pad: 'same' },
  { name: '5x5 stride 2 large pad', x: [1, 11, 11, 2], w: [5, 5, 2, 3], strides: 2, dilations: 1, pad: 'same' },
  { name: 'strides [1,2] same', x: [2, 7, 8, 3], w: [3, 3, 3, 2], strides: [1, 2], dilations: 1, pad: 'same' },
  { name: 'stride 3, 5x5', x: [1, 10, 11, 2], w: [5, 5, 2, 3], strides: 3, dilations: 1, pad: 'same' },
  { name: 'pads larger than the kernel', x: [1, 6, 6, 2], w: [3, 3, 2, 2], strides: 1, dilations: 1, pad: [[0, 0], [3, 4], [0, 3], [0, 0]] },
  { name: 'stride 2, pads larger than the kernel', x: [1, 6, 7, 2], w: [3, 3, 2, 2], strides: 2, dilations: 1, pad: [[0, 0], [0, 4], [3, 1], [0, 0]] },
  { name: 'depthwise m1 same', x: [2, 8, 8, 4], w: [3, 3, 4, 1], strides: 1, dilations: 1, pad: 'same', depthwise: true },
  { name: 'depthwise m2 same', x: [2, 8, 8, 3], w: [3, 3, 3, 2], strides: 1, dilations: 1, pad: 'same', depthwise: true },
  { name: 'depthwise m2 stride 2 odd', x: [2, 7, 9, 3], w: [3, 3, 3, 2], strides: 2, dilations: 1, pad: 'same', depthwise: true },
  { name: 'depthwise m1 stride 2 valid', x: [1, 9, 8, 4], w: [3, 3, 4, 1], strides: 2, dilations: 1, pad: 'valid', depthwise: true },
  { name: 'depthwise explicit pad', x: [1, 7, 6, 2], w: [3, 3, 2, 2], strides: 1, dilations: 1, pad: [[0, 0], [2, 0], [1, 1], [0, 0]], depthwise: true },
  { name: 'depthwise m3 strides [2,1] 5x3', x: [1, 9, 6, 2], w: [5, 3, 2, 3], strides: [2, 1], dilations: 1, pad: 'same', depthwise: true },
  { name: 'depthwise dilation 2', x: [2, 9, 9, 3], w: [3, 3, 3, 2], strides: 1, dilations: 2, pad: 'same', depthwise: true },
  // more than 32x32 output positions: the filter gradient takes its JavaScript loop instead of XNNPACK
  { name: 'depthwise m2 34x35 (loop path)', x: [1, 34, 35, 2], w: [3, 3, 2, 2], strides: 1, dilations: 1, pad: 'same', depthwise: true },
  { name: 'depthwise m1 stride 2 5x5 on 66x66 (loop path)', x: [1, 66, 66, 2], w: [5, 5, 2, 1], strides: 2, dilations: 1, pad: [[0, 0], [2, 1], [2, 2], [0, 0]], depthwise: true },
];

describe('wasm convolution gradients', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
    registerWasmGradKernels();
  });

  for (const c of cases) {
    it(`${c.name}: dx and dw match the cpu backend`, async () => {
      // tfjs gradients reject dilation > 1, so the reference uses an explicitly dilated filter.
      await tf.setBackend('cpu');
      const ref = gradients(c, c.dilations > 1);
      await tf.setBackend('wasm');
      const before = tf.memory().numTensors;
      const got = gradients(c, false);
      expect(tf.memory().numTensors).toBe(before);
      expect(relErr(got.dx, ref.dx)).toBeLessThan(1e-4);
      expect(relErr(got.dw, ref.dw)).toBeLessThan(1e-4);
    });
  }
});

describe('dilated convolution gradients on cpu (tfjs rejects them; our gradient registration adds them)', () => {
  for (const c of cases.filter((k) => k.dilations > 1)) {
    it(`${c.name}: cpu matches wasm`, async () => {
      registerWasmGradKernels();
      await tf.setBackend('wasm');
      const wasm = gradients(c, false);
      await tf.setBackend('cpu');
      const before = tf.memory().numTensors;
      const cpu = gradients(c, false);
      expect(tf.memory().numTensors).toBe(before);
      expect(relErr(cpu.dx, wasm.dx)).toBeLessThan(1e-4);
      expect(relErr(cpu.dw, wasm.dw)).toBeLessThan(1e-4);
    });
  }
});

describe('fused conv2d (bias, linear) on wasm uses the backprop kernels', () => {
  it('dx, dw and dbias match cpu', async () => {
    registerWasmGradKernels();
    const run = () => tf.tidy(() => {
      const x = tf.tensor4d(values(2 * 7 * 9 * 3, 1), [2, 7, 9, 3]);
      const w = tf.tensor4d(values(3 * 3 * 3 * 4, 2), [3, 3, 3, 4]);
      const b = tf.tensor1d(values(4, 3));
      const r = tf.tensor4d(values(2 * 4 * 5 * 4, 4), [2, 4, 5, 4]);
      const f = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) =>
        tf.sum(tf.mul(tf.fused.conv2d({ x: xx as tf.Tensor4D, filter: ww as tf.Tensor4D, bias: bb, strides: 2, pad: 'same' }), r));
      return tf.grads(f)([x, w, b]).map((t) => t.dataSync() as Float32Array);
    });
    await tf.setBackend('cpu');
    const ref = run();
    await tf.setBackend('wasm');
    const got = run();
    for (let i = 0; i < 3; i++) expect(relErr(got[i], ref[i])).toBeLessThan(1e-4);
  });
});

describe('tf.batchNorm gradient (registered without Tile)', () => {
  it('matches tfjs\'s own gradient for x, mean, variance, scale and offset, 1-D and broadcast parameters', async () => {
    await tf.setBackend('cpu');
    const grads = (paramShape: number[]) => tf.tidy(() => {
      const x = tf.tensor4d(values(2 * 3 * 4 * 5, 1), [2, 3, 4, 5]);
      const p = (seed: number, add = 0) => tf.tensor(values(5, seed).map((v) => v + add), paramShape);
      const r = tf.tensor4d(values(2 * 3 * 4 * 5, 9), [2, 3, 4, 5]);
      const f = (xx: tf.Tensor, m: tf.Tensor, v: tf.Tensor, s: tf.Tensor, o: tf.Tensor) =>
        tf.sum(tf.mul(tf.batchNorm(xx as tf.Tensor4D, m, v, o, s, 1e-3), r));
      return tf.grads(f)([x, p(2), p(3, 1.5), p(4), p(5)]).map((t) => t.dataSync() as Float32Array);
    });
    unregisterWasmGradKernels();
    const ref = grads([5]);
    registerWasmGradKernels();
    // tfjs's own gradient fails for rank-4 parameters (it reshapes an unreduced tensor), so both shapes are
    // checked against its rank-1 result.
    for (const paramShape of [[5], [1, 1, 1, 5]]) {
      const before = tf.memory().numTensors;
      const got = grads(paramShape);
      expect(tf.memory().numTensors).toBe(before);
      for (let i = 0; i < 5; i++) expect(relErr(got[i], ref[i])).toBeLessThan(1e-5);
    }
  });
});

describe('tf.relu6 gradient (registered without LessEqual)', () => {
  it('equals tfjs\'s own gradient exactly, at 0 and 6 too, on cpu and wasm', async () => {
    // values across both bends, with exact 0 and 6 (the mask is 1 on (0, 6])
    const xs = Float32Array.from(values(200, 3), (v, i) => (i % 10 === 0 ? 0 : i % 10 === 1 ? 6 : v * 8));
    const grad = () => tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.relu6(x), tf.tensor1d(values(200, 7)))))(tf.tensor1d(xs)).dataSync() as Float32Array);
    for (const backend of ['cpu', 'wasm']) {
      await tf.setBackend(backend);
      unregisterWasmGradKernels();
      const ref = grad();
      registerWasmGradKernels();
      const before = tf.memory().numTensors;
      const got = grad();
      expect(tf.memory().numTensors).toBe(before);
      expect(Array.from(got)).toEqual(Array.from(ref));
      expect(got.filter((g) => g === 0).length).toBeGreaterThan(20); // both sides of the mask are exercised
    }
  });
});
