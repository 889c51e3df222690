// One run: its job graph, the selected job's steps and log, and what can be done with it (cancel,
// re-run, re-run failed jobs, approve or reject a waiting job) — disabled, with the reason, for a
// token that may not.
import { useMemo, useState } from 'preact/hooks';
import type { JSX } from 'preact';
import { api, describeError } from '../api.js';
import { useClock, useLive } from '../live.js';
import { duration, elapsed, shortSha, when } from '../format.js';
import { navigate, useLocation } from '../router.js';
import { denied, type Session } from '../session.js';
import { TriggerText } from '../components/trigger.js';
import { ErrorNote, StatusBadge } from '../components/status.js';
import { JobGraph, type GraphJob } from '../components/job-graph.js';
import { LogViewer } from '../components/log-viewer.js';
import { useRunLogs } from '../run-logs.js';
import type { RunDetail } from '../../../src/api/index.js';

type Job = RunDetail['jobs'][number];
const FINISHED = ['success', 'failure', 'cancelled', 'interrupted'];
const NO_LINES: never[] = [];

function graphJobs(run: RunDetail): GraphJob[] {
  const records = new Map(run.jobs.map((j) => [j.name, j]));
  const plan = run.plan ?? run.jobs.map((j) => ({ name: j.name, needs: [] as string[] }));
  return plan.map((p) => {
    const job = records.get(p.name);
    const durationMs = job?.startedAtMs !== undefined ? (job.finishedAtMs ?? Date.now()) - job.startedAtMs : undefined;
    return { name: p.name, needs: p.needs, status: job?.status ?? 'pending', ...(durationMs !== undefined ? { durationMs } : {}) };
  });
}

function Action({ label, reason, onClick, busy }: { label: string; reason?: string | undefined; onClick: () => void; busy?: boolean }): JSX.Element {
  return (
    <button type="button" disabled={reason !== undefined || busy} title={reason} onClick={onClick}>
      {label}
      {reason ? <span class="why"> — {reason}</span> : null}
    </button>
  );
}

