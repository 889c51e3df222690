// A project's runs, newest first: filters, pages of 50 by cursor, and the first page kept live.
import { useState } from 'preact/hooks';
import type { JSX } from 'preact';
import { api } from '../api.js';
import { useClock, useLive } from '../live.js';
import { ago, elapsed, shortSha } from '../format.js';
import { ErrorNote, StatusBadge } from '../components/status.js';
import { TriggerText } from '../components/trigger.js';
import type { RunSummary } from '../../../src/api/index.js';
import { RUN_STATES, TRIGGER_EVENTS } from '../../../src/store/types.js';

// '' is any state
const STATES = ['', ...RUN_STATES];
const EVENTS = ['', ...TRIGGER_EVENTS];

export function ProjectRunsPage({ project }: { project: string }): JSX.Element {
  const [branch, setBranch] = useState('');
  const [status, setStatus] = useState('');
  const [event, setEvent] = useState('');
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  const { value, error } = useLive(
    () =>
      api.call('listRuns', {
        query: {
          project,
          limit: '50',
          ...(branch ? { branch } : {}),
          ...(status ? { status: status as RunSummary['status'] } : {}),
          ...(event ? { event: event as RunSummary['trigger']['event'] } : {}),
          ...(cursor ? { cursor } : {}),
        },
      }),
    [project, branch, status, event, cursor],
    // the first page shows new runs as they come, and every page the runs' states as they change
    ['run'],
  );
  useClock(value?.runs.some((run) => run.status === 'running') ?? false);
  return (
    <main>
      <h1>{project}</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="filter runs">
        <label>
          Branch <input value={branch} onChange={(e) => (setCursors([]), setBranch((e.target as HTMLInputElement).value))} />
        </label>
        <label>
          Status{' '}
          <select value={status} onChange={(e) => (setCursors([]), setStatus((e.target as HTMLSelectElement).value))}>
            {STATES.map((s) => (
              <option key={s} value={s}>
                {s || 'any'}
              </option>
            ))}
          </select>
        </label>
        <label>
          Event{' '}
          <select value={event} onChange={(e) => (setCursors([]), setEvent((e.target as HTMLSelectElement).value))}>
            {EVENTS.map((s) => (
              <option key={s} value={s}>
                {s || 'any'}
              </option>
            ))}
          </select>
        </label>
      </form>
      <ErrorNote error={error} />
      {value ? (
        <>
          <table class="list">
            <thead>
              <tr>
                <th scope="col">Run</th>
                <th scope="col">Status</th>
                <th scope="col">Branch</th>
                <th scope="col">Commit</th>
                <th scope="col">Trigger</th>
                <th scope="col">By</th>
                <th scope="col">Duration</th>
                <th scope="col">Queued</th>
              </tr>
            </thead>
            <tbody>
              {value.runs.map((run) => (
                <tr key={run.id}>
                  <th scope="row">
                    <a href={`/runs/${run.id}`}>#{run.number}</a>
                  </th>
                  <td>
                    <StatusBadge status={run.status} />
                  </td>
                  <td>{run.trigger.branch}</td>
                  <td>
                    <code>{shortSha(run.trigger.commit)}</code> {run.trigger.commitMessage?.split('\n')[0] ?? ''}
                  </td>
                  <td>
                    <TriggerText trigger={run.trigger} />
                  </td>
                  <td>{run.trigger.sender}</td>
                  <td>{elapsed(run.startedAtMs, run.finishedAtMs)}</td>
                  <td>{ago(run.createdAtMs)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {value.runs.length === 0 ? <p>No runs{branch || status ? ' match' : ' yet'}.</p> : null}
          <nav class="pager" aria-label="pages">
            <button type="button" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
              Newer
            </button>
            <button type="button" disabled={!value.nextCursor} onClick={() => value.nextCursor && setCursors([...cursors, value.nextCursor])}>
              Older
            </button>
          </nav>
        </>
      ) : error ? null : <p class="loading">Loading…</p>}
    </main>
  );
}
