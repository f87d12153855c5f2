import type { BlockEvent } from '../core/pipeline/types.js';

/** One row of the block-reconstruction progress table (reconstruction 'block'). */
export interface BlockRow {
  name: string;
  layers: string[];
  status: 'waiting' | 'running' | 'done';
  iteration?: number;
  iterations?: number;
  /** Loss on the current mini-batch (reconstruction + rounding regulariser). */
  loss?: number;
  nearestError?: number;
  blockError?: number;
}

/** The rows after one block event: 'blocks' lists them (all waiting), 'block' updates the one it names. */
export function applyBlockEvent(rows: BlockRow[], e: BlockEvent): BlockRow[] {
  if (e.type === 'blocks') return e.blocks.map((b) => ({ name: b.name, layers: b.layers, status: 'waiting' }));
  return rows.map((r, i) =>
    i !== e.index
      ? r
      : {
          ...r,
          status: e.status,
          iteration: e.iteration ?? r.iteration,
          iterations: e.iterations ?? r.iterations,
          loss: e.loss ?? r.loss,
          nearestError: e.nearestError ?? r.nearestError,
          blockError: e.blockError ?? r.blockError,
        },
  );
}
