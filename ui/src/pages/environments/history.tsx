// An environment's revisions as a timeline, newest first: failed and rolled-back ones stand out
// with their reason; a healthy earlier one can be rolled back to; any two can be compared. Changes
// of the replica count that made no revision (scale events) sit between them.
import { useState } from 'preact/hooks';
import type { JSX } from 'preact';
import { api } from '../../api.js';
import { useLive } from '../../live.js';
import { when } from '../../format.js';
import { ErrorNote, StatusBadge } from '../../components/status.js';
import type { Revision, ScaleEvent } from '../../../../src/api/index.js';
import { RevisionDiffView } from './diff.js';

interface HistoryProps {
  app: string;
  env: string;
  current?: Revision;
  /** why the session may not roll back, or undefined */
  denied?: string;
  /** the revisions to compare from the start (the address's) */
  initialPicked: number[];
  onPicked: (picked: number[]) => void;
  onRollback: (to: Revision) => void;
}

export function History({ app, env, current, denied, initialPicked, onPicked, onRollback }: HistoryProps): JSX.Element {
  const { value, error } = useLive(() => api.call('environmentRevisions', { params: { app, env } }), [app, env], ['environment'], {
    matches: (change) => change.app === app && change.environment === env,
  });
  // the revisions ticked for comparison, in the order ticked: a third replaces the first
  const [picked, setPicked] = useState<number[]>(initialPicked);
  if (error) return <ErrorNote error={error} />;
  if (!value) return <p class="loading">Loading the history…</p>;
  const revisions: Revision[] = [...value.revisions].reverse();
  // newest first; a scale event goes before (above) the revisions older than it
  const scales: ScaleEvent[] = [...(value.scaleEvents ?? [])].reverse();
  const entries: Array<{ revision: Revision } | { scale: ScaleEvent }> = [];
  for (const r of revisions) {
    while (scales[0] && scales[0].at >= r.createdAt) entries.push({ scale: scales.shift() as ScaleEvent });
    entries.push({ revision: r });
  }
  for (const e of scales) entries.push({ scale: e });
  const pick = (next: number[]): void => {
    setPicked(next);
    onPicked(next);
  };
  const toggle = (n: number): void => pick(picked.includes(n) ? picked.filter((x) => x !== n) : [...picked, n].slice(-2));
  const [from, to] = [...picked].sort((a, b) => a - b);
  return (
    <div class="history">
      {from !== undefined && to !== undefined ? (
        <>
          <RevisionDiffView app={app} env={env} from={from} to={to} />
          <button type="button" onClick={() => pick([])}>
            Clear the comparison
          </button>
        </>
      ) : (
        <p class="hint">Tick two revisions to compare them{picked.length === 1 ? ` (#${picked[0]} ticked)` : ''}.</p>
      )}
      <ol class="timeline" aria-label={`revisions of ${app} in ${env}`}>
        {entries.map((entry) => {
          if ('scale' in entry) {
            const e = entry.scale;
            return (
              <li key={`scale-${e.at}`} class={`scale-event o-${e.outcome}`}>
                <StatusBadge status={e.outcome} /> replicas {e.from} → {e.to}
                <span class="rev-meta">
                  {' '}
                  scale by {e.by} · {when(Date.parse(e.at))}
                  {e.cause ? ` · ${e.cause}` : ''}
                </span>
                {e.reason ? <pre class="why">{e.reason}</pre> : null}
              </li>
            );
          }
          const r = entry.revision;
          return (
            <li key={r.number} class={`rev o-${r.outcome}`}>
              <span class="rev-n">#{r.number}</span> <StatusBadge status={r.outcome} /> <code class="digest">{r.image}</code>
              {r.number === current?.number ? <span class="badge current">serving</span> : null}
              <span class="rev-meta">
                {' '}
                {r.trigger.kind}
                {r.trigger.from ? ` from ${r.trigger.from.environment}#${r.trigger.from.revision}` : ''}
                {r.restoredFrom ? ` (restores #${r.restoredFrom})` : ''} by {r.trigger.by} · {when(Date.parse(r.createdAt))}
                {r.trigger.commit ? ` · ${r.trigger.commit.slice(0, 7)}` : ''}
                {r.trigger.runId ? (
                  <>
                    {' · '}
                    <a href={`/runs/${encodeURIComponent(r.trigger.runId)}`}>run</a>
                  </>
                ) : null}
              </span>
              {r.reason ? <pre class="why">{r.reason}</pre> : null}
              <div class="rev-actions">
                <label class="check">
                  <input type="checkbox" checked={picked.includes(r.number)} onChange={() => toggle(r.number)} /> Compare #{r.number}
                </label>
                {r.outcome === 'healthy' && current !== undefined && r.number < current.number ? (
                  <button type="button" disabled={denied !== undefined} title={denied} onClick={() => onRollback(r)}>
                    Roll back to #{r.number}
                  </button>
                ) : null}
              </div>
            </li>
          );
        })}
      </ol>
    </div>
  );
}
