/** Per-layer activationBits overrides reach the exported graph (issue 9: they used to be echoed, not applied). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cifar10Batch, parseCifar10 } from '../../data/cifar10.js';
import { importOnnx } from '../../importers/onnx/importOnnx.js';
import { quantizableLayers } from '../../quant/quantPoints.js';
import { initBackend } from '../../runtime/backends.js';
import { CIFAR_MEAN, CIFAR_STD, cifarFixture } from '../../testing/fixtures.js';
import { nearestPlan } from '../../testing/nearestPlan.js';
import { qdqOptionsForTarget } from './deploymentTargets.js';
import { buildQdqGraph } from './qdqOnnxExporter.js';

describe('per-layer activationBits in the QDQ export', () => {
  it("a 4-bit override narrows that layer's input grid (Clip + Q/DQ) and nothing else; 32 leaves it float", async () => {
    await initBackend('wasm');
    const graph = importOnnx(new Uint8Array(readFileSync(cifarFixture('resnet20_folded.onnx'))));
    const layer = quantizableLayers(graph)[4].node;
    const input = layer.inputs[0];
    const images = cifar10Batch(parseCifar10(new Uint8Array(readFileSync(cifarFixture('test_batch.bin')))), [0, 1, 2, 3], [...CIFAR_MEAN], [...CIFAR_STD]).images;
    const planFor = (activationBits?: number) => nearestPlan(graph, images, [4, 3, 32, 32], { weightBits: 8, overrides: activationBits ? { [layer.name]: { activationBits } } : {} }, { fast: true });
    const base = await planFor();
    const four = await planFor(4);
    const float = await planFor(32);
    expect(base.plan.activations[input].bits).toBe(8);
    expect(four.plan.activations[input].bits).toBe(4);
    expect(four.plan.activations[input].scale).toBeGreaterThan(4 * base.plan.activations[input].scale);
    const changed = Object.keys(base.plan.activations).filter((v) => JSON.stringify(base.plan.activations[v]) !== JSON.stringify(four.plan.activations[v]));
    expect(changed).toEqual([input]);
    expect(float.plan.activations[input]).toBeUndefined();

    const clipsOn = (g: ReturnType<typeof buildQdqGraph>) => g.nodes.filter((n) => n.opType === 'Clip' && n.name.startsWith(`${input}_`));
    const baseQdq = buildQdqGraph(base.folded, base.plan, qdqOptionsForTarget('ort-cpu'));
    const fourQdq = buildQdqGraph(four.folded, four.plan, qdqOptionsForTarget('ort-cpu'));
    expect(clipsOn(baseQdq)).toHaveLength(0);
    const [clip] = clipsOn(fourQdq);
    const hi = fourQdq.initializers.get(clip.inputs[2])!.data[0];
    expect(hi).toBeCloseTo(15 * four.plan.activations[input].scale, 6);
    // float: no Q/DQ pair reads that value any more
    const floatQdq = buildQdqGraph(float.folded, float.plan, qdqOptionsForTarget('ort-cpu'));
    expect(floatQdq.nodes.some((n) => n.opType === 'QuantizeLinear' && n.inputs[0].startsWith(input))).toBe(false);
    expect(baseQdq.nodes.some((n) => n.opType === 'QuantizeLinear' && n.inputs[0].startsWith(input))).toBe(true);
  }, 60_000);
});
