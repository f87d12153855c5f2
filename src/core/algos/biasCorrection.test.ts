import { describe, expect, it } from 'vitest';
import { biasShift, biasShiftFromColumnMeans, correctedBias, correctedLayerBias } from './biasCorrection';

describe('bias correction', () => {
  it('linear layer: corrected output mean equals the float mean', () => {
    // W 2x3, W~ rounded; inputs with mean m
    const w = new Float32Array([0.12, -0.31, 0.55, 0.9, 0.04, -0.2]);
    const wq = new Float32Array([0.1, -0.3, 0.6, 0.9, 0.0, -0.2]);
    const xs = [
      [1, 2, 3],
      [3, 0, 1],
      [2, 4, -1],
    ];
    const mean = new Float32Array([2, 2, 1]);
    const shift = biasShift({ weights: w, quantWeights: wq, cOut: 2, kernelSize: 1, inputMean: mean });
    // hand: row0 (W~-W) = [-0.02, 0.01, 0.05] . [2,2,1] = 0.03; row1 = [0, -0.04, 0] . m = -0.08
    expect(shift[0]).toBeCloseTo(0.03, 6);
    expect(shift[1]).toBeCloseTo(-0.08, 6);
    const b = correctedBias(new Float32Array([1, -1]), shift);
    for (let o = 0; o < 2; o++) {
      let mf = 0;
      let mq = 0;
      for (const x of xs) {
        for (let i = 0; i < 3; i++) {
          mf += (w[o * 3 + i] * x[i]) / 3;
          mq += (wq[o * 3 + i] * x[i]) / 3;
        }
      }
      expect(mq + b[o]).toBeCloseTo(mf + [1, -1][o], 5);
    }
  });
  it('conv: uses the kernel sum per input channel, and groups', () => {
    // C_out=2, C_in=2, groups=2, kernel 2 taps: each output sees one channel
    const w = new Float32Array([1, 1, 2, 2]);
    const wq = new Float32Array([1.5, 1, 2, 1]);
    const s = biasShift({ weights: w, quantWeights: wq, cOut: 2, kernelSize: 2, inputMean: new Float32Array([10, 100]), groups: 2 });
    expect(Array.from(s)).toEqual([5, -100]);
    // exact weights: no shift, whatever the input mean (the input's own shift is not this layer's to correct)
    const q = biasShift({ weights: w, quantWeights: w, cOut: 2, kernelSize: 2, inputMean: new Float32Array([2, 3]), groups: 2 });
    expect(Array.from(q)).toEqual([0, 0]);
    expect(Array.from(correctedBias(undefined, s))).toEqual([-5, 100]);
  });
  it('column means give the same shift as channel means when there is no padding', () => {
    const w = new Float32Array([1, 1, 2, 2]);
    const wq = new Float32Array([1.5, 1, 2, 1]);
    // one group of 2 output channels over K = 1 channel x 2 taps; column means = channel mean per tap
    const s1 = biasShift({ weights: w, quantWeights: wq, cOut: 2, kernelSize: 2, inputMean: new Float32Array([10]) });
    const s2 = biasShiftFromColumnMeans(w, wq, 2, new Float32Array([10, 10]));
    expect(Array.from(s2)).toEqual(Array.from(s1));
    // with border padding the tap means differ; the column form uses them exactly
    expect(Array.from(biasShiftFromColumnMeans(w, wq, 2, new Float32Array([8, 10])))).toEqual([4, -10]);
    expect(() => biasShiftFromColumnMeans(w, wq, 2, new Float32Array(3))).toThrow(/column means/);
  });
  it('correctedLayerBias: each group reads its own columns; Gemm scales the shift by alpha / beta', () => {
    // depthwise-like: 2 groups, one output each, K = 2 taps; group 1's weight error must meet group 1's means only
    const rows = new Float32Array([1, 1, 2, 2]);
    const quantRows = new Float32Array([1.5, 1, 2, 1]); // errors [0.5, 0] and [0, -1]
    const inputMean = new Float32Array([10, 20, 100, 1000]);
    const b = correctedLayerBias({ rows, quantRows, cOut: 2, groups: 2, inputMean, bias: new Float32Array([1, 1]) });
    expect(Array.from(b)).toEqual([1 - 0.5 * 10, 1 + 1000]);
    const gemm = correctedLayerBias({ rows, quantRows, cOut: 2, groups: 1, inputMean: new Float32Array([2, 4]), alpha: 2, beta: 0.5 });
    // one group: shifts [0.5*2, -1*4] = [1, -4], times alpha/beta = 4; no bias given: zeros
    expect(Array.from(gemm)).toEqual([-4, 16]);
  });
});
