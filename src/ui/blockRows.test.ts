import { describe, expect, it } from 'vitest';
import { applyBlockEvent } from './blockRows.js';

describe('block progress rows', () => {
  it('lists the blocks, then follows each one from running to done with its errors', () => {
    let rows = applyBlockEvent([], { type: 'blocks', version: 1, blocks: [{ name: 'stem', layers: ['c0'] }, { name: 'res1', layers: ['c1', 'c2'] }] });
    expect(rows.map((r) => r.status)).toEqual(['waiting', 'waiting']);
    rows = applyBlockEvent(rows, { type: 'block', version: 1, name: 'res1', index: 1, status: 'running', iteration: 50, iterations: 200, loss: 0.3 });
    expect(rows[1]).toMatchObject({ status: 'running', iteration: 50, iterations: 200, loss: 0.3, layers: ['c1', 'c2'] });
    expect(rows[0].status).toBe('waiting');
    rows = applyBlockEvent(rows, { type: 'block', version: 1, name: 'res1', index: 1, status: 'done', nearestError: 0.5, blockError: 0.4 });
    // a done event keeps the last iteration count and loss seen
    expect(rows[1]).toMatchObject({ status: 'done', iterations: 200, loss: 0.3, nearestError: 0.5, blockError: 0.4 });
  });
});
