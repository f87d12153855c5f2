import type { LayerStatus } from '../core/pipeline/types.js';
import { formatSeconds } from './format.js';

export interface LayerRow {
  name: string;
  opType: string;
  weightBits: number;
  activationBits: number;
  status: LayerStatus;
  iteration?: number;
  iterations?: number;
  nearestError?: number;
  adaptiveError?: number;
}

export function LayersPanel({ layers, secondsLeft }: { layers: LayerRow[]; secondsLeft: number | null }) {
  const done = layers.filter((l) => l.status === 'done').length;
  return (
    <section className="panel" aria-labelledby="layers-h">
      <h2 id="layers-h">4. Per-layer rounding</h2>
      {layers.length === 0 ? (
        <p className="empty-state">Each quantized layer is listed here with its rounding progress and error.</p>
      ) : (
        <>
          <p aria-live="polite">
            <progress data-testid="overall-progress" max={layers.length} value={done} /> {done} / {layers.length} layers
            {secondsLeft !== null && done < layers.length ? `, about ${formatSeconds(secondsLeft)} left` : ''}
          </p>
          <table className="layers">
            <thead><tr><th>Layer</th><th>Bits (w/a)</th><th>Progress</th><th>Nearest error</th><th>Adaptive error</th></tr></thead>
            <tbody>
              {layers.map((l) => (
                <tr key={l.name} data-testid="layer-row" data-status={l.status}>
                  <td title={l.opType}>{l.name}</td>
                  <td>{l.weightBits}/{l.activationBits}</td>
                  <td><progress max={l.iterations ?? 1} value={l.status === 'done' ? (l.iterations ?? 1) : (l.iteration ?? 0)} aria-label={`${l.name} ${l.status}`} /> {l.status}</td>
                  <td>{l.nearestError?.toExponential(2) ?? '–'}</td>
                  <td>{l.adaptiveError?.toExponential(2) ?? '–'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
