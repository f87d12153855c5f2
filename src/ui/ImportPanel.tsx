import { useState, type DragEvent } from 'react';
import type { ModelSummary } from '../core/ir/summary.js';
import type { InputNormalization } from '../core/pipeline/types.js';
import { formatBytes, formatCount } from './format.js';

interface Props {
  summary: ModelSummary | null;
  fileNames: string[];
  busy: boolean;
  normalization: InputNormalization;
  layout: 'NCHW' | 'NHWC';
  onFiles: (files: File[]) => void;
  onSample: () => void;
  onNormalization: (n: InputNormalization) => void;
}

function shape(s: (number | string | null)[] | null): string {
  return s ? `[${s.map((d) => d ?? '?').join(', ')}]` : '(unknown)';
}

function parseList(text: string): number[] | null {
  const v = text.split(/[\s,]+/).filter(Boolean).map(Number);
  return v.length && v.every(Number.isFinite) ? v : null;
}

export function ImportPanel({ summary, fileNames, busy, normalization, layout, onFiles, onSample, onNormalization }: Props) {
  const [over, setOver] = useState(false);
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    if (!busy && e.dataTransfer.files.length) onFiles([...e.dataTransfer.files]);
  };
  return (
    <section className="panel" aria-labelledby="import-h">
      <h2 id="import-h">1. Model</h2>
      <div
        className={over ? 'dropzone over' : 'dropzone'}
        onDragOver={(e) => { e.preventDefault(); setOver(true); }}
        onDragLeave={() => setOver(false)}
        onDrop={onDrop}
      >
        <p>Drop an ONNX model (.onnx, with external data files) or a TF.js model.json with its .bin files here, or</p>
        <label className="button">
          Choose files…
          <input
            data-testid="model-input" type="file" multiple disabled={busy} accept=".onnx,.json,.bin,.data,application/octet-stream"
            className="visually-hidden" onChange={(e) => { if (e.target.files?.length) onFiles([...e.target.files]); e.target.value = ''; }}
          />
        </label>
        <button type="button" data-testid="sample-model" onClick={onSample} disabled={busy}>Use the sample digits model</button>
      </div>
      <div data-testid="model-summary" className="summary" aria-live="polite">
        {!summary ? (
          <p className="empty-state">{busy ? 'Reading the model…' : 'No model yet. Nothing is uploaded: the file is read in this tab only.'}</p>
        ) : (
          <dl>
            <dt>File</dt><dd>{fileNames.join(', ')}</dd>
            <dt>Format</dt><dd>{summary.format} (opset {summary.opset}){summary.producer ? `, from ${summary.producer}` : ''}</dd>
            <dt>Inputs</dt><dd>{summary.inputs.map((i) => `${i.name} ${i.dtype} ${shape(i.shape)}`).join('; ')}</dd>
            <dt>Outputs</dt><dd>{summary.outputs.map((i) => `${i.name} ${i.dtype} ${shape(i.shape)}`).join('; ')}</dd>
            <dt>Parameters</dt><dd>{formatCount(summary.parameterCount)}</dd>
            <dt>Size</dt><dd>{formatBytes(summary.sizeBytes)}</dd>
            <dt>BatchNorm</dt><dd data-testid="batchnorm-count">{summary.batchNormCount} BatchNormalization{summary.batchNormCount === 0 ? ' (synthesis falls back to the image prior)' : ''}</dd>
            <dt>Operators</dt>
            <dd>
              <ul className="ops">
                {Object.entries(summary.opCounts).map(([op, n]) => <li key={op}>{n} {op}</li>)}
              </ul>
            </dd>
          </dl>
        )}
      </div>
      <fieldset className="normalization">
        <legend>Input normalization: x = (pixel / range − mean) / std for 8-bit pixels 0–255, layout {layout}</legend>
        <label>Mean <input data-testid="norm-mean" defaultValue={normalization.mean.join(', ')} key={`m${normalization.mean.join()}`}
          onBlur={(e) => { const v = parseList(e.target.value); if (v) onNormalization({ ...normalization, mean: v }); }} /></label>
        <label>Std <input data-testid="norm-std" defaultValue={normalization.std.join(', ')} key={`s${normalization.std.join()}`}
          onBlur={(e) => { const v = parseList(e.target.value); if (v && v.every((x) => x > 0)) onNormalization({ ...normalization, std: v }); }} /></label>
        <label title="What the mean and std above apply to: pixels scaled to 0–1, or the raw 0–255 values (e.g. mean 123.7, 116.3, 103.5)">
          Model was trained on <select data-testid="norm-range" value={normalization.pixelRange}
          onChange={(e) => onNormalization({ ...normalization, pixelRange: Number(e.target.value) })}>
          <option value={255}>pixels 0–1 (range 255)</option><option value={1}>raw pixels 0–255 (range 1)</option>
        </select></label>
      </fieldset>
    </section>
  );
}
