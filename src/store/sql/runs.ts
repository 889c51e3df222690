// Runs: the durable queue (enqueue, claim, recover) and each run's life from queued to finished.
import { newId } from '../ids.js';
import {
  isFinishedRunState,
  StoreError,
  type EnqueueRun,
  type PullRequestRef,
  type RerunMode,
  type Run,
  type RunFilter,
  type RunPage,
  type RunState,
  type RunSummary,
  type TriggerEvent,
} from '../types.js';
import { copyPassedJobs } from './jobs.js';
import type { Context } from './context.js';
import { opt, optNum, optStr, type SqlValue } from './driver.js';

export interface RunRow {
  id: string;
  project_id: string;
  number: number;
  status: string;
  trigger_event: string;
  branch: string;
  commit_sha: string;
  commit_message: string | null;
  commit_at: number | null;
  delivery_id: string | null;
  sender: string;
  pipeline?: string;
  attempt: number;
  rerun_of: string | null;
  worker: string | null;
  reason: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  logs_deleted_at: number | null;
  pull_request: string | null;
}

const SUMMARY_COLUMNS =
  'id, project_id, number, status, trigger_event, branch, commit_sha, commit_message, commit_at, delivery_id, sender, ' +
  'attempt, rerun_of, worker, reason, created_at, started_at, finished_at, logs_deleted_at, pull_request';
const COLUMNS = `${SUMMARY_COLUMNS}, pipeline`;

function toSummary(row: RunRow): RunSummary {
  const run: RunSummary = {
    id: row.id,
    projectId: row.project_id,
    number: Number(row.number),
    status: row.status as RunState,
    trigger: { event: row.trigger_event as TriggerEvent, branch: row.branch, commit: row.commit_sha, sender: row.sender },
    attempt: Number(row.attempt),
    createdAtMs: Number(row.created_at),
  };
  const message = optStr(row.commit_message);
  if (message !== undefined) run.trigger.commitMessage = message;
  const commitAt = optNum(row.commit_at);
  if (commitAt !== undefined) run.trigger.commitTimestampMs = commitAt;
  const deliveryId = optStr(row.delivery_id);
  if (deliveryId !== undefined) run.trigger.deliveryId = deliveryId;
  const pullRequest = optStr(row.pull_request);
  if (pullRequest !== undefined) run.trigger.pullRequest = JSON.parse(pullRequest) as PullRequestRef;
  const optional: Array<[keyof RunSummary, string | number | undefined]> = [
    ['rerunOf', optStr(row.rerun_of)],
    ['worker', optStr(row.worker)],
    ['reason', optStr(row.reason)],
    ['startedAtMs', optNum(row.started_at)],
    ['finishedAtMs', optNum(row.finished_at)],
    ['logsDeletedAtMs', optNum(row.logs_deleted_at)],
  ];
  for (const [key, value] of optional) if (value !== undefined) (run as unknown as Record<string, unknown>)[key] = value;
  return run;
}

export function toRun(row: RunRow): Run {
  return { ...toSummary(row), pipeline: row.pipeline === undefined ? undefined : JSON.parse(row.pipeline) };
}

export async function enqueueRun(ctx: Context, input: EnqueueRun, extra: { rerunOf?: string } = {}): Promise<Run> {
  const now = ctx.now();
  const t = input.trigger;
  const values: SqlValue[] = [
    newId(now),
    input.projectId,
    t.event,
    t.branch,
    t.commit,
    opt(t.commitMessage),
    opt(t.commitTimestampMs),
    opt(t.deliveryId),
    t.sender,
    JSON.stringify(input.pipeline ?? null),
    opt(extra.rerunOf),
    now,
    now,
    t.pullRequest ? JSON.stringify(t.pullRequest) : null,
    opt(t.pullRequest?.number),
  ];
  let row: RunRow | undefined;
  if (ctx.sql.dialect === 'postgres') {
    // one statement, one round trip: the counter row's lock orders concurrent enqueues of a project
    row = await ctx.sql.get<RunRow>(
      `WITH counter AS (UPDATE projects SET run_counter = run_counter + 1 WHERE id = ? RETURNING run_counter)
       INSERT INTO runs (id, project_id, number, status, trigger_event, branch, commit_sha, commit_message, commit_at,
         delivery_id, sender, pipeline, attempt, rerun_of, created_at, queued_at, pull_request, pr_number)
       SELECT ?::text, ?::text, run_counter, 'queued', ?::text, ?::text, ?::text, ?::text, ?::bigint, ?::text, ?::text, ?::text,
         1, ?::text, ?::bigint, ?::bigint, ?::text, ?::bigint FROM counter
       RETURNING ${COLUMNS}`,
      [input.projectId, ...values],
    );
  } else {
    row = await ctx.sql.transaction(async (sql) => {
      const counter = await sql.get<{ run_counter: number }>(
        'UPDATE projects SET run_counter = run_counter + 1 WHERE id = ? RETURNING run_counter',
        [input.projectId],
      );
      if (!counter) return undefined;
      return sql.get<RunRow>(
        `INSERT INTO runs (id, project_id, number, status, trigger_event, branch, commit_sha, commit_message, commit_at,
           delivery_id, sender, pipeline, attempt, rerun_of, created_at, queued_at, pull_request, pr_number)
         VALUES (?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?) RETURNING ${COLUMNS}`,
        [values[0]!, values[1]!, Number(counter.run_counter), ...values.slice(2)],
      );
    });
  }
  if (!row) throw new StoreError('STORE_NOT_FOUND', `no project with id "${input.projectId}"`);
  return toRun(row);
}

