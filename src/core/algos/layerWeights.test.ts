import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Node } from '../ir/types.js';
import { dequantizedWeight } from '../quant/fakeQuant.js';
import type { SecondMoments } from './adaptiveRounding.js';
import { quantizeLayerWeights, weightLayout } from './layerWeights.js';
import { convGeometry, im2colNHWC, SecondMomentAccumulator } from './secondMoments.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** E||W~ x~ - W x||^2 over the rows of the column matrices, with weights as C_out x K row matrices. */
function directLoss(colsQ: tf.Tensor2D, cols: tf.Tensor2D, wq: Float32Array, w: Float32Array, cOut: number): number {
  return tf.tidy(() => {
    const k = cols.shape[1];
    const yq = tf.matMul(colsQ, tf.tensor2d(wq, [cOut, k]), false, true);
    const y = tf.matMul(cols, tf.tensor2d(w, [cOut, k]), false, true);
    return yq.sub(y).square().sum().dataSync()[0] / cols.shape[0];
  });
}

describe('quantizeLayerWeights', () => {
  it('grouped Conv: per-group adaptive rounding, codes in OIHW, loss equals the output error on the columns', async () => {
    const before = tf.memory().numTensors;
    const node: Node = { name: 'conv', opType: 'Conv', inputs: ['x', 'w'], outputs: ['y'], attrs: { group: 2, pads: [1, 1, 1, 1], kernel_shape: [3, 3] } };
    const wData = tf.tidy(() => tf.randomNormal([6, 2, 3, 3], 0, 0.3, 'float32', 3).dataSync() as Float32Array);
    const weight = { dtype: 'float32' as const, dims: [6, 2, 3, 3], data: wData };
    const lay = weightLayout(node, weight);
    expect(lay).toMatchObject({ axis: 0, cOut: 6, k: 18, groups: 2, kernelSize: 9, cinPerGroup: 2 });
    const x = tf.tidy(() => tf.relu(tf.randomNormal([2, 6, 6, 4], 0.3, 1, 'float32', 1))) as tf.Tensor4D;
    const xq = tf.tidy(() => x.add(tf.randomNormal(x.shape, 0, 0.1, 'float32', 2))) as tf.Tensor4D;
    const geom = convGeometry(node.attrs, weight.dims);
    const moments: SecondMoments[] = [];
    const colsPerGroup: [tf.Tensor2D, tf.Tensor2D][] = [];
    for (let gi = 0; gi < 2; gi++) {
      const g = { ...geom, channelStart: gi * 2, channelCount: 2 };
      const cq = im2colNHWC(xq, g);
      const c = im2colNHWC(x, g);
      const acc = new SecondMomentAccumulator(18);
      acc.add(cq, c);
      moments.push(await acc.result());
      acc.dispose();
      colsPerGroup.push([cq, c]);
    }
    const near = await quantizeLayerWeights(node, weight, { bits: 3, perChannel: true, rounding: 'nearest', moments });
    const ada = await quantizeLayerWeights(node, weight, { bits: 3, perChannel: true, rounding: 'adaptive', moments, adaround: { iterations: 300 } });
    expect(ada.codes.length).toBe(wData.length);
    for (const c of ada.codes) expect(c >= -4 && c <= 3).toBe(true);
    expect(ada.scales.length).toBe(6);
    expect(near.flippedFraction).toBe(0);
    expect(ada.flippedFraction).toBeGreaterThan(0);
    expect(ada.adaptiveLoss!).toBeLessThan(ada.nearestLoss!);
    expect(near.nearestLoss!).toBeCloseTo(ada.nearestLoss!, 6);
    // the reported losses are the real output errors (layout of codes, scales and columns agree)
    const deq = (codes: Int8Array) => dequantizedWeight(codes, ada.scales, weight.dims, 0);
    let dAda = 0;
    let dNear = 0;
    for (let gi = 0; gi < 2; gi++) {
      const sl = (a: Float32Array) => a.subarray(gi * 3 * 18, (gi + 1) * 3 * 18);
      dAda += directLoss(colsPerGroup[gi][0], colsPerGroup[gi][1], sl(deq(ada.codes)), sl(wData), 3);
      dNear += directLoss(colsPerGroup[gi][0], colsPerGroup[gi][1], sl(deq(near.codes)), sl(wData), 3);
    }
    expect(dAda).toBeCloseTo(ada.adaptiveLoss!, 3);
    expect(dNear).toBeCloseTo(ada.nearestLoss!, 3);
    tf.dispose([x, xq, ...colsPerGroup.flat()]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('Gemm transB=0: codes in (K, N) layout, per-tensor scale, nearest without moments', async () => {
    const node: Node = { name: 'fc', opType: 'Gemm', inputs: ['a', 'b'], outputs: ['y'], attrs: {} };
    const data = new Float32Array([0.1, -0.2, 0.3, 0.4, 0.5, -0.6, 0.7, 0.8]); // K=4 x N=2
    const r = await quantizeLayerWeights(node, { dtype: 'float32', dims: [4, 2], data }, { bits: 8, perChannel: false, rounding: 'nearest', scaleMethod: 'max' });
    expect(r.axis).toBe(1);
    expect(r.scales.length).toBe(1);
    expect(r.scales[0]).toBeCloseTo(0.8 / 127, 8);
    expect(Array.from(r.codes)).toEqual(Array.from(data, (v) => Math.round(v / r.scales[0])));
    await expect(quantizeLayerWeights(node, { dtype: 'float32', dims: [4, 2], data }, { bits: 4, perChannel: true, rounding: 'adaptive' })).rejects.toThrow(/second moments/);
  });

  it('rejects layers it does not quantize', () => {
    const node: Node = { name: 'ct', opType: 'ConvTranspose', inputs: [], outputs: [], attrs: {} };
    expect(() => weightLayout(node, { dtype: 'float32', dims: [2, 2, 3, 3], data: new Float32Array(36) })).toThrow(/ConvTranspose/);
  });
});
