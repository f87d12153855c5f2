import type { Timeline } from '../core/pipeline/progressTimeline.js';
import { formatSeconds } from './format.js';

/** The run's stages with elapsed time and an estimate of what remains. */
export function TimelinePanel({ timeline }: { timeline: Timeline }) {
  if (!timeline.stages.length) return null;
  const left = timeline.stages.filter((s) => s.status === 'running' && s.remaining !== undefined).reduce((a, s) => a + (s.remaining ?? 0), 0);
  const running = timeline.stages.some((s) => s.status === 'running');
  return (
    <div data-testid="timeline">
      <ol className="timeline">
        {timeline.stages.map((s) => (
          <li key={`${s.stage}-${s.startedAt}`} data-testid="timeline-stage" data-stage={s.stage} data-status={s.status}>
            <span>{s.stage}</span>
            <progress max={1} value={s.status === 'done' ? 1 : (s.fraction ?? 0)} aria-label={`${s.stage} ${s.status}`} />
            <span>
              {formatSeconds(s.elapsed)}
              {s.status === 'running' && s.remaining !== undefined ? `, about ${formatSeconds(s.remaining)} left` : s.status === 'done' ? ' ✓' : ''}
            </span>
          </li>
        ))}
      </ol>
      {running && left > 0 && <p className="muted" data-testid="time-left">About {formatSeconds(left)} left in the current stage.</p>}
    </div>
  );
}
