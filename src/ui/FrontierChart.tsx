import type { MixedPrecisionReport } from '../core/algos/mixedPrecision/sizeBudget.js';
import { formatBytes } from './format.js';

/**
 * The size budget's trade-off: every Pareto-optimal bit assignment (file size vs predicted error, the sum
 * of per-layer sensitivities), the budget line and the assignment chosen; then the bits per layer.
 */
export function FrontierChart({ mp }: { mp: MixedPrecisionReport }) {
  const pts = mp.frontier;
  if (!pts.length) return null;
  const W = 520;
  const H = 200;
  const xs = pts.map((p) => p.bytes).concat(mp.budget.bytesAllowed);
  const ys = pts.map((p) => Math.log10(Math.max(p.sensitivity, 1e-9)));
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const sx = (b: number) => 40 + ((b - x0) / (x1 - x0 || 1)) * (W - 60);
  const sy = (s: number) => H - 25 - ((Math.log10(Math.max(s, 1e-9)) - y0) / (y1 - y0 || 1)) * (H - 40);
  return (
    <div data-testid="size-budget-result">
      <p>
        Size budget {formatBytes(mp.budget.bytesAllowed)}: chose {formatBytes(mp.predictedBytes)}, predicted error {mp.predictedSensitivity.toPrecision(3)} ({mp.metric}, {mp.images} images).
        Bits per layer: <span data-testid="budget-bits">{mp.layers.map((l) => l.bits).join(' ')}</span>
      </p>
      <svg viewBox={`0 0 ${W} ${H}`} className="bn-chart" role="img" aria-label="Size against predicted error of every Pareto-optimal bit assignment">
        <line x1={sx(mp.budget.bytesAllowed)} x2={sx(mp.budget.bytesAllowed)} y1={5} y2={H - 20} stroke="#c0392b" strokeDasharray="4 3" />
        <polyline fill="none" stroke="var(--muted)" points={pts.map((p) => `${sx(p.bytes)},${sy(p.sensitivity)}`).join(' ')} />
        {pts.map((p, i) => <circle key={i} cx={sx(p.bytes)} cy={sy(p.sensitivity)} r={2.5} fill="#3a7bd5" />)}
        <circle cx={sx(mp.predictedBytes)} cy={sy(mp.predictedSensitivity)} r={6} fill="none" stroke="#c0392b" strokeWidth={2} data-testid="frontier-chosen" />
        <text x={40} y={H - 5} fontSize="10">{formatBytes(x0)}</text>
        <text x={W - 20} y={H - 5} fontSize="10" textAnchor="end">{formatBytes(x1)}</text>
        <text x={2} y={12} fontSize="10">error (log)</text>
      </svg>
    </div>
  );
}