export function RunPage({ id, session }: { id: string; session: Session }): JSX.Element {
  const loc = useLocation();
  const [actionError, setActionError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const { value: run, error, reload } = useLive(() => api.call('getRun', { params: { id } }), [id], ['run'], { fallbackMs: 1000, matches: (change) => change.id === id || change.id === '*' });
  useClock(run !== undefined && !FINISHED.includes(run.status));
  // once the run is seen finished the log is read as pages only; before, it is followed live
  const [seenFinished, setSeenFinished] = useState<boolean | undefined>(undefined);
  if (run && seenFinished === undefined) setSeenFinished(FINISHED.includes(run.status));
  const logs = useRunLogs(id, seenFinished);
  const jobs = useMemo(() => (run ? graphJobs(run) : []), [run]);
  const failed = run?.jobs.find((j) => j.status === 'failure');
  // a run that failed before its jobs (an invalid pipeline file) has its problems in a log of its own
  const selected = loc.query.get('job') ?? failed?.name ?? run?.jobs.find((j) => j.status === 'running' || j.status === 'waiting')?.name ?? jobs[0]?.name ?? logs.firstJob;
  const job: Job | undefined = run?.jobs.find((j) => j.name === selected);
  const jobLines = (selected !== undefined ? logs.byJob.get(selected) : undefined) ?? NO_LINES;

  const act = async (work: () => Promise<unknown>): Promise<void> => {
    setBusy(true);
    setActionError(undefined);
    try {
      await work();
      reload();
    } catch (err) {
      setActionError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  if (!run) return <main>{error ? <ErrorNote error={error} /> : <p class="loading">Loading…</p>}</main>;
  const canRun = denied(session, 'run');
  const finished = FINISHED.includes(run.status);
  const waitingJobs = run.jobs.filter((j) => j.status === 'waiting' && !j.approval?.decision);
  return (
    <main class="run">
      <h1>
        Run #{run.number} <StatusBadge status={run.status} />
      </h1>
      <p class="meta">
        <code>{shortSha(run.trigger.commit)}</code> {run.trigger.commitMessage?.split('\n')[0] ?? ''} · {run.trigger.branch} · <TriggerText trigger={run.trigger} /> by {run.trigger.sender} · queued {when(run.createdAtMs)} ·{' '}
        {elapsed(run.startedAtMs, run.finishedAtMs)}
        {run.reason ? <span class="reason"> · {run.reason}</span> : null}
      </p>
      <div class="actions" role="group" aria-label="run actions">
        <Action label="Cancel" busy={busy} reason={canRun ?? (finished ? `the run is ${run.status}` : undefined)} onClick={() => void act(() => api.call('cancelRun', { params: { id } }))} />
        <Action
          label="Re-run"
          busy={busy}
          reason={canRun ?? (finished ? undefined : 'the run has not ended')}
          onClick={() => void act(async () => navigate(`/runs/${(await api.call('rerun', { params: { id }, body: { mode: 'all' } })).id}`))}
        />
        <Action
          label="Re-run failed jobs"
          busy={busy}
          reason={canRun ?? (['failure', 'cancelled', 'interrupted'].includes(run.status) ? undefined : 'nothing failed')}
          onClick={() => void act(async () => navigate(`/runs/${(await api.call('rerun', { params: { id }, body: { mode: 'failed-jobs' } })).id}`))}
        />
      </div>
      {waitingJobs.map((w) => {
        const env = w.approval?.environment;
        const reason = env !== undefined ? denied(session, { deployTo: env }) : canRun;
        return (
          <div class="approval" role="region" aria-label={`approval of ${w.name}`} key={w.name}>
            <p>
              <strong>{w.name}</strong> waits for approval{env ? ` to deploy to ${env}` : ''}
              {w.approval?.deadlineMs ? ` (until ${when(w.approval.deadlineMs)})` : ''}.
            </p>
            <Action label={`Approve ${w.name}`} busy={busy} reason={reason} onClick={() => void act(() => api.call('approveJob', { params: { id, job: w.name } }))} />
            <Action
              label={`Reject ${w.name}`}
              busy={busy}
              reason={reason}
              onClick={() => {
                const why = prompt(`Why reject ${w.name}? (kept on the job and in the audit log)`);
                if (why !== null) void act(() => api.call('rejectJob', { params: { id, job: w.name }, body: why ? { reason: why } : {} }));
              }}
            />
          </div>
        );
      })}
      <ErrorNote error={actionError} />
      {jobs.length > 0 ? (
        <section class="graph-wrap" aria-label="jobs">
          <JobGraph jobs={jobs} {...(selected ? { selected } : {})} onSelect={(name) => navigate(`/runs/${id}?job=${encodeURIComponent(name)}`)} />
        </section>
      ) : null}
      {selected ? (
        <section class="job" aria-label={`job ${selected}`}>
          <h2>
            {selected} {job ? <StatusBadge status={job.status} /> : null} {job?.reason ? <span class="reason">{job.reason}</span> : null}
          </h2>
          {job?.approval?.decision ? (
            <p class="decision">
              {job.approval.decision.kind} {job.approval.decision.by ? `by ${job.approval.decision.by}` : ''} at {when(job.approval.decision.atMs)}
              {job.approval.decision.reason ? `: ${job.approval.decision.reason}` : ''}
            </p>
          ) : null}
          {job && job.steps.length ? (
            <ol class="steps">
              {job.steps.map((s) => (
                <li key={s.index} class={`s-${s.status}`}>
                  <StatusBadge status={s.status} /> {s.name} <span class="dur">{s.startedAtMs ? duration((s.finishedAtMs ?? Date.now()) - s.startedAtMs) : ''}</span>
                  {s.exitCode !== undefined ? <span class={s.exitCode === 0 ? 'exit ok' : 'exit bad'}> exit {s.exitCode}</span> : null}
                </li>
              ))}
            </ol>
          ) : null}
          <LogViewer key={selected} lines={jobLines} version={logs.version} live={!logs.ended && !finished} name={`${run.id}-${selected}`} startAtEnd={job?.status === 'failure' || (!job && run.status === 'failure')} />
        </section>
      ) : null}
    </main>
  );
}
