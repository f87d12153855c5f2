/**
 * The run's report as one self-contained HTML file: settings, figures, per-layer table and charts, and the
 * synthetic images, all inline (data: URLs, inline SVG and CSS), so it opens offline and leaks nothing.
 * Only what the report says was applied is shown; the raw JSON is embedded for tools.
 */
import type { QuantizationReport } from '../pipeline/types.js';
import { escapeHtml } from './escapeHtml.js';
import { pngDataUrl, type RgbaPixels } from './pngEncode.js';
import { barChartSvg, lineChartSvg } from './svgCharts.js';
import { targetLabels } from '../synth/targetLabels.js';

export interface HtmlReportExtras {
  /** Synthetic (or user) calibration images, already de-normalized to RGBA. */
  images?: RgbaPixels[];
  /** Synthesis objective per step, for the loss curve. */
  synthesisLoss?: number[];
}

const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;font-variant-numeric:tabular-nums}
th{background:#f3f3f3}.gallery img{image-rendering:pixelated;width:64px;height:64px;margin:2px;border:1px solid #ddd}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.5em}.note{color:#8a5300}`;

const fmt = (v: number | undefined | null, digits = 3): string => (v === undefined || v === null || !Number.isFinite(v) ? '–' : Number(v).toPrecision(digits));

function row(cells: (string | number)[], header = false): string {
  const tag = header ? 'th' : 'td';
  return `<tr>${cells.map((c) => `<${tag}>${escapeHtml(String(c))}</${tag}>`).join('')}</tr>`;
}

function keyValueTable(entries: [string, unknown][]): string {
  return `<table>${entries.map(([k, v]) => row([k, typeof v === 'object' ? JSON.stringify(v) : String(v)])).join('')}</table>`;
}

function flatten(obj: unknown, prefix = ''): [string, unknown][] {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return [[prefix, obj]];
  return Object.entries(obj as Record<string, unknown>).flatMap(([k, v]) => (k === 'userImages' ? [[`${prefix}${k}`, `${(v as unknown[]).length} images`] as [string, unknown]] : flatten(v, `${prefix}${k}.`).map(([kk, vv]) => [kk.replace(/\.$/, ''), vv] as [string, unknown])));
}

function layersSection(report: QuantizationReport): string {
  const head = row(['layer', 'op', 'bits w/a', 'rounding', 'nearest error', 'adaptive error', 'SQNR dB', 'flipped', 's'], true);
  const body = report.layers.map((l) =>
    row([l.name, l.opType, `${l.weightBits ?? 'float'}/${l.activationBits}`, l.rounding, fmt(l.nearestError), fmt(l.adaptiveError), fmt(l.sqnrDb), l.flippedFraction === undefined ? '–' : `${(l.flippedFraction * 100).toFixed(1)}%`, fmt(l.seconds, 2)]),
  );
  const sqnr = report.layers.filter((l) => l.sqnrDb !== undefined).map((l) => ({ label: l.name, value: l.sqnrDb as number }));
  return `<h2>Layers</h2><table>${head}${body.join('')}</table>${sqnr.length ? barChartSvg(sqnr, { unit: 'dB', minMax: 40, title: 'Per-layer SQNR in dB' }) : ''}`;
}

/** Class-conditional synthesis as applied and what it reached (no row when it was off). */
function classConditionalFigure(report: QuantizationReport): [string, unknown][] {
  const cc = report.calibration.classConditional;
  if (!cc) return [];
  return [['class-conditional', `${cc.classes} classes round robin, cross-entropy weight ${cc.weight}, CE ${fmt(cc.startClassLoss)} → ${fmt(cc.endClassLoss)}; the float model puts ${(cc.targetHitRate * 100).toFixed(1)} % of the images in their target class`]];
}

export function renderHtmlReport(report: QuantizationReport, extras: HtmlReportExtras = {}): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  const figures: [string, unknown][] = [
    ['model', `${report.model.name} (${report.model.format}, ${report.model.batchNormCount} BatchNorms)`],
    ['size', `${report.sizes.floatBytes.toLocaleString('en-US')} B → ${report.sizes.quantizedBytes.toLocaleString('en-US')} B (${pct(report.sizes.ratio)} of float)`],
    ['agreement', `${pct(report.agreement)} top-1 agreement of the quantized with the float model (on the calibration images, our executor)`],
    ['backend', `${report.backend.name}: ${report.backend.reason}`],
    ['calibration', `${report.calibration.method}, ${report.calibration.images} images${report.calibration.endBnLoss !== undefined ? `, BN loss ${fmt(report.calibration.startBnLoss)} → ${fmt(report.calibration.endBnLoss)}` : ''}`],
    ...classConditionalFigure(report),
    ...Object.entries(report.seconds).map(([k, v]) => [`time: ${k}`, `${fmt(v, 3)} s`] as [string, unknown]),
  ];
  const labels = targetLabels(report.calibration.classConditional);
  const images = extras.images?.length
    ? `<h2>Calibration images (${extras.images.length})</h2><div class="gallery">${extras.images.map((im, i) => `<img alt="calibration image ${i}${labels?.[i] ? `, ${escapeHtml(labels[i])}` : ''}"${labels?.[i] ? ` title="${escapeHtml(labels[i])}"` : ''} src="${pngDataUrl(im)}">`).join('')}</div>`
    : '';
  const loss = extras.synthesisLoss?.length ? `<h2>Synthesis loss</h2>${lineChartSvg(extras.synthesisLoss, { title: 'Synthesis loss per step' })}` : '';
  const notes = report.notes.length ? `<h2>Notes</h2><ul>${report.notes.map((n) => `<li class="note">${escapeHtml(n)}</li>`).join('')}</ul>` : '';
  // The JSON goes into a non-executed script block; "<" is escaped so no "</script>" can close it early.
  const json = JSON.stringify(report, (k, v) => (k === 'userImages' ? undefined : v)).replace(/</g, '\\u003c');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">` +
    `<title>LocalQuant report: ${escapeHtml(report.model.name)}</title><style>${CSS}</style></head><body>` +
    `<h1>LocalQuant report: ${escapeHtml(report.model.name)}</h1><p>Created ${escapeHtml(report.createdAt)}. Everything below was computed on this machine.</p>` +
    `<h2>Figures</h2>${keyValueTable(figures)}${notes}${layersSection(report)}${loss}${images}` +
    `<h2>Settings applied</h2>${keyValueTable(flatten(report.config))}` +
    `<script type="application/json" id="report-json">${json}</script></body></html>`;
}
