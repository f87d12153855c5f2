import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { importOnnx } from '../importers/onnx/importOnnx.js';
import { cifarFixture } from '../testing/fixtures.js';
import { prepareGraph } from './prepare.js';

describe('prepareGraph', () => {
  it('gives every value of ResNet-20 a concrete shape for batch 4 and leaves the source graph alone', () => {
    const g = importOnnx(new Uint8Array(readFileSync(cifarFixture('resnet20_bn.onnx'))));
    const p = prepareGraph(g, { input: [4, 3, 32, 32] });
    expect(p.nodes.length).toBe(g.nodes.length);
    for (const n of p.nodes) {
      for (const o of n.outputs) {
        const shape = p.valueInfo.get(o)?.shape;
        expect(shape && shape.every((d) => typeof d === 'number'), `${o}: ${JSON.stringify(shape)}`).toBe(true);
      }
    }
    expect(p.valueInfo.get('logits')?.shape).toEqual([4, 10]);
    expect(p.initializers.get('layer1.0.bn1.weight')!.data).toBe(g.initializers.get('layer1.0.bn1.weight')!.data);
    expect(g.valueInfo.get('logits')?.shape).toEqual(['N', 10]);
    // No Shape node was folded, so the batch dimension stays symbolic at the interface.
    expect(p.inputs[0].shape).toEqual(['N', 3, 32, 32]);
  });

  it('asks for a concrete shape when an input has a symbolic one', () => {
    const g = importOnnx(new Uint8Array(readFileSync(cifarFixture('resnet20_bn.onnx'))));
    expect(() => prepareGraph(g)).toThrow(/Input 'input' has shape \[N, 3, 32, 32\]; a concrete shape is needed/);
  });
});
