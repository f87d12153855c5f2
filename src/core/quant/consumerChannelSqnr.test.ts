import { describe, expect, it } from 'vitest';
import type { Graph, Node } from '../ir/types.js';
import { channelWiseConsumers, consumerChannelSqnr } from './consumerChannelSqnr.js';

const node = (name: string, opType: string, inputs: string[], outputs: string[], attrs: Node['attrs'] = {}): Node => ({ name, opType, inputs, outputs, attrs });
const weight = (dims: number[], fill: (i: number) => number) => ({ dtype: 'float32' as const, dims, data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => fill(i)) });

/** x [1,2,4,4] -> Relu -> Mul(const) -> a 3x3 depthwise conv (group 2) and, beside it, a dense 1x1 conv (2 -> 1, equal weights); a Reshape path leads to a third conv. */
function graph(): Graph {
  return {
    name: 't', format: 'onnx', interfaceLayout: 'NCHW', opset: 13, metadata: {}, valueInfo: new Map(),
    inputs: [{ name: 'x', dtype: 'float32', shape: [1, 2, 4, 4] }],
    outputs: [{ name: 'dw', dtype: 'float32', shape: null }, { name: 'pw', dtype: 'float32', shape: null }, { name: 'r2', dtype: 'float32', shape: null }],
    nodes: [
      node('relu', 'Relu', ['x'], ['r']),
      node('scale', 'Mul', ['r', 'k'], ['m']),
      node('dwconv', 'Conv', ['m', 'wdw'], ['dw'], { group: 2, kernel_shape: [3, 3] }),
      node('pwconv', 'Conv', ['x', 'wpw'], ['pw'], { group: 1 }),
      node('flat', 'Reshape', ['x', 'shape'], ['f']),
      node('after', 'Conv', ['f', 'wpw'], ['r2']),
    ],
    initializers: new Map([
      ['k', weight([1], () => 2)],
      // channel 1 scaled up 100x, as a folded BN does for a channel with a small variance
      ['wdw', weight([2, 1, 3, 3], (i) => (i < 9 ? 1 : 100))],
      ['wpw', weight([1, 2, 1, 1], () => 1)],
      ['shape', { dtype: 'int64' as const, dims: [4], data: new BigInt64Array([1n, 2n, 4n, 4n]) } as never],
    ]),
  };
}

describe('consumerChannelSqnr', () => {
  it('follows channel-wise ops to the convs, not through a Reshape', () => {
    expect(channelWiseConsumers(graph(), 'x').map((n) => n.name).sort()).toEqual(['dwconv', 'pwconv']);
  });

  it('a depthwise conv sees its drowned channel alone; a dense conv averages it with the others', () => {
    // channel 0: variance 1, noise 1e-4 (40 dB); channel 1: variance 1e-4, noise 1e-4 (0 dB)
    const variance = [1, 1e-4];
    const noise = [1e-4, 1e-4];
    const g = graph();
    const all = consumerChannelSqnr(g, 'x', variance, noise)!;
    expect(all.layer).toBe('dwconv');
    expect(all.channel).toBe(1);
    expect(all.db).toBeCloseTo(0, 5);
    // without the depthwise conv, the dense 1x1 conv: (1 + 1e-4) / 2e-4 -> 37 dB
    g.nodes = g.nodes.filter((n) => n.name !== 'dwconv');
    const dense = consumerChannelSqnr(g, 'x', variance, noise)!;
    expect(dense.layer).toBe('pwconv');
    expect(dense.db).toBeCloseTo(10 * Math.log10((1 + 1e-4) / 2e-4), 5);
  });

  it('does not judge an output channel far weaker than its layer\'s others (a dead or untrained channel)', () => {
    const g = graph();
    g.nodes = g.nodes.filter((n) => n.name === 'dwconv' || n.name === 'relu' || n.name === 'scale');
    g.initializers.set('wdw', weight([2, 1, 3, 3], () => 1));
    // channel 1's output has 1e-4 of channel 0's signal: only channel 0 (40 dB) is judged
    const s = consumerChannelSqnr(g, 'x', [1, 1e-4], [1e-4, 1e-4])!;
    expect(s.channel).toBe(0);
    expect(s.db).toBeCloseTo(40, 5);
  });

  it('weights each input channel by its kernel energy; exact grids give Infinity; no conv gives undefined', () => {
    const g = graph();
    g.nodes = g.nodes.filter((n) => n.name === 'pwconv');
    g.initializers.set('wpw', weight([1, 2, 1, 1], (i) => (i === 0 ? 3 : 1)));
    expect(consumerChannelSqnr(g, 'x', [1, 1], [0.1, 0.2])!.db).toBeCloseTo(10 * Math.log10((9 + 1) / (0.9 + 0.2)), 5);
    expect(consumerChannelSqnr(g, 'x', [1, 1], [0, 0])!.db).toBe(Infinity);
    expect(consumerChannelSqnr(g, 'f', [1, 1], [0.1, 0.1])).toBeUndefined();
  });
});
