import { describe, expect, it } from 'vitest';
import { advanceTimeline, emptyTimeline, tickTimeline, type Timeline } from './progressTimeline.js';
import type { PipelineEvent } from './types.js';

function play(events: [number, PipelineEvent][]): Timeline {
  return events.reduce((t, [now, e]) => advanceTimeline(t, e, now), emptyTimeline());
}

const step = (batch: number, stepIndex: number): PipelineEvent => ({ type: 'synth-step', version: 1, batch, batches: 2, step: stepIndex, steps: 10, loss: 1, bnLoss: 1, priorLoss: 0 });

describe('progress timeline', () => {
  it('extrapolates synthesis from batches x steps', () => {
    const t = play([[0, { type: 'stage', stage: 'synthesis', status: 'start' }], [5000, step(0, 4)]]);
    const s = t.stages[0];
    expect(s.fraction).toBeCloseTo(0.25);
    expect(s.elapsed).toBeCloseTo(5);
    expect(s.remaining).toBeCloseTo(15);
  });

  it('counts a running layer by its iterations, closes stages with their own seconds', () => {
    const t = play([
      [0, { type: 'stage', stage: 'rounding', status: 'start' }],
      [0, { type: 'layers', layers: ['a', 'b', 'c', 'd'].map((name) => ({ name, opType: 'Conv', weightBits: 4, activationBits: 8 })) }],
      [2000, { type: 'layer', name: 'a', status: 'done' }],
      [3000, { type: 'layer', name: 'b', status: 'running', iteration: 500, iterations: 1000 }],
    ]);
    expect(t.stages[0].fraction).toBeCloseTo(1.5 / 4);
    expect(t.stages[0].remaining).toBeCloseTo((3 / 1.5) * 2.5);
    const closed = advanceTimeline(t, { type: 'stage', stage: 'rounding', status: 'end', seconds: 9 }, 9500);
    expect(closed.stages[0]).toMatchObject({ status: 'done', elapsed: 9, remaining: 0, fraction: 1 });
  });

  it('ticks elapsed time of a running stage without progress and ignores events for stages not running', () => {
    let t = play([[1000, { type: 'stage', stage: 'export', status: 'start' }]]);
    t = tickTimeline(t, 4000);
    expect(t.stages[0].elapsed).toBeCloseTo(3);
    expect(t.stages[0].remaining).toBeUndefined();
    const same = advanceTimeline(t, step(0, 0), 5000);
    expect(same).toBe(t);
  });
});
