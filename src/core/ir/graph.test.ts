import { describe, expect, it } from 'vitest';
import { cloneGraph, consumerMap, consumersOf, lastReads, lastUse, nodesNeededFor, producerMap, producerOf, topologicalOrder } from './graph.js';
import type { Graph, Node } from './types.js';

const node = (name: string, opType: string, inputs: string[], outputs: string[]): Node => ({ name, opType, inputs, outputs, attrs: {} });

function diamond(): Graph {
  // x -> a -> b -> d ; a -> c -> d ; nodes listed out of order.
  return {
    name: 'g', format: 'onnx', interfaceLayout: 'NCHW', opset: 13, metadata: {},
    inputs: [{ name: 'x', dtype: 'float32', shape: [1, 2] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: [1, 2] }],
    nodes: [node('D', 'Add', ['b', 'c'], ['y']), node('B', 'Relu', ['a'], ['b']), node('A', 'Mul', ['x', 'w'], ['a']), node('C', 'Neg', ['a'], ['c'])],
    initializers: new Map([['w', { dtype: 'float32', dims: [2], data: Float32Array.of(1, 2) }]]),
    valueInfo: new Map(),
  };
}

describe('graph utilities', () => {
  it('topologicalOrder puts producers first and keeps the given order among ready nodes', () => {
    const g = diamond();
    expect(topologicalOrder(g).map((n) => n.name)).toEqual(['A', 'B', 'C', 'D']);
    g.nodes = [g.nodes[2], g.nodes[3], g.nodes[1], g.nodes[0]]; // A C B D: already valid, kept
    expect(topologicalOrder(g).map((n) => n.name)).toEqual(['A', 'C', 'B', 'D']);
  });

  it('topologicalOrder refuses a cycle', () => {
    const g = diamond();
    g.nodes.push(node('E', 'Relu', ['y'], ['a2']));
    g.nodes[2].inputs = ['x', 'a2'];
    expect(() => topologicalOrder(g)).toThrow(/cycle/);
  });

  it('producers, consumers and last use', () => {
    const g = diamond();
    expect(producerOf(g, 'a')?.name).toBe('A');
    expect(producerOf(g, 'x')).toBeUndefined();
    expect(consumersOf(g, 'a').map((n) => n.name).sort()).toEqual(['B', 'C']);
    expect(producerMap(g).get('c')?.name).toBe('C');
    expect(consumerMap(g).get('w')?.map((n) => n.name)).toEqual(['A']);
    const order = topologicalOrder(g);
    const live = lastUse(g, order);
    expect(live.get('a')).toBe(2); // read last by C, at index 2 of A B C D
    expect(live.get('b')).toBe(3);
    expect(live.get('x')).toBe(0);
    expect(live.get('y')).toBe(4); // graph output: alive to the end
  });

  it('nodesNeededFor stops at known values; lastReads works on any schedule of steps', () => {
    const g = diamond();
    const producer = producerMap(g);
    const names = (s: Set<Node>) => [...s].map((n) => n.name).sort();
    expect(names(nodesNeededFor(producer, ['y'], new Set()))).toEqual(['A', 'B', 'C', 'D']);
    expect(names(nodesNeededFor(producer, ['y'], new Set(['a'])))).toEqual(['B', 'C', 'D']);
    expect(names(nodesNeededFor(producer, ['b', 'x', 'w'], new Set()))).toEqual(['A', 'B']);
    // an executor step fusing B and C reads a once; D reads their outputs
    const steps = [{ inputs: ['x', 'w'] }, { inputs: ['a'] }, { inputs: ['b', 'c', ''] }];
    expect([...lastReads(steps)]).toEqual([['x', 0], ['w', 0], ['a', 1], ['b', 2], ['c', 2]]);
  });

  it('cloneGraph copies deeply (or shares tensor data when asked)', () => {
    const g = diamond();
    g.nodes[2].attrs.perm = [1, 0];
    const c = cloneGraph(g);
    c.nodes[2].inputs[0] = 'z';
    (c.nodes[2].attrs.perm as number[])[0] = 9;
    c.initializers.get('w')!.data[0] = 42;
    c.inputs[0].shape![0] = 7;
    expect(g.nodes[2].inputs[0]).toBe('x');
    expect(g.nodes[2].attrs.perm).toEqual([1, 0]);
    expect(g.initializers.get('w')!.data[0]).toBe(1);
    expect(g.inputs[0].shape).toEqual([1, 2]);
    const shared = cloneGraph(g, { shareTensors: true });
    expect(shared.initializers.get('w')!.data).toBe(g.initializers.get('w')!.data);
  });
});
