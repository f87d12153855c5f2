import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { columnSumsNHWC, convGeometry, im2colNHWC, sampledColumnsNHWC, sampleRowIndices, SecondMomentAccumulator } from './secondMoments';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('im2colNHWC', () => {
  for (const [label, attrs] of [
    ['3x3 pad 1', { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1] }],
    ['3x3 stride 2 pad 1', { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2] }],
    ['1x1 stride 2', { kernel_shape: [1, 1], strides: [2, 2] }],
    ['2x3 dilation 2 asymmetric pads', { kernel_shape: [2, 3], pads: [0, 2, 1, 1], dilations: [2, 2] }],
  ] as const) {
    it(`columns times OIHW rows equal the convolution (${label})`, () => {
      const before = tf.memory().numTensors;
      const cin = 3;
      const cout = 4;
      const [kh, kw] = attrs.kernel_shape;
      const x = tf.randomNormal([2, 7, 6, cin], 0, 1, 'float32', 1) as tf.Tensor4D;
      const wOIHW = tf.randomNormal([cout, cin, kh, kw], 0, 1, 'float32', 2);
      const g = convGeometry(attrs as Record<string, unknown>, wOIHW.shape);
      const cols = im2colNHWC(x, g);
      const [a, b, shapes] = tf.tidy(() => {
        const viaCols = tf.matMul(cols, wOIHW.reshape([cout, cin * kh * kw]), false, true);
        const p = g.pads!;
        const xp = tf.pad(x, [[0, 0], [p[0], p[2]], [p[1], p[3]], [0, 0]]);
        const ref = tf.conv2d(xp as tf.Tensor4D, wOIHW.transpose([2, 3, 1, 0]) as tf.Tensor4D, g.strides!, 'valid', 'NHWC', g.dilations!);
        return [viaCols.dataSync(), ref.reshape([-1, cout]).dataSync(), [viaCols.shape, [ref.shape[0] * ref.shape[1] * ref.shape[2], cout]]];
      });
      expect(shapes[0]).toEqual(shapes[1]);
      for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i], 4);
      tf.dispose([x, wOIHW, cols]);
      expect(tf.memory().numTensors).toBe(before);
    });
  }
  it('takes one group\'s channels', () => {
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 1, 4]);
    const cols = im2colNHWC(x, { kernel: [1, 1], channelStart: 2, channelCount: 2 });
    expect(Array.from(cols.dataSync())).toEqual([3, 4, 7, 8]);
    tf.dispose([x, cols]);
  });
});

describe('SecondMomentAccumulator', () => {
  it('averages outer products and means over batches', async () => {
    const before = tf.memory().numTensors;
    const acc = new SecondMomentAccumulator(2);
    const x1 = tf.tensor2d([[1, 2], [3, 4]]);
    const q1 = tf.tensor2d([[1, 1], [3, 5]]);
    const x2 = tf.tensor2d([[0, 2]]);
    const q2 = tf.tensor2d([[1, 2]]);
    acc.add(q1, x1);
    acc.add(q2, x2);
    const m = await acc.result();
    // H = (x x^T summed)/3 over rows [1,2],[3,4],[0,2]
    expect(Array.from(m.H)).toEqual([10 / 3, 14 / 3, 14 / 3, 24 / 3].map((v) => Math.fround(v)));
    // C = E[xq x^T]: rows q=[1,1],[3,5],[1,2] with x=[1,2],[3,4],[0,2]
    expect(Array.from(m.C).map((v) => +v.toFixed(5))).toEqual([(1 + 9 + 0) / 3, (2 + 12 + 2) / 3, (1 + 15 + 0) / 3, (2 + 20 + 4) / 3].map((v) => +v.toFixed(5)));
    expect(Array.from(m.meanX).map((v) => +v.toFixed(5))).toEqual([4 / 3, 8 / 3].map((v) => +v.toFixed(5)));
    const z = tf.zeros([1, 3]) as tf.Tensor2D;
    expect(() => acc.add(z, x2)).toThrow(/columns/);
    z.dispose();
    acc.dispose();
    tf.dispose([x1, q1, x2, q2]);
    expect(tf.memory().numTensors).toBe(before);
  });
  it('sampleRowIndices is deterministic and distinct', () => {
    const a = sampleRowIndices(1000, 50, 3);
    expect(Array.from(a)).toEqual(Array.from(sampleRowIndices(1000, 50, 3)));
    expect(new Set(a).size).toBe(50);
    expect(sampleRowIndices(5, 10, 1).length).toBe(5);
  });
});

describe('sampled columns and column sums', () => {
  it('equal the chosen rows and the column sums of the full im2col (stride, pads, dilation)', async () => {
    const before = tf.memory().numTensors;
    const x = tf.randomNormal([2, 7, 6, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    for (const attrs of [{ kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2] }, { kernel_shape: [2, 3], pads: [0, 2, 1, 1], dilations: [2, 2] }, { kernel_shape: [1, 1] }]) {
      const g = convGeometry(attrs as Record<string, unknown>, [4, 3, ...attrs.kernel_shape]);
      const full = im2colNHWC(x, g);
      const rows = sampleRowIndices(full.shape[0], 9, 3);
      const picked = sampledColumnsNHWC(x, g, rows);
      const want = tf.tidy(() => tf.gather(full, tf.tensor1d(rows, 'int32')));
      expect(Array.from(await picked.data())).toEqual(Array.from(await want.data()));
      const { sums, count } = columnSumsNHWC(x, g);
      expect(count).toBe(full.shape[0]);
      const ref = full.sum(0);
      const [a, b] = [await sums.data(), await ref.data()];
      for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i], 3);
      tf.dispose([full, picked, want, sums, ref]);
    }
    x.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('grouped SecondMomentAccumulator', () => {
  it('gives each group the moments of its own column block', async () => {
    const before = tf.memory().numTensors;
    const groups = 3;
    const k = 4;
    const x = tf.randomNormal([50, groups * k], 0, 1, 'float32', 8) as tf.Tensor2D;
    const xq = tf.randomNormal([50, groups * k], 0, 1, 'float32', 9) as tf.Tensor2D;
    const acc = new SecondMomentAccumulator(k, groups);
    acc.add(xq, x);
    const all = await acc.results();
    expect(all.length).toBe(groups);
    for (let gi = 0; gi < groups; gi++) {
      const one = new SecondMomentAccumulator(k);
      const [sq, sx] = [xq.slice([0, gi * k], [50, k]), x.slice([0, gi * k], [50, k])];
      one.add(sq, sx);
      const m = await one.result();
      for (const key of ['G', 'C', 'H', 'meanX', 'meanXq'] as const) {
        const [a, b] = [all[gi][key], m[key]];
        expect(a.length).toBe(b.length);
        for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i], 4);
      }
      one.dispose();
      tf.dispose([sq, sx]);
    }
    await expect(acc.result()).rejects.toThrow(/groups/);
    acc.dispose();
    tf.dispose([x, xq]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
