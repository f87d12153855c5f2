/** Layered layout of a graph outline with dagre (top to bottom), as plain numbers the SVG view draws. */
import dagre from '@dagrejs/dagre';
import type { GraphOutline } from '../core/ir/outline.js';

export interface PlacedNode { id: string; x: number; y: number; width: number; height: number }
export interface PlacedEdge { from: string; to: string; points: { x: number; y: number }[] }
export interface GraphLayout { width: number; height: number; nodes: PlacedNode[]; edges: PlacedEdge[] }

export const NODE_W = 150;
export const NODE_H = 30;

export function layoutOutline(outline: GraphOutline): GraphLayout {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: 'TB', nodesep: 20, ranksep: 24, marginx: 10, marginy: 10 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of outline.nodes) g.setNode(n.id, { width: NODE_W, height: NODE_H });
  outline.edges.forEach(([from, to], i) => g.setEdge(from, to, {}, `e${i}`));
  dagre.layout(g);
  const label = g.graph();
  return {
    width: label.width ?? 0,
    height: label.height ?? 0,
    nodes: outline.nodes.map((n) => {
      const p = g.node(n.id);
      return { id: n.id, x: p.x, y: p.y, width: NODE_W, height: NODE_H };
    }),
    edges: outline.edges.map(([from, to], i) => ({ from, to, points: (g.edge({ v: from, w: to, name: `e${i}` })?.points ?? []).map((p: { x: number; y: number }) => ({ x: p.x, y: p.y })) })),
  };
}
