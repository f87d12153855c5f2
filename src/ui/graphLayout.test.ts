import { describe, expect, it } from 'vitest';
import { layoutOutline, NODE_H } from './graphLayout.js';

describe('layoutOutline', () => {
  it('places a residual block top to bottom with no overlaps and routes every edge', () => {
    const layout = layoutOutline({
      nodes: [
        { id: 'in', opType: 'Input', kind: 'input' },
        { id: 'conv', opType: 'Conv', kind: 'op' },
        { id: 'relu', opType: 'Relu', kind: 'op' },
        { id: 'add', opType: 'Add', kind: 'op' },
        { id: 'out', opType: 'Output', kind: 'output' },
      ],
      edges: [['in', 'conv', 'x'], ['conv', 'relu', 'c'], ['relu', 'add', 'r'], ['in', 'add', 'x'], ['add', 'out', 'y']],
    });
    const y = Object.fromEntries(layout.nodes.map((n) => [n.id, n.y]));
    expect(y.in).toBeLessThan(y.conv);
    expect(y.conv).toBeLessThan(y.relu);
    expect(y.relu).toBeLessThan(y.add);
    expect(y.add).toBeLessThan(y.out);
    for (const a of layout.nodes) for (const b of layout.nodes) if (a !== b) expect(Math.abs(a.x - b.x) >= a.width || Math.abs(a.y - b.y) >= NODE_H).toBe(true);
    expect(layout.edges).toHaveLength(5);
    for (const e of layout.edges) expect(e.points.length).toBeGreaterThanOrEqual(2);
    expect(layout.width).toBeGreaterThan(0);
    expect(layout.height).toBeGreaterThan(y.out);
  });
});
