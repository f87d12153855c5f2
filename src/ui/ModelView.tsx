import { useMemo, useState } from 'react';
import type { GraphOutline } from '../core/ir/outline.js';
import type { QuantizationReport } from '../core/pipeline/types.js';
import type { WeightHistogram } from '../core/report/weightHistograms.js';
import { layoutOutline, NODE_H, NODE_W } from './graphLayout.js';

/** What the view knows of a quantized layer: its row of the report. */
export type LayerInfo = Pick<QuantizationReport['layers'][number], 'weightBits' | 'activationBits' | 'rounding' | 'scales' | 'nearestError' | 'adaptiveError' | 'sqnrDb'>;

export interface ModelViewData {
  outline: GraphOutline;
  layers: Record<string, LayerInfo>;
  histograms?: Record<string, WeightHistogram>;
  /** Nodes left in float on purpose (a detector's post-processing tail), with the reason. */
  floatTail?: Record<string, string>;
}

type ColorBy = 'bits' | 'sqnr';

const BIT_COLORS: Record<string, string> = { '2': '#8e44ad', '3': '#c0392b', '4': '#e67e22', '8': '#27ae60', float: '#95a5a6' };

/** Red below 10 dB, yellow ~20 dB, green from 30 dB. */
function sqnrColor(db: number): string {
  const t = Math.max(0, Math.min(1, (db - 10) / 20));
  return `hsl(${Math.round(120 * t)} 65% 45%)`;
}

function fill(id: string, data: ModelViewData, by: ColorBy): string {
  if (data.floatTail?.[id]) return '#bdc3c7';
  const l = data.layers[id];
  if (!l) return 'var(--panel)';
  if (by === 'bits') return BIT_COLORS[String(l.weightBits ?? 'float')] ?? '#7f8c8d';
  return l.sqnrDb === undefined ? '#95a5a6' : sqnrColor(l.sqnrDb);
}

function Histogram({ h }: { h: WeightHistogram }) {
  const max = Math.max(1, ...h.before, ...h.after);
  const bw = 300 / h.before.length;
  const bars = (counts: number[], cls: string, dx: number) => counts.map((c, i) => <rect key={`${cls}${i}`} className={cls} x={i * bw + dx} width={bw / 2} y={100 - (c / max) * 95} height={(c / max) * 95} />);
  return (
    <svg viewBox="0 0 300 112" className="histogram" role="img" aria-label="Weights before (blue) and after (orange) rounding">
      {bars(h.before, 'before', 0)}
      {bars(h.after, 'after', bw / 2)}
      <text x="0" y="111" fontSize="9">{h.min.toPrecision(3)}</text>
      <text x="300" y="111" fontSize="9" textAnchor="end">{h.max.toPrecision(3)}</text>
    </svg>
  );
}

function NodeDetails({ id, opType, data }: { id: string; opType: string; data: ModelViewData }) {
  const l = data.layers[id];
  const tail = data.floatTail?.[id];
  const h = data.histograms?.[id];
  const s = l?.scales ?? [];
  return (
    <div className="node-details" data-testid="node-details">
      <h3>{id} <span className="muted">({opType})</span></h3>
      {tail && <p>Kept in float: {tail}</p>}
      {!l && !tail && <p className="muted">No weights of its own: runs on the quantized activations around it.</p>}
      {l && (
        <dl>
          <dt>Bits (weights/activations)</dt><dd>{l.weightBits ?? 'float'}/{l.activationBits}</dd>
          <dt>Rounding</dt><dd>{l.rounding}</dd>
          <dt>Scales</dt><dd>{s.length ? `${s.length} (min ${Math.min(...s).toExponential(2)}, max ${Math.max(...s).toExponential(2)})` : '–'}</dd>
          <dt>Output error, nearest → chosen</dt><dd>{l.nearestError?.toExponential(2) ?? '–'} → {l.adaptiveError?.toExponential(2) ?? '–'}</dd>
          <dt>Output SQNR</dt><dd>{l.sqnrDb !== undefined ? `${l.sqnrDb.toFixed(1)} dB` : '–'}</dd>
        </dl>
      )}
      {h && <Histogram h={h} />}
    </div>
  );
}

export function ModelView({ data }: { data: ModelViewData }) {
  const layout = useMemo(() => layoutOutline(data.outline), [data.outline]);
  const [by, setBy] = useState<ColorBy>('bits');
  const [selected, setSelected] = useState<string | null>(null);
  const ops = useMemo(() => new Map(data.outline.nodes.map((n) => [n.id, n.opType])), [data.outline]);
  const tailCount = Object.keys(data.floatTail ?? {}).length;
  return (
    <div className="model-view">
      <p>
        Colour by{' '}
        <label><input type="radio" name="color-by" checked={by === 'bits'} onChange={() => setBy('bits')} /> bit width</label>{' '}
        <label><input type="radio" name="color-by" checked={by === 'sqnr'} onChange={() => setBy('sqnr')} data-testid="color-by-sqnr" /> output SQNR</label>
        {tailCount > 0 && <span className="muted"> · {tailCount} post-processing nodes kept in float (grey)</span>}
      </p>
      <div className="graph-scroll">
        <svg width={layout.width} height={layout.height} viewBox={`0 0 ${layout.width} ${layout.height}`} role="img" aria-label="Model graph" data-testid="model-graph">
          <defs><marker id="arrow" viewBox="0 0 6 6" refX="6" refY="3" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0 L6,3 L0,6 z" fill="var(--muted)" /></marker></defs>
          {layout.edges.map((e, i) => <polyline key={i} points={e.points.map((p) => `${p.x},${p.y}`).join(' ')} fill="none" stroke="var(--muted)" markerEnd="url(#arrow)" />)}
          {layout.nodes.map((n) => (
            <g key={n.id} transform={`translate(${n.x - NODE_W / 2} ${n.y - NODE_H / 2})`} className={`graph-node${selected === n.id ? ' selected' : ''}`}
              data-testid="graph-node" data-node={n.id} data-tail={data.floatTail?.[n.id] ? 'true' : undefined}
              role="button" tabIndex={0} aria-label={`${ops.get(n.id)} ${n.id}`}
              onClick={() => setSelected(n.id)} onKeyDown={(ev) => { if (ev.key === 'Enter' || ev.key === ' ') setSelected(n.id); }}>
              <rect width={NODE_W} height={NODE_H} rx="5" fill={fill(n.id, data, by)} stroke="var(--border)" />
              <text x={NODE_W / 2} y={13} textAnchor="middle" fontSize="11" fontWeight="600">{ops.get(n.id)}</text>
              <text x={NODE_W / 2} y={25} textAnchor="middle" fontSize="9">{n.id.length > 26 ? `…${n.id.slice(-25)}` : n.id}</text>
            </g>
          ))}
        </svg>
      </div>
      {selected && <NodeDetails id={selected} opType={ops.get(selected) ?? ''} data={data} />}
    </div>
  );
}