export async function claimNextRun(ctx: Context, worker: string): Promise<Run | undefined> {
  // One statement, so it is atomic on its own. On PostgreSQL, SKIP LOCKED lets replicas claim
  // side by side: each takes the oldest run nobody else is taking at that moment.
  const lock = ctx.sql.dialect === 'postgres' ? 'FOR UPDATE SKIP LOCKED' : '';
  const row = await ctx.sql.get<RunRow>(
    `UPDATE runs SET status = 'running', worker = ?, started_at = COALESCE(started_at, ?)
     WHERE id = (SELECT id FROM runs WHERE status = 'queued' ORDER BY queued_at, id LIMIT 1 ${lock})
       AND status = 'queued'
     RETURNING ${COLUMNS}`,
    [worker, ctx.now()],
  );
  return row && toRun(row);
}

/** For each state, the states a run may come from (claim and requeue have their own paths). */
const FROM: Record<RunState, RunState[]> = {
  queued: [],
  running: ['queued'],
  success: ['running'],
  failure: ['queued', 'running'],
  cancelled: ['queued', 'running', 'waiting'],
  interrupted: ['running'],
  // parking has its own path (parkRun), which checks for decisions under the run's lock
  waiting: [],
};

export async function updateRunStatus(
  ctx: Context,
  runId: string,
  status: RunState,
  details: { reason?: string; atMs?: number } = {},
): Promise<Run> {
  const from = FROM[status];
  const at = details.atMs ?? ctx.now();
  const sets = ['status = ?', 'reason = COALESCE(?, reason)'];
  const params: SqlValue[] = [status, opt(details.reason)];
  if (status === 'running') {
    sets.push('started_at = ?');
    params.push(at);
  }
  if (isFinishedRunState(status)) {
    sets.push('finished_at = ?');
    params.push(at);
  }
  const row =
    from.length === 0
      ? undefined
      : await ctx.sql.get<RunRow>(
          `UPDATE runs SET ${sets.join(', ')} WHERE id = ? AND status IN (${from.map(() => '?').join(', ')}) RETURNING ${COLUMNS}`,
          [...params, runId, ...from],
        );
  if (row) {
    // a run cancelled while it waited (or queued after a decision): its jobs that waited are cancelled with it
    if (status === 'cancelled') {
      await ctx.sql.run(`UPDATE jobs SET status = 'cancelled', reason = ?, finished_at = ? WHERE run_id = ? AND status = 'waiting'`, [
        details.reason ?? 'the run was cancelled',
        at,
        runId,
      ]);
    }
    return toRun(row);
  }
  const current = await ctx.sql.get<{ status: string }>('SELECT status FROM runs WHERE id = ?', [runId]);
  if (!current) throw new StoreError('STORE_NOT_FOUND', `no run "${runId}"`);
  throw new StoreError('STORE_RUN_TRANSITION', `run ${runId} is ${current.status}; it cannot become ${status}`);
}

export async function getRun(ctx: Context, runId: string): Promise<Run | undefined> {
  const row = await ctx.sql.get<RunRow>(`SELECT ${COLUMNS} FROM runs WHERE id = ?`, [runId]);
  return row && toRun(row);
}

const MAX_PAGE = 500;

/** Newest first, by id (ids sort by creation); the cursor is the last id of the page. */
export async function listRuns(ctx: Context, filter: RunFilter = {}): Promise<RunPage> {
  const limit = Math.min(Math.max(Math.trunc(filter.limit ?? 50), 1), MAX_PAGE);
  const where: string[] = [];
  const params: SqlValue[] = [];
  if (filter.projectId !== undefined) (where.push('project_id = ?'), params.push(filter.projectId));
  if (filter.status !== undefined) (where.push('status = ?'), params.push(filter.status));
  if (filter.branch !== undefined) (where.push('branch = ?'), params.push(filter.branch));
  if (filter.event !== undefined) (where.push('trigger_event = ?'), params.push(filter.event));
  if (filter.pullRequest !== undefined) (where.push('pr_number = ?'), params.push(filter.pullRequest));
  if (filter.cursor !== undefined) (where.push('id < ?'), params.push(decodeCursor(filter.cursor)));
  const rows = await ctx.sql.all<RunRow>(
    `SELECT ${SUMMARY_COLUMNS} FROM runs ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT ?`,
    [...params, limit + 1],
  );
  const page: RunPage = { runs: rows.slice(0, limit).map(toSummary) };
  if (rows.length > limit) page.nextCursor = Buffer.from(rows[limit - 1]!.id).toString('base64url');
  return page;
}

