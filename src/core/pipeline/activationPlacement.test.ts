import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { importModel } from '../importers/index.js';
import { foldBatchNorm } from '../ir/passes/foldBatchNorm.js';
import { activationPointPlan } from '../quant/quantPoints.js';
import { cifarFixture } from '../testing/fixtures.js';
import { activationPlacement } from '../quant/activationGrids.js';

describe('activation placement', () => {
  it('integer-kernel grids only where they buy an integer kernel: 8-bit activations on the ort targets', () => {
    expect(activationPlacement({ activationBits: 8, target: 'ort-cpu' })).toBe('integer-kernels');
    expect(activationPlacement({ activationBits: 8, target: 'ort-web' })).toBe('integer-kernels');
    expect(activationPlacement({ activationBits: 4, target: 'ort-cpu' })).toBe('layer-inputs');
    expect(activationPlacement({ activationBits: 8, target: 'smallest' })).toBe('layer-inputs');
  });

  it('on ResNet-20, layer-inputs placement leaves the residual Adds unquantized (fewer 4-bit requantizations)', () => {
    const { graph } = foldBatchNorm(importModel([{ name: 'r.onnx', bytes: new Uint8Array(readFileSync(cifarFixture('resnet20_bn.onnx'))) }]));
    // The conv outputs that feed residual Adds: QLinearAdd needs them quantized, layer inputs do not.
    const convOut = new Set(graph.nodes.filter((n) => n.opType === 'Conv').map((n) => n.outputs[0]));
    const addInputs = graph.nodes.filter((n) => n.opType === 'Add').flatMap((n) => n.inputs.filter((v) => convOut.has(v)));
    const kernels = activationPointPlan(graph, { placement: 'integer-kernels' }).points;
    const inputs = activationPointPlan(graph, { placement: 'layer-inputs' }).points;
    expect(addInputs.length).toBeGreaterThanOrEqual(9);
    expect(addInputs.every((v) => kernels.includes(v))).toBe(true);
    expect(addInputs.some((v) => inputs.includes(v))).toBe(false);
    expect(inputs.length).toBeLessThan(kernels.length);
  });
});
