/** Inline SVG charts as strings (no DOM), for the self-contained HTML report. */
import { escapeHtml } from './escapeHtml.js';

export interface Bar {
  label: string;
  value: number;
}

/** Horizontal bars, one per row, scaled to the largest value (at least `minMax`). */
export function barChartSvg(bars: Bar[], opts: { unit: string; minMax?: number; title: string }): string {
  const rowH = 16;
  const max = Math.max(opts.minMax ?? 0, ...bars.map((b) => (Number.isFinite(b.value) ? b.value : 0)), 1e-12);
  const rows = bars.map((b, i) => {
    const w = Number.isFinite(b.value) ? Math.max(0, (b.value / max) * 260) : 0;
    const text = Number.isFinite(b.value) ? `${b.value.toFixed(1)} ${opts.unit}` : 'n/a';
    return `<g transform="translate(0 ${i * rowH})"><text x="0" y="${rowH - 4}" font-size="10">${escapeHtml(b.label.slice(-28))}</text>` +
      `<rect x="180" y="2" height="${rowH - 4}" width="${w.toFixed(1)}" fill="#3a7bd5"/>` +
      `<text x="${(185 + w).toFixed(1)}" y="${rowH - 4}" font-size="10">${text}</text></g>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${escapeHtml(opts.title)}" viewBox="0 0 520 ${Math.max(rowH, bars.length * rowH)}" width="520">${rows.join('')}</svg>`;
}

/** A polyline of a series (e.g. the synthesis loss per step) on a log scale when it spans decades. */
export function lineChartSvg(values: number[], opts: { title: string; width?: number; height?: number }): string {
  const w = opts.width ?? 520;
  const h = opts.height ?? 140;
  const finite = values.filter((v) => Number.isFinite(v) && v > 0);
  if (finite.length < 2) return `<p>${escapeHtml(opts.title)}: not enough points.</p>`;
  const lo = Math.log10(Math.min(...finite));
  const hi = Math.log10(Math.max(...finite));
  const span = hi - lo || 1;
  const pts = values
    .map((v, i) => (Number.isFinite(v) && v > 0 ? `${((i / (values.length - 1)) * (w - 10) + 5).toFixed(1)},${(h - 15 - ((Math.log10(v) - lo) / span) * (h - 30)).toFixed(1)}` : null))
    .filter((p): p is string => p !== null);
  return `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${escapeHtml(opts.title)}" viewBox="0 0 ${w} ${h}" width="${w}">` +
    `<polyline fill="none" stroke="#c0392b" stroke-width="1.5" points="${pts.join(' ')}"/>` +
    `<text x="5" y="12" font-size="10">${Math.max(...finite).toPrecision(3)}</text><text x="5" y="${h - 2}" font-size="10">${Math.min(...finite).toPrecision(3)} (log scale)</text></svg>`;
}
