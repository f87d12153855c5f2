import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { importOnnx } from '../importers/onnx/importOnnx.js';
import { foldBatchNorm } from '../ir/passes/foldBatchNorm.js';
import { cifarFixture } from '../testing/fixtures.js';
import { activationPoints, quantizableLayers } from './quantPoints.js';

describe('quantization points on ResNet-20', () => {
  const { graph } = foldBatchNorm(importOnnx(new Uint8Array(readFileSync(cifarFixture('resnet20_bn.onnx')))));
  it('finds 19 convs and the FC, first and last marked', () => {
    const layers = quantizableLayers(graph);
    expect(layers.length).toBe(20);
    expect(layers[0].first && !layers[0].last).toBe(true);
    expect(layers[19].node.opType).toBe('Gemm');
    expect(layers[19].last).toBe(true);
    expect(layers.filter((l) => l.first || l.last).length).toBe(2);
  });
  it('activation points: input + every ReLU output, plus the FC input when layer inputs are included', () => {
    const relus = graph.nodes.filter((n) => n.opType === 'Relu').length;
    const base = activationPoints(graph, { includeLayerInputs: false });
    expect(base[0]).toBe('input');
    expect(base.length).toBe(1 + relus);
    const all = activationPoints(graph);
    expect(all.length).toBe(base.length + 1); // the flattened pooled features feeding the Gemm
    const fc = quantizableLayers(graph)[19].node;
    expect(all).toContain(fc.inputs[0]);
    expect(activationPoints(graph, { floatLayers: new Set([fc.name]) }).length).toBe(base.length);
  });
});
