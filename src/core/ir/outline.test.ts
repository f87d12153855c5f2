import { describe, expect, it } from 'vitest';
import { importModel } from '../importers/index.js';
import { buildOnnxModel } from '../testing/onnxBuilder.js';
import { graphOutline } from './outline.js';

describe('graphOutline', () => {
  it('lists ops, inputs and outputs, with an edge per value flow and none for weights', () => {
    const bytes = buildOnnxModel({
      inputs: [{ name: 'x', shape: [1, 2, 4, 4] }],
      outputs: [{ name: 'y', shape: [1, 2, 4, 4] }],
      initializers: [{ name: 'w', dims: [2, 2, 1, 1], data: [1, 0, 0, 1] }],
      nodes: [
        { opType: 'Conv', inputs: ['x', 'w'], outputs: ['c'], name: 'conv' },
        { opType: 'Relu', inputs: ['c'], outputs: ['r'], name: 'relu' },
        { opType: 'Add', inputs: ['r', 'x'], outputs: ['y'], name: 'add' },
      ],
    });
    const o = graphOutline(importModel([{ name: 'm.onnx', bytes }]));
    expect(o.nodes.map((n) => `${n.kind}:${n.id}`)).toEqual(['input:input:x', 'op:conv', 'op:relu', 'op:add', 'output:output:y']);
    expect(o.edges).toEqual([
      ['input:x', 'conv', 'x'],
      ['conv', 'relu', 'c'],
      ['relu', 'add', 'r'],
      ['input:x', 'add', 'x'],
      ['add', 'output:y', 'y'],
    ]);
  });
});
