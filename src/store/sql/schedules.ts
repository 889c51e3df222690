// Schedule ticks: the primary key (project, schedule, due time) makes "who runs this tick" one
// atomic insert, and the run is enqueued in the same transaction, so of several replicas whose
// clocks reach a tick each tries and exactly one run is queued — and a claimed tick always has it.
import { StoreError, type Run, type ScheduleTickClaim } from '../types.js';
import type { Context } from './context.js';
import { enqueueRun } from './runs.js';

/**
 * Claimed ticks older than this before the newest are deleted as ticks are claimed: only the newest
 * is ever read, and a day is far beyond any clock skew between replicas that could still race for one.
 */
const KEPT_TICKS_MS = 24 * 60 * 60 * 1000;

export async function claimScheduleTick(ctx: Context, claim: ScheduleTickClaim): Promise<Run | undefined> {
  const projectId = claim.run.projectId;
  return ctx.sql.transaction(async (sql) => {
    const inner = { ...ctx, sql };
    // the insert below would fail on the foreign key with the database's words, not ours
    if (!(await sql.get('SELECT 1 AS found FROM projects WHERE id = ?', [projectId]))) throw new StoreError('STORE_NOT_FOUND', `no project with id "${projectId}"`);
    // PostgreSQL makes a racing insert of the same key wait for the first transaction, then do nothing
    const inserted = await sql.run(
      `INSERT INTO schedule_ticks (project_id, schedule_key, due_at, claimed_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (project_id, schedule_key, due_at) DO NOTHING`,
      [projectId, claim.scheduleKey, claim.dueAtMs, ctx.now()],
    );
    if (inserted !== 1) return undefined;
    const run = await enqueueRun(inner, claim.run);
    await sql.run('UPDATE schedule_ticks SET run_id = ? WHERE project_id = ? AND schedule_key = ? AND due_at = ?', [run.id, projectId, claim.scheduleKey, claim.dueAtMs]);
    await sql.run('DELETE FROM schedule_ticks WHERE project_id = ? AND schedule_key = ? AND due_at < ?', [projectId, claim.scheduleKey, claim.dueAtMs - KEPT_TICKS_MS]);
    return run;
  });
}

export async function lastScheduleTick(ctx: Context, projectId: string, scheduleKey: string): Promise<number | undefined> {
  const row = await ctx.sql.get<{ due: number | string | null }>('SELECT MAX(due_at) AS due FROM schedule_ticks WHERE project_id = ? AND schedule_key = ?', [projectId, scheduleKey]);
  return row?.due === null || row?.due === undefined ? undefined : Number(row.due);
}
