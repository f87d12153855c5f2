import { beforeAll, describe, expect, it } from 'vitest';
import { importOnnx } from '../importers/onnx/importOnnx.js';
import { defaultQuantConfig } from '../quant/config.js';
import { dequantizedWeight } from '../quant/fakeQuant.js';
import { fakeQuantize } from '../quant/primitives.js';
import { initBackend } from '../runtime/backends.js';
import { buildOnnxModel } from '../testing/onnxBuilder.js';
import { seeded } from '../testing/opCheck.js';
import { quantizeGraph } from './quantizeGraph.js';

/**
 * x [N, 8] -> Gemm A (random weights) -> Relu -> Gemm B (every weight +-0.5: exact on its 8-bit grid) -> y.
 * Layer B's input carries a mean shift (A's weight error through the Relu, the Relu output's 8-bit grid),
 * but B's own weights have no error: bias correction must leave B's bias alone (correcting the upstream
 * shift at every layer cascades through nonlinearities; algos/biasCorrection.ts), and move A's bias by
 * exactly A's own weight error on its quantized input, (W~ - W) E[x~].
 */
const N = 64;
const wA = seeded(8 * 8, 5, -1, 1);
const bA = seeded(8, 6, -0.2, 0.2);
const wB = Float32Array.from({ length: 4 * 8 }, (_, i) => ((i * 7) % 3 === 0 ? -0.5 : 0.5));
const bB = Float32Array.from([0.1, -0.2, 0.3, 0]);
const graph = importOnnx(buildOnnxModel({
  inputs: [{ name: 'x', shape: ['N', 8] }],
  outputs: [{ name: 'y', shape: ['N', 4] }],
  initializers: [
    { name: 'wA', dims: [8, 8], data: wA },
    { name: 'bA', dims: [8], data: bA },
    { name: 'wB', dims: [4, 8], data: wB },
    { name: 'bB', dims: [4], data: bB },
  ],
  nodes: [
    { opType: 'Gemm', inputs: ['x', 'wA', 'bA'], outputs: ['a'], attrs: { transB: 1 }, name: 'A' },
    { opType: 'Relu', inputs: ['a'], outputs: ['r'], name: 'relu' },
    { opType: 'Gemm', inputs: ['r', 'wB', 'bB'], outputs: ['y'], attrs: { transB: 1 }, name: 'B' },
  ],
}));
const calibration = { images: seeded(N * 8, 7, -2, 2), shape: [N, 8] };

beforeAll(async () => {
  await initBackend('wasm');
});

describe('bias correction in the pipeline', () => {
  it("corrects each layer's own weight error only, not the mean shift its input already carries", async () => {
    const cfg = { ...defaultQuantConfig(), weightBits: 8 as const, activationBits: 8 as const, rounding: 'nearest' as const, biasCorrection: true };
    const q = await quantizeGraph(graph, calibration, cfg, undefined, undefined, { floatActivationsBelowDb: null });
    const plan = (name: string) => q.plan.layers.find((l) => l.node === name)!;
    // precondition: B's weights are exact on their grid, A's are not
    const wBq = dequantizedWeight(plan('B').weightCodes, plan('B').weightScales, [4, 8], plan('B').axis);
    expect(Array.from(wBq)).toEqual(Array.from(wB));
    const wAq = dequantizedWeight(plan('A').weightCodes, plan('A').weightScales, [8, 8], plan('A').axis);
    expect(wAq.some((v, i) => Math.abs(v - wA[i]) > 1e-4)).toBe(true);
    // precondition: B's input is shifted in the quantized network (the old "empirical" correction, E[W~ x~] - E[W x], moved bB by ~1e-4 here)
    expect(q.plan.activations.r).toBeDefined();

    for (let o = 0; o < 4; o++) expect(plan('B').bias![o]).toBeCloseTo(bB[o], 6);

    // A: b' = b - (W~ - W) E[x~], x~ the graph input on its 8-bit grid
    const g = q.plan.activations.x;
    const xq = fakeQuantize(calibration.images, { scale: g.scale, zeroPoint: g.zeroPoint, bits: g.bits, signed: g.signed });
    const mean = new Float64Array(8);
    for (let i = 0; i < xq.length; i++) mean[i % 8] += xq[i] / N;
    for (let o = 0; o < 8; o++) {
      let shift = 0;
      for (let k = 0; k < 8; k++) shift += (wAq[o * 8 + k] - wA[o * 8 + k]) * mean[k];
      expect(plan('A').bias![o]).toBeCloseTo(bA[o] - shift, 5);
    }
  });
});
