import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { importOnnx } from '../importers/onnx/importOnnx.js';
import { consumerMap, topologicalOrder } from '../ir/graph.js';
import { reconstructionBlocks } from '../ir/blocks.js';
import { foldBatchNorm } from '../ir/passes/foldBatchNorm.js';
import type { Graph } from '../ir/types.js';
import { cifarFixture } from '../testing/fixtures.js';
import { activationGridSpec } from './activationGrids.js';
import { gridGraph, layerInputCopyName, otherReadersCopyName, splitLowBitLayerInputs, splitPoints } from './layerInputSplit.js';
import { quantizableLayers } from './quantPoints.js';

const graph = foldBatchNorm(importOnnx(new Uint8Array(readFileSync(cifarFixture('resnet20_bn.onnx'))))).graph;
const layers = quantizableLayers(graph);
/** W4A4 with the first and last layer's inputs at `edge` bits. */
const bitsW4A4 = (edge = 8) => new Map(layers.map((l) => [l.node.name, { activationBits: l.first || l.last ? edge : 4 }]));

describe('layer-input split', () => {
  it('gives each ResNet-20 block input read by a 4-bit conv and by the skip path a copy for each side', () => {
    const { graph: split, copies, otherCopies } = splitLowBitLayerInputs(graph, bitsW4A4());
    // the stem ReLU and the outputs of 8 of the 9 blocks (the last one's goes to the pooling alone)
    expect(copies.size).toBe(9);
    expect([...otherCopies.keys()]).toEqual([...copies.keys()]);
    const readers = consumerMap(split);
    for (const [v, copy] of copies) {
      expect(copy).toBe(layerInputCopyName(v));
      expect(readers.get(copy)!.map((n) => n.opType)).toEqual(['Conv']);
      expect(readers.get(otherReadersCopyName(v))!.map((n) => n.opType)).toEqual([expect.stringMatching(/^(Add|Slice)$/)]);
      // both copies read the float value, which nothing else reads
      expect(readers.get(v)!.map((n) => n.opType)).toEqual(['Identity', 'Identity']);
    }
    // intra-block ReLUs (read by conv2 alone) are not split
    expect([...copies.keys()].some((v) => /Relu_output_0$/.test(v) && v.includes('layer'))).toBe(false);
    expect(topologicalOrder(split).length).toBe(graph.nodes.length + 18);
  });

  it('keeps the reconstruction blocks: each copy runs inside the block that reads it', () => {
    const names = layers.map((l) => l.node.name);
    const { graph: split } = splitLowBitLayerInputs(graph, bitsW4A4());
    expect(reconstructionBlocks(split, names)).toEqual(reconstructionBlocks(graph, names));
  });

  it('leaves the caller graph alone', () => {
    const before = graph.nodes.map((n) => n.inputs.join(','));
    const nodes = [...graph.nodes];
    splitLowBitLayerInputs(graph, bitsW4A4());
    expect(graph.nodes).toEqual(nodes);
    expect(graph.nodes.map((n) => n.inputs.join(','))).toEqual(before);
  });

  it('splits nothing when no layer reads below 8 bits, or under every-activation', () => {
    const a8 = new Map(layers.map((l) => [l.node.name, { activationBits: 8 }]));
    expect(splitLowBitLayerInputs(graph, a8).copies.size).toBe(0);
    const every = gridGraph(graph, { activationBitsAt: 'every-activation' }, bitsW4A4());
    expect(every.graph).toBe(graph);
    expect(every.copies.size).toBe(0);
  });

  it('splits a value a low-bit layer reads that is also a graph output (kept float), and an 8-bit layer reader keeps the original', () => {
    const v = '/layer1/layer1.0/Relu_output_0';
    const chain: Graph = { ...graph, outputs: [...graph.outputs, { name: v, dtype: 'float32', shape: [] }] };
    const { graph: split, copies, otherCopies } = splitLowBitLayerInputs(chain, bitsW4A4());
    expect(copies.has(v)).toBe(true);
    expect(otherCopies.has(v)).toBe(false); // no other node reads it
    const conv2 = split.nodes.find((n) => n.name === '/layer1/layer1.0/conv2/Conv')!;
    expect(conv2.inputs[0]).toBe(layerInputCopyName(v));
    // the same layer at 8 bits reads the value itself
    const eight = new Map([...bitsW4A4()].map(([n, b]) => [n, n === '/layer1/layer1.0/conv2/Conv' ? { activationBits: 8 } : b]));
    expect(splitLowBitLayerInputs(chain, eight).copies.has(v)).toBe(false);
  });

  it('grids: skip paths 8 bit and conv inputs 4 bit under layer-inputs, split values float; everything 4 bit under every-activation', () => {
    const bits = bitsW4A4(4);
    const split = gridGraph(graph, { activationBitsAt: 'layer-inputs' }, bits);
    const spec = activationGridSpec(split.graph, { activationBits: 4, activationBitsAt: 'layer-inputs' }, bits, 'layer-inputs', splitPoints(split));
    for (const [v, copy] of split.copies) {
      expect(spec.bits.has(v)).toBe(false);
      expect(spec.bits.get(copy)).toBe(4);
      expect(spec.bits.get(otherReadersCopyName(v))).toBe(8);
    }
    expect(spec.bits.get('/layer1/layer1.0/Relu_output_0')).toBe(4); // conv1 -> conv2 inside a block
    expect(spec.bits.get('input')).toBe(8);
    const old = activationGridSpec(graph, { activationBits: 4, activationBitsAt: 'every-activation' }, bits, 'layer-inputs');
    expect([...old.bits].filter(([p]) => p !== 'input').every(([, b]) => b === 4)).toBe(true);
    expect(old.points.length).toBe(spec.points.length - split.copies.size);
  });
});
