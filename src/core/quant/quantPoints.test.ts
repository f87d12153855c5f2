import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { importOnnx } from '../importers/onnx/importOnnx.js';
import { foldBatchNorm } from '../ir/passes/foldBatchNorm.js';
import type { Graph } from '../ir/types.js';
import { cifarFixture } from '../testing/fixtures.js';
import { ssdStyleDetector } from '../testing/detectorModels.js';
import { mobileNetV2Like } from '../testing/mobileNetV2Like.js';
import { buildOnnxModel } from '../testing/onnxBuilder.js';
import { activationPointPlan, activationPoints, quantizableLayers } from './quantPoints.js';

const resnet = foldBatchNorm(importOnnx(new Uint8Array(readFileSync(cifarFixture('resnet20_bn.onnx'))))).graph;

/** Every activation input of `op` nodes is a point, and so is the output (or the ReLU that alone reads it). */
function nodeUnitsComplete(graph: Graph, points: Set<string>, ops: string[]): number {
  let units = 0;
  for (const n of graph.nodes.filter((m) => ops.includes(m.opType))) {
    for (const v of n.inputs) if (v && !graph.initializers.has(v)) expect(points, `${n.name} input ${v}`).toContain(v);
    const readers = graph.nodes.filter((m) => m.inputs.includes(n.outputs[0]));
    const out = readers.length === 1 && ['Relu', 'Clip'].includes(readers[0].opType) ? readers[0].outputs[0] : n.outputs[0];
    expect(points, `${n.name} output`).toContain(out);
    units++;
  }
  return units;
}

describe('quantization points on ResNet-20', () => {
  it('finds 19 convs and the FC, first and last marked', () => {
    const layers = quantizableLayers(resnet);
    expect(layers.length).toBe(20);
    expect(layers[0].first && !layers[0].last).toBe(true);
    expect(layers[19].node.opType).toBe('Gemm');
    expect(layers[19].last).toBe(true);
    expect(layers.filter((l) => l.first || l.last).length).toBe(2);
    expect(layers.some((l) => l.depthwise)).toBe(false);
  });
  it('marks as last every layer no weight layer reads from: each head conv of a multi-head detector', () => {
    const g = importOnnx(buildOnnxModel(ssdStyleDetector()));
    const layers = quantizableLayers(g);
    expect(layers.filter((l) => l.last).map((l) => l.node.name).sort()).toEqual(['box_head', 'cls_head', 'obj_head']);
    expect(layers.filter((l) => l.first).map((l) => l.node.name)).toEqual(['conv1']);
  });
  it('marks depthwise convs (one input channel per group) and only those', () => {
    const g = importOnnx(mobileNetV2Like({ seed: 2 }));
    const layers = quantizableLayers(g);
    const dw = layers.filter((l) => l.depthwise);
    expect(dw.length).toBeGreaterThan(0);
    for (const l of layers) {
      const w = g.initializers.get(l.weightName)!;
      expect(l.depthwise).toBe(l.node.opType === 'Conv' && Number(l.node.attrs.group ?? 1) === w.dims[0] && w.dims[1] === 1);
    }
    expect(layers.some((l) => !l.depthwise && l.node.opType === 'Conv')).toBe(true);
  });
  it("layer-inputs placement: input + every ReLU output, plus the FC input", () => {
    const relus = resnet.nodes.filter((n) => n.opType === 'Relu').length;
    const base = activationPoints(resnet, { includeLayerInputs: false, placement: 'layer-inputs' });
    expect(base[0]).toBe('input');
    expect(base.length).toBe(1 + relus);
    const all = activationPoints(resnet, { placement: 'layer-inputs' });
    expect(all.length).toBe(base.length + 1); // the flattened pooled features feeding the Gemm
    const fc = quantizableLayers(resnet)[19].node;
    expect(all).toContain(fc.inputs[0]);
    expect(activationPoints(resnet, { floatLayers: new Set([fc.name]), placement: 'layer-inputs' }).length).toBe(base.length);
  });
  it('integer-kernel placement: every Conv, Gemm, residual Add and the pool form complete DQ -> op -> Q units', () => {
    const { points, shareWith } = activationPointPlan(resnet);
    const set = new Set(points);
    expect(nodeUnitsComplete(resnet, set, ['Conv', 'Gemm', 'Add', 'GlobalAveragePool'])).toBe(19 + 1 + 9 + 1);
    expect(set).toContain('logits');
    // the downsampling shortcut (Slice, Slice, Pad with zeros) and the Flatten reuse their input's grid
    const movers = resnet.nodes.filter((n) => ['Slice', 'Pad', 'Flatten'].includes(n.opType));
    expect(movers.length).toBe(7);
    for (const n of movers) expect(shareWith.has(n.outputs[0]), n.name).toBe(true);
    const pad = movers.find((n) => n.opType === 'Pad')!;
    const relu = resnet.nodes.find((n) => n.outputs[0] === shareWith.get(pad.outputs[0]))!;
    expect(relu.opType).toBe('Relu'); // resolved through both Slices to the grid's owner
    expect(new Set(points).size).toBe(points.length);
  });
});

describe('quantization points on a MobileNetV2-style net', () => {
  const g = importOnnx(mobileNetV2Like({ seed: 1, squeezeExcite: true, concat: true }));
  it('depthwise/pointwise convs, Gemm, residual Add, squeeze-excite Mul and Concat are complete units', () => {
    const { points, shareWith } = activationPointPlan(g);
    const set = new Set(points);
    const convs = g.nodes.filter((n) => n.opType === 'Conv').length;
    const units = nodeUnitsComplete(g, set, ['Conv', 'Gemm', 'Add', 'Mul', 'Concat', 'GlobalAveragePool']);
    expect(units).toBeGreaterThan(convs);
    for (const n of g.nodes.filter((m) => m.opType === 'Concat')) for (const v of n.inputs) expect(shareWith.get(v), `concat input ${v}`).toBe(n.outputs[0]);
  });
  it('HardSwish (float between Q/DQ pairs) and x*sigmoid(x) (QLinearSigmoid, QLinearMul) have points on both sides', () => {
    const m = importOnnx(mobileNetV2Like({ seed: 2, activations: 'mixed', width: 0.5 }));
    const set = new Set(activationPointPlan(m).points);
    nodeUnitsComplete(m, set, ['Conv', 'Gemm', 'Add', 'Mul', 'Sigmoid', 'HardSwish']);
    expect(m.nodes.filter((n) => n.opType === 'HardSwish').length).toBeGreaterThan(0);
  });
});
