import type { AgreementBasis, PipelineConfig } from '../core/pipeline/types.js';
import type { RunResult } from '../worker/protocol.js';
import type { PageVerification } from '../worker/verifyInPage.js';
import { FrontierChart } from './FrontierChart.js';
import { downloadBlob, formatBytes } from './format.js';

function SqnrChart({ layers }: { layers: { name: string; sqnrDb: number }[] }) {
  const max = Math.max(40, ...layers.map((l) => l.sqnrDb));
  const h = 16;
  return (
    <svg className="sqnr" viewBox={`0 0 400 ${layers.length * h}`} role="img" aria-label="Per-layer SQNR in dB">
      {layers.map((l, i) => (
        <g key={l.name} transform={`translate(0 ${i * h})`}>
          <text x="0" y={h - 4} fontSize="10">{l.name.slice(-24)}</text>
          <rect x="150" y="2" height={h - 4} width={Math.max(0, (l.sqnrDb / max) * 200)} className="bar" />
          <text x={155 + Math.max(0, (l.sqnrDb / max) * 200)} y={h - 4} fontSize="10">{l.sqnrDb.toFixed(1)} dB</text>
        </g>
      ))}
    </svg>
  );
}

const METHOD_WORDS: Record<string, string> = { 'bn-statistics': 'synthetic', 'prior-only': 'image-prior', noise: 'noise', 'user-images': 'of your own' };

/** The calibration as applied, in words: "64 synthetic images (synthesis batch 64, 80 steps)". */
export function appliedCalibration(c: NonNullable<RunResult['calibration']>): string {
  const what = `${c.images} ${METHOD_WORDS[c.method] ?? c.method} image${c.images === 1 ? '' : 's'}`;
  const how = c.steps !== undefined ? ` (synthesis batch ${c.batch}, ${c.steps} steps)` : '';
  return `${what}${c.from ? ` from ${c.from}` : ''}${how}`;
}

/** Says what the agreement was measured on: calibration images, by our executor, no labels (not an accuracy). */
export function agreementBasis(on: AgreementBasis): string {
  return `on ${on.images} ${METHOD_WORDS[on.method] ?? on.method} calibration image${on.images === 1 ? '' : 's'}, both models run by ${on.runtime}; not an accuracy (no labels)`;
}

const rate = (x: number) => `${x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toPrecision(3)} images/s`;

/** The export as users will run it: onnxruntime-web in this page, against the float model, same images. */
function Verification({ v }: { v: PageVerification }) {
  if (!v.result) return <p className="muted" data-testid="verification-skipped">Not verified in onnxruntime-web: {v.skipped}.</p>;
  const r = v.result;
  return (
    <dl data-testid="verification">
      <dt>Checked in</dt><dd data-testid="verification-runtime">{r.runtime}, on {v.on}</dd>
      {r.agreement !== undefined && <><dt>Top-1 agreement there</dt><dd data-testid="verification-agreement">{(r.agreement * 100).toFixed(1)}%</dd></>}
      <dt>Speed there</dt>
      <dd data-testid="verification-speed">float {rate(r.floatImagesPerSecond)}, quantized {rate(r.quantImagesPerSecond)} (×{r.speedup.toFixed(2)})</dd>
    </dl>
  );
}

export function ResultsPanel({ result, config }: { result: RunResult | null; config: PipelineConfig }) {
  const file = (pred: (n: string) => boolean) => result?.files.find((f) => pred(f.name));
  const onnx = file((n) => n.endsWith('.onnx'));
  const tfjs = result?.files.filter((f) => f.name.startsWith('tfjs/')) ?? [];
  const report = file((n) => n === 'report.json');
  const html = file((n) => n === 'report.html');
  return (
    <section className="panel" aria-labelledby="results-h">
      <h2 id="results-h">5. Results</h2>
      {!result ? <p className="empty-state">Sizes, per-layer quality and downloads appear here after a run.</p> : (
        <dl>
          <dt>Size</dt><dd>{result.sizeBefore ? formatBytes(result.sizeBefore) : '?'} → {result.sizeAfter ? formatBytes(result.sizeAfter) : '?'}</dd>
          {result.calibration && <><dt>Calibrated on</dt><dd data-testid="applied-calibration">{appliedCalibration(result.calibration)}</dd></>}
          <dt>{result.agreementOn?.metric === 'boxes' ? 'Box agreement (float detections kept at IoU ≥ 0.5, same class)' : 'Top-1 agreement'}, float vs quantized</dt>
          <dd>
            <span data-testid="agreement">{result.agreement !== undefined ? `${(result.agreement * 100).toFixed(1)}%` : 'not measured'}</span>
            {result.agreementOn && <span className="muted" data-testid="agreement-basis"> {agreementBasis(result.agreementOn)}</span>}
          </dd>
          {result.floatTail && <><dt>Kept in float</dt><dd data-testid="float-tail">{result.floatTail}</dd></>}
        </dl>
      )}
      {result?.mixedPrecision && <FrontierChart mp={result.mixedPrecision} />}
      {result?.notes?.length ? <ul className="notes" data-testid="report-notes">{result.notes.map((n, i) => <li key={i}>{n}</li>)}</ul> : null}
      {result?.verification && <Verification v={result.verification} />}
      {result?.layerSqnr?.length ? <SqnrChart layers={result.layerSqnr} /> : null}
      <div className="buttons">
        <button type="button" data-testid="download-onnx" disabled={!onnx} onClick={() => onnx && downloadBlob(onnx.name, onnx.bytes)}>Download ONNX</button>
        <button type="button" data-testid="download-tfjs" disabled={tfjs.length === 0} onClick={() => tfjs.forEach((f) => downloadBlob(f.name.slice(5), f.bytes))}>Download TF.js</button>
        <button type="button" data-testid="download-report" disabled={!report} onClick={() => report && downloadBlob(report.name, report.bytes, 'application/json')}>Download report</button>
        <button type="button" data-testid="download-html-report" disabled={!html} onClick={() => html && downloadBlob(html.name, html.bytes, 'text/html')}>Download HTML report</button>
        <button type="button" data-testid="download-config" onClick={() => downloadBlob('localquant-config.json', JSON.stringify(config, null, 2), 'application/json')}>Download config JSON</button>
      </div>
    </section>
  );
}
