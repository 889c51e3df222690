// The server's side of manual jobs: decisions are read from the store (where the API writes
// them), a run with nothing left to do but wait is parked there, and a parked run that is claimed
// again goes on from its stored jobs.
import { formatWait, type ApprovalDecision, type ApprovalGate, type ResumedJob, type WaitingJob } from '../../engine/index.js';
import { StoreError, type JobRecord, type Store } from '../../store/types.js';
import type { RunHub } from './hub.js';

/** How often a running run looks for decisions made on another replica (this one's wake it at once). */
const DECISION_POLL_MS = 2000;

/** The hub event the API emits when a job of `runId` was decided. */
export const decidedEvent = (runId: string): string => `approval:${runId}`;

export interface ServerGateOptions {
  store: Store;
  hub: RunHub;
  runId: string;
  /** resolves once the recorder has stored every event so far (the waiting jobs' rows above all) */
  flush: () => Promise<void>;
  /** tells the forge how the run is going (a report that fails is logged, never thrown) */
  report: (state: 'pending', description: string) => Promise<void>;
}

export function serverApprovalGate({ store, hub, runId, flush, report }: ServerGateOptions): ApprovalGate {
  const decisionOf = async (job: WaitingJob): Promise<ApprovalDecision | undefined> => {
    const record = (await store.listJobs(runId)).find((j) => j.name === job.name);
    const decided = record ? decisionFrom(record, job) : undefined;
    if (decided || record?.status !== 'waiting') return decided;
    const deadline = record.approval?.deadlineMs;
    if (deadline === undefined || Date.now() < deadline) return undefined;
    try {
      await store.decideJob(runId, job.name, { kind: 'expired', atMs: Date.now() });
    } catch (err) {
      // someone decided first: theirs stands, and is read below
      if (!(err instanceof StoreError && err.code === 'STORE_JOB_NOT_WAITING')) throw err;
    }
    // decided now, by the expiry or by someone else: one more read finds it
    return decisionOf(job);
  };
  return {
    decision: decisionOf,
    changed: (signal) =>
      new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          hub.off(decidedEvent(runId), done);
          signal.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, DECISION_POLL_MS);
        hub.on(decidedEvent(runId), done);
        signal.addEventListener('abort', done, { once: true });
        if (signal.aborted) done();
      }),
    async park(waiting) {
      await flush();
      // the forge hears of the wait before the run can be claimed again, by any replica: its
      // "running" then always comes after, whoever resumes it
      await report('pending', `waiting for approval: ${waiting.map((job) => job.name).join(', ')}`);
      if (await store.parkRun(runId)) return true;
      // a decision came meanwhile: this engine goes on with it
      await report('pending', 'running');
      return false;
    },
  };
}

function decisionFrom(record: JobRecord, job: WaitingJob): ApprovalDecision | undefined {
  const decision = record.approval?.decision;
  if (!decision) return undefined;
  switch (decision.kind) {
    case 'approved':
      return { kind: 'approved', by: decision.by ?? 'someone', atMs: decision.atMs };
    case 'rejected':
      return { kind: 'rejected', by: decision.by ?? 'someone', atMs: decision.atMs, ...(decision.reason ? { reason: decision.reason } : {}) };
    case 'expired': {
      const timeout = job.timeoutMs ?? (record.approval?.deadlineMs ?? decision.atMs) - (record.approval?.waitingSinceMs ?? decision.atMs);
      return { kind: 'skip', reason: `nobody approved it within ${formatWait(timeout)} (approval.timeout)` };
    }
  }
}

/** A claimed run that waited before: its stored jobs, for the engine to go on from; undefined for a fresh run. */
export async function resumedJobsOf(store: Store, runId: string): Promise<Map<string, ResumedJob> | undefined> {
  const jobs = await store.listJobs(runId);
  if (!jobs.some((job) => job.status === 'waiting')) return undefined;
  return new Map(
    jobs.map((job) => [
      job.name,
      {
        status: job.status,
        ...(job.reason ? { reason: job.reason } : {}),
        outputs: Object.fromEntries(Object.entries(job.outputs ?? {}).filter((entry): entry is [string, string] => typeof entry[1] === 'string')),
        attempts: job.attempt,
        ...(job.approval ? { waitingSinceMs: job.approval.waitingSinceMs } : {}),
      },
    ]),
  );
}
