// Decisions on manual jobs and the waiting runs they resume. A decision and a run's parking both
// lock the run's row first, so they are ordered: either the decision comes first and the run is
// not parked (its engine sees the decision), or the run is parked first and the decision queues it.
import { StoreError, type JobDecision, type JobRecord, type Run } from '../types.js';
import type { Context } from './context.js';
import type { Sql } from './driver.js';
import { opt } from './driver.js';
import { JOB_COLUMNS, toJob, type JobRow } from './jobs.js';
import { getRun } from './runs.js';

/** Locks the run's row until the transaction ends (PostgreSQL); SQLite's write lock is already held. */
async function lockRun(sql: Sql, runId: string): Promise<string | undefined> {
  const lock = sql.dialect === 'postgres' ? 'FOR UPDATE' : '';
  const row = await sql.get<{ status: string }>(`SELECT status FROM runs WHERE id = ? ${lock}`, [runId]);
  return row?.status;
}

export async function decideJob(ctx: Context, runId: string, job: string, decision: JobDecision): Promise<{ job: JobRecord; run: Run }> {
  return ctx.sql.transaction(async (sql) => {
    const status = await lockRun(sql, runId);
    if (status === undefined) throw new StoreError('STORE_NOT_FOUND', `no run "${runId}"`);
    const row = await sql.get<JobRow>(
      `UPDATE jobs SET decision = ?, decided_by = ?, decided_at = ?, decision_reason = ?
       WHERE run_id = ? AND name = ? AND status = 'waiting' AND decision IS NULL RETURNING ${JOB_COLUMNS}`,
      [decision.kind, opt(decision.by), decision.atMs, opt(decision.reason), runId, job],
    );
    if (!row) {
      const current = await sql.get<JobRow>(`SELECT ${JOB_COLUMNS} FROM jobs WHERE run_id = ? AND name = ?`, [runId, job]);
      if (!current) throw new StoreError('STORE_NOT_FOUND', `run ${runId} has no job "${job}" (yet)`);
      const decided = toJob(current).approval?.decision;
      throw new StoreError(
        'STORE_JOB_NOT_WAITING',
        decided
          ? `job ${job} of run ${runId} was ${decided.kind}${decided.by ? ` by ${decided.by}` : ''} already`
          : `job ${job} of run ${runId} is ${current.status}, not waiting for approval`,
      );
    }
    // a parked run goes back to the queue; a running one hears of it from its engine's next look
    if (status === 'waiting') {
      await sql.run(`UPDATE runs SET status = 'queued', queued_at = ?, worker = NULL WHERE id = ? AND status = 'waiting'`, [ctx.now(), runId]);
    }
    const run = await getRun({ ...ctx, sql }, runId);
    return { job: toJob(row), run: run! };
  });
}

export async function parkRun(ctx: Context, runId: string): Promise<boolean> {
  return ctx.sql.transaction(async (sql) => {
    if ((await lockRun(sql, runId)) !== 'running') return false;
    const decided = await sql.get(`SELECT name FROM jobs WHERE run_id = ? AND status = 'waiting' AND decision IS NOT NULL LIMIT 1`, [runId]);
    if (decided) return false;
    await sql.run(`UPDATE runs SET status = 'waiting', worker = NULL WHERE id = ? AND status = 'running'`, [runId]);
    return true;
  });
}

export async function expireApprovals(ctx: Context, nowMs: number): Promise<number> {
  const due = await ctx.sql.all<{ run_id: string; name: string }>(
    `SELECT run_id, name FROM jobs WHERE status = 'waiting' AND decision IS NULL AND approval_deadline <= ? ORDER BY approval_deadline LIMIT 100`,
    [nowMs],
  );
  let expired = 0;
  for (const { run_id: runId, name } of due) {
    try {
      await decideJob(ctx, runId, name, { kind: 'expired', atMs: nowMs });
      expired++;
    } catch (err) {
      // decided by someone else in the meantime: theirs stands
      if (!(err instanceof StoreError && err.code === 'STORE_JOB_NOT_WAITING')) throw err;
    }
  }
  return expired;
}
