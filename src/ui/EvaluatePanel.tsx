import { useState } from 'react';
import type { RgbaImage } from '../core/pipeline/types.js';
import { pngDataUrl } from '../core/report/pngEncode.js';
import { NEAR_FACTOR, SLIP_FRACTION, type BoxAgreement } from '../core/pipeline/boxAgreement.js';
import type { CompareResult } from '../core/verify/compareModels.js';
import type { OwnImagesEvaluation } from '../worker/evaluateInPage.js';

export interface EvaluationView {
  evaluation: OwnImagesEvaluation;
  /** The evaluated images (for the disagreement thumbnails) and their paths. */
  images: RgbaImage[];
  paths: string[];
  classNames?: string[];
  labelSource: 'folders' | 'csv' | 'none';
}

/** A picked file and its path inside the chosen folder ("cat/001.png"). */
export interface PickedFile { file: File; path: string }

const pct = (x?: number) => (x === undefined ? '–' : `${(x * 100).toFixed(2)} %`);

function Disagreements({ view, result }: { view: EvaluationView; result: CompareResult }) {
  const name = (c?: number) => (c === undefined ? '–' : view.classNames?.[c] ?? String(c));
  const shown = result.disagreements.slice(0, 60);
  if (!shown.length) return <p data-testid="no-disagreements">Float and quantized models agree on every image.</p>;
  return (
    <div className="disagreements" data-testid="disagreements">
      <p>{result.disagreements.length} images where the two models disagree{shown.length < result.disagreements.length ? ` (first ${shown.length} shown)` : ''}:</p>
      <div className="preview-grid">
        {shown.map((d) => (
          <figure key={d.index} className="disagreement" data-testid="disagreement">
            <img src={pngDataUrl(view.images[d.index])} alt={view.paths[d.index]} width={64} height={64} />
            <figcaption>
              float: {name(d.floatClass)}<br />quantized: {name(d.quantClass)}{d.label !== undefined ? <><br />label: {name(d.label)}</> : null}
            </figcaption>
          </figure>
        ))}
      </div>
    </div>
  );
}

function BoxFigures({ boxes }: { boxes: BoxAgreement }) {
  return (
    <dl data-testid="evaluation">
      <dt>Images</dt><dd>{boxes.images}</dd>
      <dt>Box agreement</dt><dd data-testid="eval-agreement">{pct(boxes.agreement)}</dd>
      <dt>Detections</dt><dd>{boxes.matched} of {boxes.floatDetections} float detections (score ≥ {boxes.scoreThreshold}) matched by a quantized one of the same class at IoU ≥ {boxes.iouThreshold}; the quantized model made {boxes.quantizedDetections}</dd>
      <dt>AP50 vs float</dt><dd data-testid="eval-ap50">{pct(boxes.ap50)} (the quantized boxes ranked by score, down to {+(boxes.scoreThreshold * SLIP_FRACTION).toFixed(3)}, with the float detections as ground truth: no threshold)</dd>
      <dt>Score slips</dt><dd>{boxes.matchedAtHalfThreshold - boxes.matched} more found by a quantized box scoring between {+(boxes.scoreThreshold * SLIP_FRACTION).toFixed(3)} and {boxes.scoreThreshold} (same box, lower score); {boxes.nearThreshold} of the float detections score below {+(boxes.scoreThreshold * NEAR_FACTOR).toFixed(3)}</dd>
      <dt>Read as</dt><dd>{boxes.decoder}</dd>
    </dl>
  );
}

export function EvaluatePanel({ disabled, busy, view, onEvaluate }: { disabled: boolean; busy: boolean; view: EvaluationView | null; onEvaluate: (files: PickedFile[], labelsCsv?: File) => void }) {
  const [csv, setCsv] = useState<File | undefined>();
  const r = view?.evaluation.kind === 'classification' ? view.evaluation.result : undefined;
  const boxes = view?.evaluation.kind === 'detection' ? view.evaluation.result : undefined;
  return (
    <section className="panel" aria-labelledby="evaluate-h">
      <h2 id="evaluate-h">6. Evaluate on my own images</h2>
      <p className="muted">Pick a folder of images, in class sub-folders (sorted folder names are classes 0, 1, …) or with a CSV of file,label. Both models run here in onnxruntime-web; nothing is uploaded.</p>
      <div className="buttons">
        <label className="button">
          Choose image folder…
          <input type="file" className="visually-hidden" data-testid="evaluate-folder" disabled={disabled || busy}
            {...{ webkitdirectory: '', directory: '' }} multiple
            onChange={(e) => {
              const files = [...(e.target.files ?? [])];
              e.target.value = '';
              if (files.length) onEvaluate(files.map((f) => ({ file: f, path: f.webkitRelativePath || f.name })), csv);
            }} />
        </label>
        <label className="button">
          Labels CSV (optional){csv ? `: ${csv.name}` : ''}
          <input type="file" accept=".csv,text/csv" className="visually-hidden" data-testid="evaluate-csv" disabled={disabled || busy} onChange={(e) => setCsv(e.target.files?.[0])} />
        </label>
      </div>
      {disabled && <p className="empty-state">Quantize a model first.</p>}
      {busy && <p aria-live="polite">Evaluating…</p>}
      {r && view && (
        <>
          <dl data-testid="evaluation">
            <dt>Images</dt><dd>{r.images} ({view.labelSource === 'none' ? 'no labels: agreement only' : `labels from ${view.labelSource === 'csv' ? 'the CSV' : 'class folders'}`})</dd>
            <dt>Top-1, float model</dt><dd data-testid="eval-float-top1">{pct(r.floatTop1)}</dd>
            <dt>Top-1, quantized model</dt><dd data-testid="eval-quant-top1">{pct(r.quantTop1)}</dd>
            <dt>Agreement float vs quantized</dt><dd data-testid="eval-agreement">{pct(r.agreement)}</dd>
            <dt>Runtime</dt><dd>{r.runtime}</dd>
          </dl>
          {r.perClass && (
            <table className="layers" data-testid="per-class">
              <thead><tr><th>Class</th><th>Images</th><th>Float top-1</th><th>Quantized top-1</th></tr></thead>
              <tbody>{r.perClass.map((c) => <tr key={c.label}><td>{view.classNames?.[c.label] ?? c.label}</td><td>{c.count}</td><td>{pct(c.floatTop1)}</td><td>{pct(c.quantTop1)}</td></tr>)}</tbody>
            </table>
          )}
          <Disagreements view={view} result={r} />
        </>
      )}
      {boxes && <BoxFigures boxes={boxes} />}
    </section>
  );
}
