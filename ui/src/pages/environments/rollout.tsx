// The rollout under way in an environment, live: a rollout started through the API is followed
// over Server-Sent Events (GET /api/rollouts/{id}; the browser resumes with Last-Event-ID after a
// dropped connection) until its end; a run's deploy job is pointed to, since its log has the lines.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { JSX } from 'preact';
import type { EnvironmentStatus, Rollout } from '../../../../src/api/index.js';
import { when } from '../../format.js';
import { StatusBadge } from '../../components/status.js';

type Line = Rollout['lines'][number];
type Ended = Omit<Rollout, 'lines'>;
export type InProgress = NonNullable<EnvironmentStatus['rollout']>;

interface Followed {
  lines: readonly Line[];
  ended?: Ended;
  /** the stream closed before an end: the server no longer knows the rollout */
  lost: boolean;
}

/** A rollout's progress lines as they come, and its end; `onEnd` once it ended. */
function useRollout(id: string, onEnd: () => void): Followed {
  const [state, setState] = useState<Followed>({ lines: [], lost: false });
  const onEndRef = useRef(onEnd);
  onEndRef.current = onEnd;
  useEffect(() => {
    const lines: Line[] = [];
    let lastSeq = 0;
    let frame = 0;
    let ended: Ended | undefined;
    let lost = false;
    // lines reach the page at most once a frame, however fast they come
    const publish = (): void => {
      frame = 0;
      setState({ lines: [...lines], ...(ended ? { ended } : {}), lost });
    };
    const schedule = (): void => {
      if (!frame) frame = requestAnimationFrame(publish);
    };
    const source = new EventSource(`/api/rollouts/${encodeURIComponent(id)}`);
    source.addEventListener('progress', (event) => {
      const line = JSON.parse((event as MessageEvent<string>).data) as Line;
      // after a reconnect the server resumes after Last-Event-ID; a line seen twice is kept once
      if (line.seq <= lastSeq) return;
      lastSeq = line.seq;
      lines.push(line);
      schedule();
    });
    source.addEventListener('end', (event) => {
      ended = JSON.parse((event as MessageEvent<string>).data) as Ended;
      source.close();
      schedule();
      onEndRef.current();
    });
    source.onerror = () => {
      // CONNECTING: the browser reconnects by itself; CLOSED: refused (404: finished over an hour ago, or another replica's)
      if (source.readyState === EventSource.CLOSED && !ended) {
        lost = true;
        schedule();
      }
    };
    return () => {
      source.close();
      if (frame) cancelAnimationFrame(frame);
    };
  }, [id]);
  return state;
}

function verb(kind: string): string {
  return kind === 'rollback' ? 'Rollback' : kind === 'promote' ? 'Promotion' : kind === 'scale' ? 'Scale' : kind === 'sync' ? 'Sync' : 'Deploy';
}

/** A rollout of this server's API, its progress lines live; after its end, its outcome until dismissed. */
export function LiveRollout({ id, started, onEnd, onDismiss }: { id: string; started?: InProgress; onEnd: () => void; onDismiss: () => void }): JSX.Element {
  const { lines, ended, lost } = useRollout(id, onEnd);
  const scroller = useRef<HTMLDivElement>(null);
  useEffect(() => {
    // the newest line stays in view, as a terminal does
    const el = scroller.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [lines.length]);
  const kind = ended?.kind ?? started?.kind ?? 'deploy';
  const by = ended?.by ?? started?.by;
  const since = ended?.createdAtMs ?? started?.createdAtMs;
  const status = ended?.status ?? (lost ? 'unknown' : 'in-progress');
  const why = ended?.error?.message ?? (ended?.status !== 'healthy' ? ended?.outcome?.reason : undefined);
  // a no-op deploy: its revision is the one already serving, not a new one
  const unchanged = ended?.outcome?.outcome === 'unchanged';
  return (
    <section class="rollout" aria-label={`rollout ${id}`}>
      <h3>
        {verb(kind)}{' '}
        {unchanged && ended?.outcome
          ? `— nothing changed: revision ${ended.outcome.revision.number} already runs this image and config`
          : ended?.outcome
            ? `of revision ${ended.outcome.revision.number}`
            : started?.revision !== undefined
              ? `of revision ${started.revision}`
              : ''}
        {by !== undefined ? <span class="rev-meta"> by {by} · {when(since)}</span> : null} <StatusBadge status={status} />
      </h3>
      <div class="rollout-lines" role="log" aria-label="progress" tabIndex={0} ref={scroller}>
        {lines.length === 0 ? <div class="hint">{ended || lost ? 'No progress lines.' : 'Waiting for the first progress line…'}</div> : null}
        {lines.map((l) => (
          <div key={l.seq} class="line">
            {l.line}
          </div>
        ))}
      </div>
      {why ? <pre class="why">{why}</pre> : null}
      {lost ? <p class="hint">This server no longer follows rollout {id} (it ended over an hour ago, or another server started it); the history has its outcome.</p> : null}
      {ended || lost ? (
        <button type="button" onClick={onDismiss}>
          Dismiss
        </button>
      ) : null}
    </section>
  );
}

/** A rollout this page cannot follow line by line: a run's deploy job (its log has them), or one started elsewhere. */
export function OtherRollout({ rollout }: { rollout: InProgress }): JSX.Element {
  return (
    <section class="rollout" aria-label="rollout in progress">
      <h3>
        Rolling out {rollout.revision !== undefined ? `revision ${rollout.revision}` : ''} <StatusBadge status="in-progress" />
      </h3>
      <p>
        {rollout.kind} by {rollout.by} · {when(rollout.createdAtMs)}
        {rollout.runId ? (
          <>
            {' '}
            — its progress lines are in the deploy job's log of <a href={`/runs/${encodeURIComponent(rollout.runId)}`}>the run</a>.
          </>
        ) : (
          ' — started elsewhere; its progress lines are not followed here.'
        )}
      </p>
    </section>
  );
}
