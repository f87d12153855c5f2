/**
 * The layer-input split (quant/layerInputSplit.ts) as ONNX Runtime runs it: ResNet-20 W8A4 with 4-bit conv
 * inputs and 8-bit skip paths computes the same logits with ORT's full graph optimizations as without.
 * A copy requantized from the 8-bit DequantizeLinear (DQ8 -> Clip -> Q4) did not: ORT's extended
 * optimizations changed its logits by 1.08 on average (0.01 for the export without the split).
 */
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { createOrtSession } from '../../../../cli/lib/ort.js';
import { cifar10Batch, parseCifar10 } from '../../data/cifar10.js';
import { importOnnx } from '../../importers/onnx/importOnnx.js';
import { layerInputCopyName, otherReadersCopyName } from '../../quant/layerInputSplit.js';
import { initBackend } from '../../runtime/backends.js';
import { CIFAR_MEAN, CIFAR_STD, cifarFixture } from '../../testing/fixtures.js';
import { nearestPlan } from '../../testing/nearestPlan.js';
import { writeOnnx } from '../onnx/onnxWriter.js';
import { qdqOptionsForTarget } from './deploymentTargets.js';
import { buildQdqGraph } from './qdqOnnxExporter.js';

const N = 16;

describe('layer-input split in the QDQ export', () => {
  it('4-bit conv inputs and 8-bit skip paths: the same logits with and without ORT graph optimizations', async () => {
    await initBackend('wasm');
    const graph = importOnnx(new Uint8Array(readFileSync(cifarFixture('resnet20_folded.onnx'))));
    const images = cifar10Batch(parseCifar10(new Uint8Array(readFileSync(cifarFixture('test_batch.bin')))), Array.from({ length: N }, (_, i) => i * 613), [...CIFAR_MEAN], [...CIFAR_STD]).images;
    const { folded, plan } = await nearestPlan(graph, images, [N, 3, 32, 32], { weightBits: 8, activationBits: 4 }, { fast: true });
    const stem = '/Relu_output_0';
    expect(plan.activations[layerInputCopyName(stem)].bits).toBe(4);
    expect(plan.activations[otherReadersCopyName(stem)].bits).toBe(8);
    expect(plan.activations[stem]).toBeUndefined();
    const model = writeOnnx(buildQdqGraph(folded, plan, qdqOptionsForTarget('ort-cpu')));
    const logits = async (optimize: boolean) => {
      const s = await createOrtSession(model, { optimize, threads: 1 });
      const out = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', images, [N, 3, 32, 32]) });
      await s.release();
      return out[s.outputNames[0]].data as Float32Array;
    };
    const plain = await logits(false);
    const optimized = await logits(true);
    const meanAbsDiff = plain.reduce((a, v, i) => a + Math.abs(v - optimized[i]), 0) / plain.length;
    expect(meanAbsDiff).toBeLessThan(0.1);
  }, 60_000);
});
