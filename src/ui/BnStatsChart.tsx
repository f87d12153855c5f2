import { useState } from 'react';
import type { BnChannelStats } from '../core/synth/progress.js';

/** Squared distance of the batch statistics from the stored ones, per channel (what synthesis minimizes). */
export function bnGap(l: BnChannelStats): number {
  let s = 0;
  for (let c = 0; c < l.mean.length; c++) s += (l.mean[c] - l.targetMean[c]) ** 2 + (l.std[c] - l.targetStd[c]) ** 2;
  return s / Math.max(1, l.mean.length);
}

function ChannelRow({ label, batch, target, y0 }: { label: string; batch: Float32Array; target: Float32Array; y0: number }) {
  const n = batch.length;
  const all = [...batch, ...target].filter(Number.isFinite);
  const lo = Math.min(...all);
  const hi = Math.max(...all);
  const sy = (v: number) => y0 + 110 - ((v - lo) / (hi - lo || 1)) * 100;
  const sx = (c: number) => 40 + ((c + 0.5) / n) * 590;
  return (
    <g>
      <text x="0" y={y0 + 12} fontSize="10">{label}</text>
      <text x="0" y={y0 + 110} fontSize="9">{lo.toPrecision(2)}</text>
      <text x="0" y={y0 + 24} fontSize="9">{hi.toPrecision(2)}</text>
      {Array.from(target, (t, c) => <line key={`t${c}`} className="target" x1={sx(c) - 2} x2={sx(c) + 2} y1={sy(t)} y2={sy(t)} stroke="#7f8c8d" strokeWidth="2" />)}
      {Array.from(batch, (b, c) => <circle key={`b${c}`} cx={sx(c)} cy={sy(b)} r="1.8" fill="#c0392b" />)}
    </g>
  );
}

/** Per BatchNorm layer: channel means and stds of the synthetic batch (red) against the stored statistics (grey). */
export function BnStatsChart({ layers }: { layers: BnChannelStats[] }) {
  const [pick, setPick] = useState(0);
  if (!layers.length) return <p className="empty-state">BatchNorm statistics appear here while images are synthesized.</p>;
  const i = Math.min(pick, layers.length - 1);
  const l = layers[i];
  return (
    <div data-testid="bn-stats">
      <label>
        BatchNorm layer{' '}
        <select value={i} onChange={(e) => setPick(Number(e.target.value))} data-testid="bn-layer-select">
          {layers.map((x, k) => <option key={x.name} value={k}>{x.name} (gap {bnGap(x).toExponential(1)})</option>)}
        </select>
      </label>
      <svg className="bn-chart" viewBox="0 0 640 250" role="img" aria-label={`Channel statistics of ${l.name}: synthetic batch against stored`}>
        <ChannelRow label="mean" batch={l.mean} target={l.targetMean} y0={0} />
        <ChannelRow label="std" batch={l.std} target={l.targetStd} y0={125} />
      </svg>
      <p className="muted">{l.mean.length} channels · red: synthetic batch · grey: stored running statistics</p>
    </div>
  );
}
