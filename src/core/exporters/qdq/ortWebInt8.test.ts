/**
 * Target ort-web keeps full-range int8 weights: onnxruntime-web's WebAssembly kernels (the Node build runs
 * the same wasm as the page) do not saturate like the x86-64 AVX2 ones, so the worst case of
 * u8s8Saturation.test.ts must be exact there, with every graph optimization on.
 */
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { qdqOptionsForTarget } from './deploymentTargets.js';
import { u8s8WorstCase } from '../../testing/u8s8WorstCase.js';

ort.env.wasm.numThreads = 1;

describe('onnxruntime-web (wasm) with full-range int8 weights', () => {
  it('computes the worst case for int16 pair sums exactly', async () => {
    const worst = u8s8WorstCase(8, qdqOptionsForTarget('ort-web', 'wasm'));
    expect(worst.qdq.initializers.get('w_quantized')?.dtype).toBe('int8');
    const session = await ort.InferenceSession.create(worst.bytes, { graphOptimizationLevel: 'all' });
    const out = await session.run({ x: new ort.Tensor('float32', worst.input.data, worst.input.dims) });
    await session.release();
    expect(worst.stepsOff(out.y.data as Float32Array)).toBeLessThanOrEqual(0.501);
  });
});
