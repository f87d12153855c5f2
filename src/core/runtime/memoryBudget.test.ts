import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isLocalQuantError, LocalQuantError } from '../errors.js';
import { importOnnx } from '../importers/onnx/importOnnx.js';
import { cifarFixture } from '../testing/fixtures.js';
import { mobileNetV2Like } from '../testing/mobileNetV2Like.js';
import { activationBytesPerImage, asOutOfMemory, chooseBatch, memoryBudget } from './memoryBudget.js';

const resnet20 = () => importOnnx(new Uint8Array(readFileSync(cifarFixture('resnet20_bn.onnx'))));
/** The MobileNetV2-style test net at 224x224 (its convs and pools take any size). */
const mobileNet224 = () => importOnnx(mobileNetV2Like({ seed: 1 }));

describe('batch chooser', () => {
  it('gives a 224x224 MobileNet-like graph a smaller batch than ResNet-20, within the wasm budget', () => {
    const budget = memoryBudget('wasm');
    const r20 = activationBytesPerImage(resnet20());
    const mnet = activationBytesPerImage(mobileNet224(), { input: [3, 224, 224] });
    // ResNet-20: 19 conv + BN + Relu outputs of 16x32x32 .. 64x8x8 floats, about 1-2 MB per image
    expect(r20.total).toBeGreaterThan(0.5 * 2 ** 20);
    expect(r20.total).toBeLessThan(4 * 2 ** 20);
    expect(mnet.total).toBeGreaterThan(20 * r20.total);
    for (const purpose of ['synthesis', 'calibration'] as const) {
      const a = chooseBatch({ perImage: r20, budget, purpose, requested: 64 });
      const b = chooseBatch({ perImage: mnet, budget, purpose, requested: 64 });
      expect(a).toEqual({ batch: 64 });
      expect(b.batch).toBeLessThan(32); // synthesis at batch >= 32 trapped on a 224x224 MobileNetV2
      expect(b.batch).toBeGreaterThanOrEqual(1);
      expect(b.reduced).toMatch(/instead of 64/);
      // the chosen batch fits, one more image would not (or the request is met)
      const factor = purpose === 'synthesis' ? 3 : 1.5;
      expect(b.batch * factor * mnet.total).toBeLessThanOrEqual(budget.bytes);
      expect((b.batch + 1) * factor * mnet.total).toBeGreaterThan(budget.bytes);
    }
    // synthesis keeps gradients too: never a larger batch than calibration
    expect(chooseBatch({ perImage: mnet, budget, purpose: 'synthesis', requested: 64 }).batch).toBeLessThan(chooseBatch({ perImage: mnet, budget, purpose: 'calibration', requested: 64 }).batch);
  });

  it('WebGPU budget follows the adapter limits; OUT_OF_MEMORY when one image cannot fit', () => {
    const small = memoryBudget('webgpu', { maxBufferSize: 64 * 2 ** 20, maxStorageBufferBindingSize: 32 * 2 ** 20 });
    expect(small.maxTensorBytes).toBe(32 * 2 ** 20);
    expect(small.bytes).toBe(8 * 32 * 2 ** 20);
    const huge = { total: 10 * 2 ** 30, largest: 2 ** 30 };
    let err: unknown;
    try {
      chooseBatch({ perImage: huge, budget: small, purpose: 'synthesis', requested: 8 });
    } catch (e) {
      err = e;
    }
    expect(isLocalQuantError(err) && (err as LocalQuantError).code).toBe('OUT_OF_MEMORY');
  });

  it('wraps a wasm trap as OUT_OF_MEMORY with a smaller batch to try; leaves other errors alone', () => {
    const trap = new WebAssembly.RuntimeError('memory access out of bounds');
    const e = asOutOfMemory(trap, 'synthesis', 32) as LocalQuantError;
    expect(e.code).toBe('OUT_OF_MEMORY');
    expect(e.message).toMatch(/synthesis batch of 32/);
    expect(e.hint).toMatch(/--batch 16/);
    // the executor's EXECUTION_FAILED wrapping of the same trap
    const wrapped = asOutOfMemory(new LocalQuantError('EXECUTION_FAILED', "Conv node 'c' failed: memory access out of bounds"), 'calibration', 8) as LocalQuantError;
    expect(wrapped.code).toBe('OUT_OF_MEMORY');
    const other = new LocalQuantError('BAD_INPUT', 'x');
    expect(asOutOfMemory(other, 'calibration', 8)).toBe(other);
  });
});
