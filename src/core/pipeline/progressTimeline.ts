/**
 * Stage timeline with elapsed time and an estimate of what remains, built from the pipeline's own events
 * (pure: the caller passes the clock), so the UI and the CLI show the same plan-able progress.
 * A stage's remaining time is extrapolated from its done fraction: synthesis from batches x steps,
 * rounding from layers done (a finished layer counts whole, a running one by its iterations).
 */
import type { PipelineEvent, Stage } from './types.js';

export interface StageProgress {
  stage: Stage;
  status: 'running' | 'done';
  startedAt: number;
  /** Seconds spent so far (or in all, once done). */
  elapsed: number;
  /** 0..1, when the stage reports its progress. */
  fraction?: number;
  /** Seconds left, when the fraction allows an estimate. */
  remaining?: number;
}

export interface Timeline {
  stages: StageProgress[];
  /** Rounding progress per layer, to weight a running layer by its iterations. */
  layers: Map<string, number>;
}

export function emptyTimeline(): Timeline {
  return { stages: [], layers: new Map() };
}

function running(t: Timeline, stage: Stage): StageProgress | undefined {
  return t.stages.find((s) => s.stage === stage && s.status === 'running');
}

function withFraction(s: StageProgress, fraction: number, now: number): StageProgress {
  const f = Math.min(1, Math.max(0, fraction));
  const elapsed = (now - s.startedAt) / 1000;
  return { ...s, elapsed, fraction: f, remaining: f > 0 ? (elapsed / f) * (1 - f) : undefined };
}

function replace(t: Timeline, next: StageProgress): Timeline {
  return { ...t, stages: t.stages.map((s) => (s.stage === next.stage && s.status === 'running' ? next : s)) };
}

/** The timeline after one event at time `now` (ms). Returns a new object; the input is not changed. */
export function advanceTimeline(t: Timeline, e: PipelineEvent, now: number): Timeline {
  if (e.type === 'stage') {
    if (e.status === 'start') return { ...t, stages: [...t.stages.filter((s) => !(s.stage === e.stage && s.status === 'running')), { stage: e.stage, status: 'running', startedAt: now, elapsed: 0, fraction: 0 }] };
    const s = running(t, e.stage);
    if (!s) return t;
    return replace(t, { ...s, status: 'done', elapsed: e.seconds ?? (now - s.startedAt) / 1000, fraction: 1, remaining: 0 });
  }
  if (e.type === 'synth-step') {
    const s = running(t, 'synthesis');
    return s ? replace(t, withFraction(s, (e.batch * e.steps + e.step + 1) / (e.batches * e.steps), now)) : t;
  }
  if (e.type === 'layers') return { ...t, layers: new Map(e.layers.map((l) => [l.name, 0])) };
  if (e.type === 'layer') {
    const layers = new Map(t.layers);
    layers.set(e.name, e.status === 'done' ? 1 : e.iterations ? (e.iteration ?? 0) / e.iterations : 0);
    const s = running(t, 'rounding');
    const total = layers.size;
    const done = [...layers.values()].reduce((a, b) => a + b, 0);
    return s && total ? { ...replace(t, withFraction(s, done / total, now)), layers } : { ...t, layers };
  }
  return t;
}

/** Elapsed and remaining time of the running stages at `now`, without a new event. */
export function tickTimeline(t: Timeline, now: number): Timeline {
  return { ...t, stages: t.stages.map((s) => (s.status === 'running' ? (s.fraction ? withFraction(s, s.fraction, now) : { ...s, elapsed: (now - s.startedAt) / 1000 }) : s)) };
}
