/**
 * The worst case for ONNX Runtime's U8S8 kernels on x86-64 without VNNI (vpmaddubsw adds pairs of
 * uint8 x int8 products in int16 and saturates): every input code 255 and every weight at the end of its
 * range. The forms ort-cpu writes must compute it exactly in ORT's integer kernels on every CPU: 7-bit
 * codes (|w0| + |w1| <= 128: 255 x 128 = 32640 fits int16) as int8, full-range codes as uint8 (U8U8).
 * Full-range int8 codes (ort-cpu-vnni) are exact only where the CPU has VNNI, so they are not asserted here.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { optimizedOpCounts } from '../../../../cli/lib/ortKernels.js';
import { COUT, u8s8WorstCase, type U8S8WorstCase } from '../../testing/u8s8WorstCase.js';
import { qdqOptionsForTarget } from './deploymentTargets.js';
import { unsignedWeights, U8S8_EXACT_CODE_LIMIT } from './qdqOnnxExporter.js';

async function integerConvs(bytes: Uint8Array): Promise<number> {
  const ops = await optimizedOpCounts(bytes);
  return (ops['com.microsoft.QLinearConv'] ?? 0) + (ops.QLinearConv ?? 0);
}

/** How far ORT's output lies from the exact result, in output steps, at the given optimization level. */
async function stepsOffInOrt(worst: U8S8WorstCase, level: 'all' | 'disabled'): Promise<number> {
  const session = await ort.InferenceSession.create(worst.bytes, { graphOptimizationLevel: level, intraOpNumThreads: 1 });
  const out = await session.run({ x: new ort.Tensor('float32', worst.input.data, worst.input.dims) });
  await session.release();
  return worst.stepsOff(out.y.data as Float32Array);
}

describe('ORT U8S8 saturation (x86-64 without VNNI)', () => {
  it('ort-cpu with 7-bit codes at their extremes: int8 weights, one integer kernel, exact', async () => {
    const worst = u8s8WorstCase(7, qdqOptionsForTarget('ort-cpu', 'x64'));
    const { bytes, plan } = worst;
    expect(unsignedWeights(plan.layers[0].weightCodes, 'avx2-exact', 8)).toBe(false);
    expect(Math.max(...Array.from(plan.layers[0].weightCodes, Math.abs))).toBe(U8S8_EXACT_CODE_LIMIT); // qmin -64
    expect(await integerConvs(bytes)).toBe(1);
    expect(await stepsOffInOrt(worst, 'all')).toBeLessThanOrEqual(0.5 + 1e-3);
  });

  it('full-range 8-bit codes under ort-cpu are written as uint8 (U8U8): one integer kernel, exact', async () => {
    const worst = u8s8WorstCase(8, qdqOptionsForTarget('ort-cpu', 'x64'));
    const { qdq, bytes, plan } = worst;
    expect(unsignedWeights(plan.layers[0].weightCodes, 'avx2-exact', 8)).toBe(true);
    // input codes below 8 bits (<= 15) or a float input cannot saturate: int8 stays
    expect(unsignedWeights(plan.layers[0].weightCodes, 'avx2-exact', 4)).toBe(false);
    expect(unsignedWeights(plan.layers[0].weightCodes, 'avx2-exact', undefined)).toBe(false);
    expect(qdq.initializers.get('w_quantized')?.dtype).toBe('uint8');
    expect(qdq.initializers.get('w_zero_point')?.data).toEqual(new Uint8Array(COUT).fill(128));
    expect(await integerConvs(bytes)).toBe(1);
    expect(await stepsOffInOrt(worst, 'all')).toBeLessThanOrEqual(0.5 + 1e-3);
  });

  it('ort-cpu-vnni keeps full-range int8 codes; the graph computes them exactly where ORT does not fuse integer kernels', async () => {
    const worst = u8s8WorstCase(8, qdqOptionsForTarget('ort-cpu-vnni', 'x64'));
    expect(worst.qdq.initializers.get('w_quantized')?.dtype).toBe('int8');
    expect(await stepsOffInOrt(worst, 'disabled')).toBeLessThanOrEqual(0.501);
  });
});
