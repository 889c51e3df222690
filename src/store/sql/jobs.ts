// Jobs and steps of a run: merged updates as the engine reports them, and the copy a failed-jobs
// re-run makes of the jobs that passed (outputs included, so later jobs reuse them).
import { StoreError, type JobApproval, type JobDecision, type JobDecisionKind, type JobRecord, type JobState, type JobUpdate, type StepRecord, type StepUpdate } from '../types.js';
import type { Context } from './context.js';
import { parseJson } from './context.js';
import { opt, optNum, optStr } from './driver.js';

export interface JobRow {
  run_id: string;
  name: string;
  status: string;
  attempt: number;
  exit_code: number | null;
  reason: string | null;
  started_at: number | null;
  finished_at: number | null;
  outputs: string | null;
  reused: number;
  environment: string | null;
  waiting_since: number | null;
  approval_deadline: number | null;
  decision: string | null;
  decided_by: string | null;
  decided_at: number | null;
  decision_reason: string | null;
}

interface StepRow {
  run_id: string;
  job: string;
  idx: number;
  name: string;
  status: string;
  attempt: number;
  exit_code: number | null;
  reason: string | null;
  started_at: number | null;
  finished_at: number | null;
}

export const JOB_COLUMNS =
  'run_id, name, status, attempt, exit_code, reason, started_at, finished_at, outputs, reused, ' +
  'environment, waiting_since, approval_deadline, decision, decided_by, decided_at, decision_reason';
const STEP_COLUMNS = 'run_id, job, idx, name, status, attempt, exit_code, reason, started_at, finished_at';

function common(row: JobRow | StepRow): Pick<JobRecord, 'exitCode' | 'reason' | 'startedAtMs' | 'finishedAtMs'> {
  const out: Pick<JobRecord, 'exitCode' | 'reason' | 'startedAtMs' | 'finishedAtMs'> = {};
  const exitCode = optNum(row.exit_code);
  if (exitCode !== undefined) out.exitCode = exitCode;
  const reason = optStr(row.reason);
  if (reason !== undefined) out.reason = reason;
  const startedAtMs = optNum(row.started_at);
  if (startedAtMs !== undefined) out.startedAtMs = startedAtMs;
  const finishedAtMs = optNum(row.finished_at);
  if (finishedAtMs !== undefined) out.finishedAtMs = finishedAtMs;
  return out;
}

export function toJob(row: JobRow): JobRecord {
  const job: JobRecord = {
    runId: row.run_id,
    name: row.name,
    status: row.status as JobState,
    attempt: Number(row.attempt),
    reused: row.reused === 1,
    ...common(row),
  };
  const outputs = parseJson<Record<string, unknown>>(row.outputs);
  if (outputs !== undefined) job.outputs = outputs;
  const approval = approvalOf(row);
  if (approval) job.approval = approval;
  return job;
}

function approvalOf(row: JobRow): JobApproval | undefined {
  const since = optNum(row.waiting_since);
  if (since === undefined) return undefined;
  const approval: JobApproval = { waitingSinceMs: since };
  const environment = optStr(row.environment);
  if (environment !== undefined) approval.environment = environment;
  const deadline = optNum(row.approval_deadline);
  if (deadline !== undefined) approval.deadlineMs = deadline;
  const kind = optStr(row.decision) as JobDecisionKind | undefined;
  if (kind !== undefined) {
    const decision: JobDecision = { kind, atMs: optNum(row.decided_at) ?? since };
    const by = optStr(row.decided_by);
    if (by !== undefined) decision.by = by;
    const reason = optStr(row.decision_reason);
    if (reason !== undefined) decision.reason = reason;
    approval.decision = decision;
  }
  return approval;
}

function toStep(row: StepRow): StepRecord {
  return {
    runId: row.run_id,
    job: row.job,
    index: Number(row.idx),
    name: row.name,
    status: row.status as JobState,
    attempt: Number(row.attempt),
    ...common(row),
  };
}

/**
 * A later attempt starts clean: its exit code, reason and finish are its own, not the last
 * attempt's. Within one attempt, fields left out keep their stored value.
 */
function merge<T extends { attempt: number; exitCode?: number; reason?: string; finishedAtMs?: number }>(
  stored: T | undefined,
  update: Partial<T> & { attempt?: number },
): Partial<T> & { attempt: number } {
  const attempt = update.attempt ?? stored?.attempt ?? 1;
  const base: Partial<T> = stored && attempt === stored.attempt ? stored : {};
  const merged = { ...base } as Partial<T> & { attempt: number };
  for (const [key, value] of Object.entries(update)) if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
  merged.attempt = attempt;
  return merged;
}

async function mustHaveRun(ctx: Context, runId: string): Promise<void> {
  const row = await ctx.sql.get('SELECT id FROM runs WHERE id = ?', [runId]);
  if (!row) throw new StoreError('STORE_NOT_FOUND', `no run "${runId}"`);
}

