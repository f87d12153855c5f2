import { describe, expect, it } from 'vitest';
import type { Graph } from '../ir/types.js';
import { weightHistograms } from './weightHistograms.js';

function graphWithWeight(data: number[]): Graph {
  return {
    name: 'g', format: 'onnx', interfaceLayout: 'NCHW', inputs: [], outputs: [], opset: 13, metadata: {}, valueInfo: new Map(),
    nodes: [{ name: 'fc', opType: 'MatMul', inputs: ['x', 'W'], outputs: ['y'], attrs: {} }],
    initializers: new Map([['W', { dtype: 'float32', dims: [2, 2], data: Float32Array.from(data) }]]),
  };
}

describe('weightHistograms', () => {
  it('counts float and dequantized weights on the same bins', () => {
    const g = graphWithWeight([-1, -0.2, 0.3, 1]);
    // per-tensor scale 0.5: codes -2, 0, 1, 2 -> -1, 0, 0.5, 1
    const h = weightHistograms(g, { layers: [{ node: 'fc', weightCodes: Int8Array.from([-2, 0, 1, 2]), weightScales: Float32Array.from([0.5]), weightBits: 4, axis: 1 }], activations: {} }, 4);
    expect(h.fc.min).toBe(-1);
    expect(h.fc.max).toBe(1);
    expect(h.fc.before).toEqual([1, 1, 1, 1]);
    expect(h.fc.after).toEqual([1, 0, 1, 2]);
    expect(h.fc.after.reduce((a, b) => a + b)).toBe(4);
  });

  it('skips plan layers it cannot find in the graph', () => {
    expect(weightHistograms(graphWithWeight([1, 2, 3, 4]), { layers: [{ node: 'nope', weightCodes: new Int8Array(4), weightScales: new Float32Array([1]), weightBits: 8, axis: 0 }], activations: {} })).toEqual({});
  });
});