/** Each project's newest run, in one query (the projects page shows them all at once). */
export async function lastRuns(ctx: Context): Promise<RunSummary[]> {
  const rows = await ctx.sql.all<RunRow>(`SELECT ${SUMMARY_COLUMNS} FROM runs WHERE id IN (SELECT MAX(id) FROM runs GROUP BY project_id)`, []);
  return rows.map(toSummary);
}

/** Whether `cursor` is one listRuns gave (the API refuses others before asking the store). */
export function isRunCursor(cursor: string): boolean {
  return /^[0-9A-Z]{26}$/.test(Buffer.from(cursor, 'base64url').toString('utf8'));
}

function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!isRunCursor(cursor)) throw new StoreError('STORE_NOT_FOUND', `the page cursor "${cursor}" is not one this server gave`);
  return id;
}

export async function countRuns(ctx: Context, filter: Pick<RunFilter, 'projectId' | 'status'> = {}): Promise<number> {
  const where: string[] = [];
  const params: SqlValue[] = [];
  if (filter.projectId !== undefined) (where.push('project_id = ?'), params.push(filter.projectId));
  if (filter.status !== undefined) (where.push('status = ?'), params.push(filter.status));
  const row = await ctx.sql.get<{ n: number }>(
    `SELECT COUNT(*) AS n FROM runs ${where.length ? 'WHERE ' + where.join(' AND ') : ''}`,
    params,
  );
  return Number(row?.n ?? 0);
}

export async function markInterrupted(ctx: Context, reason: string, worker?: string): Promise<Run[]> {
  return ctx.sql.transaction(async (sql) => {
    const now = ctx.now();
    const rows = await sql.all<RunRow>(
      `UPDATE runs SET status = 'interrupted', finished_at = ?, reason = ?
       WHERE status = 'running' ${worker === undefined ? '' : 'AND worker = ?'} RETURNING ${COLUMNS}`,
      worker === undefined ? [now, reason] : [now, reason, worker],
    );
    // their jobs and steps in flight stopped with them: leave none "running"
    for (const row of rows) {
      for (const table of ['jobs', 'steps']) {
        await sql.run(
          `UPDATE ${table} SET status = 'cancelled', reason = ?, finished_at = ? WHERE run_id = ? AND status IN ('running', 'pending', 'waiting')`,
          [reason, now, row.id],
        );
      }
    }
    return rows.map(toRun).sort((a, b) => (a.id < b.id ? -1 : 1));
  });
}

export async function requeueRun(ctx: Context, runId: string): Promise<Run> {
  const row = await ctx.sql.get<RunRow>(
    `UPDATE runs SET status = 'queued', attempt = attempt + 1, queued_at = ?, worker = NULL,
       started_at = NULL, finished_at = NULL, reason = NULL
     WHERE id = ? AND status IN ('interrupted', 'failure', 'cancelled') RETURNING ${COLUMNS}`,
    [ctx.now(), runId],
  );
  if (row) return toRun(row);
  const current = await getRun(ctx, runId);
  if (!current) throw new StoreError('STORE_NOT_FOUND', `no run "${runId}"`);
  throw new StoreError('STORE_RUN_TRANSITION', `run ${runId} is ${current.status}; only interrupted, failed or cancelled runs are requeued`);
}

export async function rerun(ctx: Context, runId: string, mode: RerunMode, sender: string): Promise<Run> {
  return ctx.sql.transaction(async (sql) => {
    const inner = { ...ctx, sql };
    const original = await getRun(inner, runId);
    if (!original) throw new StoreError('STORE_NOT_FOUND', `no run "${runId}"`);
    if (mode === 'failed-jobs' && !['failure', 'cancelled', 'interrupted'].includes(original.status)) {
      throw new StoreError(
        'STORE_RUN_TRANSITION',
        `run ${runId} is ${original.status}; re-running only failed jobs needs a failed, cancelled or interrupted run`,
      );
    }
    const trigger = { ...original.trigger, sender };
    const run = await enqueueRun(inner, { projectId: original.projectId, trigger, pipeline: original.pipeline }, { rerunOf: runId });
    if (mode === 'failed-jobs') await copyPassedJobs(inner, runId, run.id);
    return run;
  });
}