export async function upsertJob(ctx: Context, update: JobUpdate): Promise<JobRecord> {
  return ctx.sql.transaction(async (sql) => {
    const inner = { ...ctx, sql };
    await mustHaveRun(inner, update.runId);
    const storedRow = await sql.get<JobRow>(`SELECT ${JOB_COLUMNS} FROM jobs WHERE run_id = ? AND name = ?`, [update.runId, update.name]);
    const stored = storedRow && toJob(storedRow);
    const job = merge<JobRecord>(stored, update);
    const row = await sql.get<JobRow>(
      `INSERT INTO jobs (run_id, name, position, status, attempt, exit_code, reason, started_at, finished_at, outputs, reused,
         environment, waiting_since, approval_deadline)
       VALUES (?, ?, (SELECT COUNT(*) FROM jobs WHERE run_id = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (run_id, name) DO UPDATE SET status = excluded.status, attempt = excluded.attempt,
         exit_code = excluded.exit_code, reason = excluded.reason, started_at = excluded.started_at,
         finished_at = excluded.finished_at, outputs = excluded.outputs, reused = excluded.reused,
         environment = COALESCE(excluded.environment, jobs.environment),
         waiting_since = COALESCE(excluded.waiting_since, jobs.waiting_since),
         approval_deadline = COALESCE(excluded.approval_deadline, jobs.approval_deadline)
       RETURNING ${JOB_COLUMNS}`,
      [
        update.runId,
        update.name,
        update.runId,
        update.status,
        job.attempt,
        opt(job.exitCode),
        opt(job.reason),
        opt(job.startedAtMs),
        opt(job.finishedAtMs),
        job.outputs === undefined ? null : JSON.stringify(job.outputs),
        // a job the engine runs again is no longer the copied result
        stored?.reused && update.status === stored.status ? 1 : 0,
        opt(update.approval?.environment),
        opt(update.approval?.waitingSinceMs),
        opt(update.approval?.deadlineMs),
      ],
    );
    return toJob(row!);
  });
}

export async function upsertStep(ctx: Context, update: StepUpdate): Promise<StepRecord> {
  return ctx.sql.transaction(async (sql) => {
    const inner = { ...ctx, sql };
    await mustHaveRun(inner, update.runId);
    const storedRow = await sql.get<StepRow>(`SELECT ${STEP_COLUMNS} FROM steps WHERE run_id = ? AND job = ? AND idx = ?`, [
      update.runId,
      update.job,
      update.index,
    ]);
    const step = merge<StepRecord>(storedRow && toStep(storedRow), update);
    const row = await sql.get<StepRow>(
      `INSERT INTO steps (run_id, job, idx, name, status, attempt, exit_code, reason, started_at, finished_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (run_id, job, idx) DO UPDATE SET name = excluded.name, status = excluded.status,
         attempt = excluded.attempt, exit_code = excluded.exit_code, reason = excluded.reason,
         started_at = excluded.started_at, finished_at = excluded.finished_at
       RETURNING ${STEP_COLUMNS}`,
      [
        update.runId,
        update.job,
        update.index,
        update.name,
        update.status,
        step.attempt,
        opt(step.exitCode),
        opt(step.reason),
        opt(step.startedAtMs),
        opt(step.finishedAtMs),
      ],
    );
    return toStep(row!);
  });
}

export async function listJobs(ctx: Context, runId: string): Promise<JobRecord[]> {
  const rows = await ctx.sql.all<JobRow>(`SELECT ${JOB_COLUMNS} FROM jobs WHERE run_id = ? ORDER BY position, name`, [runId]);
  return rows.map(toJob);
}

export async function listSteps(ctx: Context, runId: string): Promise<StepRecord[]> {
  const rows = await ctx.sql.all<StepRow>(`SELECT ${STEP_COLUMNS} FROM steps WHERE run_id = ? ORDER BY job, idx`, [runId]);
  return rows.map(toStep);
}

/** The jobs of `fromRunId` that passed, with their steps, become passed (reused) jobs of `toRunId`. */
export async function copyPassedJobs(ctx: Context, fromRunId: string, toRunId: string): Promise<number> {
  const copied = await ctx.sql.run(
    `INSERT INTO jobs (run_id, name, position, status, attempt, exit_code, reason, started_at, finished_at, outputs, reused)
     SELECT ?, name, position, status, attempt, exit_code, reason, started_at, finished_at, outputs, 1
     FROM jobs WHERE run_id = ? AND status = 'success'`,
    [toRunId, fromRunId],
  );
  await ctx.sql.run(
    `INSERT INTO steps (run_id, job, idx, name, status, attempt, exit_code, reason, started_at, finished_at)
     SELECT ?, s.job, s.idx, s.name, s.status, s.attempt, s.exit_code, s.reason, s.started_at, s.finished_at
     FROM steps s JOIN jobs j ON j.run_id = s.run_id AND j.name = s.job
     WHERE s.run_id = ? AND j.status = 'success'`,
    [toRunId, fromRunId],
  );
  return copied;
}
