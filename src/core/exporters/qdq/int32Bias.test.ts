import { describe, expect, it } from 'vitest';
import { fitBiasToInt32 } from './int32Bias.js';
import { quantizeBias } from './qdqOnnxExporter.js';

describe('fitBiasToInt32', () => {
  // 2 output channels x 3 weights; channel 1 has tiny weights (scale 1e-6) and a bias of 50
  const layer = { weightCodes: Int8Array.from([10, -20, 127, 3, -5, 100]), weightScales: Float32Array.from([0.01, 1e-6]), weightBits: 8, axis: 0 };
  const bias = Float32Array.from([0.5, 50]);
  const inputScale = 0.02;

  it('widens only the channel whose bias would saturate, so that the bias dequantizes to itself', () => {
    expect(quantizeBias(bias, inputScale, layer.weightScales).codes[1]).toBe(2147483647); // saturated as planned
    const f = fitBiasToInt32(layer, [2, 3], bias, inputScale)!;
    expect(f.weightScales[0]).toBe(layer.weightScales[0]);
    expect(f.weightScales[1]).toBeGreaterThan(layer.weightScales[1]);
    const { codes, scales } = quantizeBias(bias, inputScale, f.weightScales);
    expect(Math.abs(codes[1])).toBeLessThan(2147483647);
    expect(codes[1] * scales[1]).toBeCloseTo(50, 3);
    // channel 0 codes unchanged; channel 1 re-rounded to the coarser grid, the weights it stands for kept
    expect(Array.from(f.weightCodes.slice(0, 3))).toEqual([10, -20, 127]);
    for (let i = 3; i < 6; i++) expect(Math.abs(f.weightCodes[i] * f.weightScales[1] - layer.weightCodes[i] * 1e-6)).toBeLessThanOrEqual(f.weightScales[1] / 2 + 1e-12);
  });

  it('changes nothing when every bias fits, or without a bias or an input grid', () => {
    expect(fitBiasToInt32(layer, [2, 3], Float32Array.from([0.5, 1e-3]), inputScale)).toBeUndefined();
    expect(fitBiasToInt32(layer, [2, 3], undefined, inputScale)).toBeUndefined();
    expect(fitBiasToInt32(layer, [2, 3], bias, undefined)).toBeUndefined();
  });

  it('per-tensor weights: the one scale grows to fit the largest bias', () => {
    const f = fitBiasToInt32({ ...layer, weightScales: Float32Array.from([1e-6]) }, [2, 3], bias, inputScale)!;
    expect(f.weightScales).toHaveLength(1);
    expect(Math.abs(quantizeBias(bias, inputScale, f.weightScales).codes[1])).toBeLessThan(2147483647);
  });
});
