import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { importOnnx } from '../importers/onnx/importOnnx.js';
import { quantizableLayers } from '../quant/quantPoints.js';
import { cifarFixture } from '../testing/fixtures.js';
import { mobileNetV2Like } from '../testing/mobileNetV2Like.js';
import { MAX_CHAIN_LAYERS, reconstructionBlocks } from './blocks.js';
import { foldBatchNorm } from './passes/foldBatchNorm.js';
import type { Graph, Node } from './types.js';

const layerNames = (g: Graph) => quantizableLayers(g).map((l) => l.node.name);

/** Every layer in exactly one block, in execution order; each block starts where the previous ended. */
function expectCover(g: Graph): void {
  const blocks = reconstructionBlocks(g, layerNames(g));
  expect(blocks.flatMap((b) => b.layers)).toEqual(layerNames(g));
  for (let i = 1; i < blocks.length; i++) expect(blocks[i].inputs).toEqual(blocks[i - 1].outputs);
}

/** input -> n x (1x1 Conv -> Relu) -> output: a plain chain, no branches. */
function plainChain(n: number): Graph {
  const nodes: Node[] = [];
  const initializers = new Map();
  let v = 'x';
  for (let i = 0; i < n; i++) {
    initializers.set(`w${i}`, { dtype: 'float32', dims: [2, 2, 1, 1], data: new Float32Array(4).fill(0.5) });
    nodes.push({ name: `conv${i}`, opType: 'Conv', inputs: [v, `w${i}`], outputs: [`c${i}`], attrs: {} });
    nodes.push({ name: `relu${i}`, opType: 'Relu', inputs: [`c${i}`], outputs: [`r${i}`], attrs: {} });
    v = `r${i}`;
  }
  return { name: 'chain', format: 'onnx', interfaceLayout: 'NCHW', inputs: [{ name: 'x', dtype: 'float32', shape: [1, 2, 4, 4] }], outputs: [{ name: v, dtype: 'float32', shape: null }], nodes, initializers } as Graph;
}

describe('reconstruction blocks', () => {
  it('ResNet-20: the stem conv, nine residual blocks (fork to join Add, with the ReLU after it) and the FC', () => {
    const g = foldBatchNorm(importOnnx(new Uint8Array(readFileSync(cifarFixture('resnet20_bn.onnx'))))).graph;
    const blocks = reconstructionBlocks(g, layerNames(g));
    expect(blocks.map((b) => b.layers.length)).toEqual([1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1]);
    expect(blocks[0]).toMatchObject({ name: '/conv1/Conv', inputs: ['input'], outputs: ['/Relu_output_0'] });
    expect(blocks[1]).toMatchObject({ name: '/layer1/layer1.0', inputs: ['/Relu_output_0'], outputs: ['/layer1/layer1.0/Relu_1_output_0'] });
    // the downsampling block's shortcut (Slice, Slice, Pad) is inside it: one input, one output
    expect(blocks[4]).toMatchObject({ name: '/layer2/layer2.0', inputs: ['/layer1/layer1.2/Relu_1_output_0'], outputs: ['/layer2/layer2.0/Relu_1_output_0'] });
    // pool and flatten join the FC's block, which ends at the logits
    expect(blocks[10]).toMatchObject({ name: '/linear/Gemm', inputs: ['/layer3/layer3.2/Relu_1_output_0'], outputs: ['logits'] });
    expectCover(g);
  });

  it('only the layers asked for: a float layer leaves no block of its own', () => {
    const g = foldBatchNorm(importOnnx(new Uint8Array(readFileSync(cifarFixture('resnet20_bn.onnx'))))).graph;
    const names = layerNames(g);
    const blocks = reconstructionBlocks(g, names.slice(0, -1));
    expect(blocks.length).toBe(10);
    expect(blocks.flatMap((b) => b.layers)).toEqual(names.slice(0, -1));
  });

  it(`a plain chain is cut into chains of at most ${MAX_CHAIN_LAYERS} layers, each ending after its ReLU`, () => {
    const g = plainChain(5);
    const blocks = reconstructionBlocks(g, layerNames(g));
    expect(blocks.map((b) => b.layers)).toEqual([['conv0', 'conv1', 'conv2'], ['conv3', 'conv4']]);
    expect(blocks.map((b) => [b.inputs, b.outputs])).toEqual([[['x'], ['r2']], [['r2'], ['r4']]]);
    expect(blocks[0].name).toBe('conv0 .. conv2');
  });

  it('MobileNetV2-like (inverted residuals, depthwise, squeeze-excite, concat): every layer in one block, blocks contiguous', () => {
    for (const opts of [{}, { squeezeExcite: true, concat: true }]) {
      const g = importOnnx(mobileNetV2Like(opts));
      expectCover(g);
      const blocks = reconstructionBlocks(g, layerNames(g));
      expect(blocks.length).toBeLessThan(layerNames(g).length); // residual and chained layers share blocks
    }
  });
});
