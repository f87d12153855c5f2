import type { LayerStatus } from '../core/pipeline/types.js';
import type { BlockRow } from './blockRows.js';
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

/** Block reconstruction: one row per block (its layers, iterations, mini-batch loss, output errors). */
function BlocksTable({ blocks }: { blocks: BlockRow[] }) {
  return (
    <table className="layers" data-testid="blocks-table">
      <thead><tr><th>Block</th><th>Layers</th><th>Progress</th><th>Loss</th><th>Nearest error</th><th>Block error</th></tr></thead>
      <tbody>
        {blocks.map((b) => (
          <tr key={b.name} data-testid="block-row" data-status={b.status}>
            <td>{b.name}</td>
            <td title={b.layers.join('\n')}>{b.layers.length}</td>
            <td><progress max={b.iterations ?? 1} value={b.status === 'done' ? (b.iterations ?? 1) : (b.iteration ?? 0)} aria-label={`${b.name} ${b.status}`} /> {b.status}</td>
            <td>{b.loss?.toExponential(2) ?? '–'}</td>
            <td>{b.nearestError?.toExponential(2) ?? '–'}</td>
            <td>{b.blockError?.toExponential(2) ?? '–'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function LayersPanel({ layers, blocks = [], secondsLeft }: { layers: LayerRow[]; blocks?: BlockRow[]; secondsLeft: number | null }) {
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
          {blocks.length > 0 && <BlocksTable blocks={blocks} />}
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
