// The server's mirror of rollouts, for the API's history and DORA metrics.
import { computeDora, type DoraRevision } from '../dora.js';
import type { DoraMetrics, DoraWindow, Preview, PreviewFilter, RevisionCount, RevisionFilter, RevisionOutcome, RevisionRecord } from '../types.js';
import type { Context } from './context.js';
import { opt, optNum, optStr, type SqlValue } from './driver.js';

interface RevisionRow {
  app: string;
  environment: string;
  number: number;
  project_id: string | null;
  target: string | null;
  image: string;
  outcome: string;
  trigger_kind: string;
  trigger_by: string;
  commit_sha: string | null;
  commit_at: number | null;
  run_id: string | null;
  reason: string | null;
  created_at: number;
  finished_at: number | null;
}

const COLUMNS =
  'app, environment, number, project_id, target, image, outcome, trigger_kind, trigger_by, commit_sha, commit_at, run_id, reason, created_at, finished_at';

function toRevision(row: RevisionRow): RevisionRecord {
  const revision: RevisionRecord = {
    app: row.app,
    environment: row.environment,
    number: Number(row.number),
    image: row.image,
    outcome: row.outcome as RevisionOutcome,
    trigger: { kind: row.trigger_kind as RevisionRecord['trigger']['kind'], by: row.trigger_by },
    createdAtMs: Number(row.created_at),
  };
  const optional: Array<[keyof RevisionRecord, string | number | undefined]> = [
    ['projectId', optStr(row.project_id)],
    ['target', optStr(row.target)],
    ['commit', optStr(row.commit_sha)],
    ['commitTimestampMs', optNum(row.commit_at)],
    ['runId', optStr(row.run_id)],
    ['reason', optStr(row.reason)],
    ['finishedAtMs', optNum(row.finished_at)],
  ];
  for (const [key, value] of optional) if (value !== undefined) (revision as unknown as Record<string, unknown>)[key] = value;
  return revision;
}

export async function recordRevision(ctx: Context, r: RevisionRecord): Promise<void> {
  await ctx.sql.run(
    `INSERT INTO revisions (${COLUMNS}, preview_ttl_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (app, environment, number) DO UPDATE SET project_id = excluded.project_id, target = excluded.target,
       preview_ttl_ms = excluded.preview_ttl_ms,
       image = excluded.image, outcome = excluded.outcome, trigger_kind = excluded.trigger_kind,
       trigger_by = excluded.trigger_by, commit_sha = excluded.commit_sha, commit_at = excluded.commit_at,
       run_id = excluded.run_id, reason = excluded.reason, created_at = excluded.created_at,
       finished_at = excluded.finished_at`,
    [
      r.app,
      r.environment,
      r.number,
      opt(r.projectId),
      opt(r.target),
      r.image,
      r.outcome,
      r.trigger.kind,
      r.trigger.by,
      opt(r.commit),
      opt(r.commitTimestampMs),
      opt(r.runId),
      opt(r.reason),
      r.createdAtMs,
      opt(r.finishedAtMs),
      opt(r.previewTtlMs),
    ],
  );
}

export async function updateRevision(
  ctx: Context,
  key: { app: string; environment: string; number: number },
  patch: { outcome?: RevisionOutcome; finishedAtMs?: number; reason?: string },
): Promise<RevisionRecord | undefined> {
  const row = await ctx.sql.get<RevisionRow>(
    `UPDATE revisions SET outcome = COALESCE(?, outcome), finished_at = COALESCE(?, finished_at), reason = COALESCE(?, reason)
     WHERE app = ? AND environment = ? AND number = ? RETURNING ${COLUMNS}`,
    [opt(patch.outcome), opt(patch.finishedAtMs), opt(patch.reason), key.app, key.environment, key.number],
  );
  return row && toRevision(row);
}

export async function listRevisions(ctx: Context, filter: RevisionFilter = {}): Promise<RevisionRecord[]> {
  const where: string[] = [];
  const params: SqlValue[] = [];
  if (filter.app !== undefined) (where.push('app = ?'), params.push(filter.app));
  if (filter.environment !== undefined) (where.push('environment = ?'), params.push(filter.environment));
  if (filter.projectId !== undefined) (where.push('project_id = ?'), params.push(filter.projectId));
  const limit = Math.min(Math.max(Math.trunc(filter.limit ?? 100), 1), 1000);
  const rows = await ctx.sql.all<RevisionRow>(
    `SELECT ${COLUMNS} FROM revisions ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
     ORDER BY created_at DESC, number DESC LIMIT ?`,
    [...params, limit],
  );
  return rows.map(toRevision);
}

/**
 * The environments pull-request runs deployed to (their previews), with when each was last
 * deployed: what closing a pull request, or its time to live running out, takes down.
 */
export async function listPreviews(ctx: Context, filter: PreviewFilter = {}): Promise<Preview[]> {
  const where = ['runs.pr_number IS NOT NULL'];
  const params: SqlValue[] = [];
  if (filter.projectId !== undefined) (where.push('runs.project_id = ?'), params.push(filter.projectId));
  if (filter.pullRequest !== undefined) (where.push('runs.pr_number = ?'), params.push(filter.pullRequest));
  const having = filter.deployedBeforeMs !== undefined ? 'HAVING MAX(r.created_at) < ?' : '';
  if (filter.deployedBeforeMs !== undefined) params.push(filter.deployedBeforeMs);
  const rows = await ctx.sql.all<{ project_id: string; pr_number: number | string; app: string; environment: string; target: string | null; last_at: number | string; ttl_ms: number | string | null }>(
    `SELECT runs.project_id, runs.pr_number, r.app, r.environment, r.target, MAX(r.created_at) AS last_at, MAX(r.preview_ttl_ms) AS ttl_ms
     FROM revisions r JOIN runs ON runs.id = r.run_id
     WHERE ${where.join(' AND ')}
     GROUP BY runs.project_id, runs.pr_number, r.app, r.environment, r.target ${having}
     ORDER BY last_at LIMIT 1000`,
    params,
  );
  return rows.map((row) => ({
    projectId: row.project_id,
    pullRequest: Number(row.pr_number),
    app: row.app,
    environment: row.environment,
    target: row.target === 'kubernetes' ? 'kubernetes' : 'docker',
    lastDeployAtMs: Number(row.last_at),
    ...(row.ttl_ms !== null && row.ttl_ms !== undefined ? { ttlMs: Number(row.ttl_ms) } : {}),
  }));
}

/** Rollouts recorded, by target and outcome (the /metrics counter of rollout outcomes). */
export async function countRevisions(ctx: Context): Promise<RevisionCount[]> {
  // a revision without a target went to the default one
  const rows = await ctx.sql.all<{ target: string; outcome: RevisionOutcome; n: number | string }>(
    "SELECT COALESCE(target, 'docker') AS target, outcome, COUNT(*) AS n FROM revisions GROUP BY 1, 2 ORDER BY 1, 2",
    [],
  );
  return rows.map((row) => ({ target: row.target, outcome: row.outcome, count: Number(row.n) }));
}

/** How long after a window a failure's restore is still looked for. */
const RESTORE_LOOKAHEAD_MS = 30 * 24 * 60 * 60 * 1000;

export async function doraMetrics(ctx: Context, window: DoraWindow): Promise<DoraMetrics> {
  const where = ['v.environment = ?', 'v.finished_at >= ?', 'v.finished_at < ?'];
  const params: SqlValue[] = [window.environment ?? 'production', window.sinceMs, window.untilMs + RESTORE_LOOKAHEAD_MS];
  if (window.projectId !== undefined) (where.push('v.project_id = ?'), params.push(window.projectId));
  if (window.app !== undefined) (where.push('v.app = ?'), params.push(window.app));
  // the commit time comes from the revision, or else from the run that deployed it
  const rows = await ctx.sql.all<{
    app: string;
    environment: string;
    outcome: string;
    created_at: number;
    finished_at: number;
    commit_at: number | null;
  }>(
    `SELECT v.app, v.environment, v.outcome, v.created_at, v.finished_at, COALESCE(v.commit_at, r.commit_at) AS commit_at
     FROM revisions v LEFT JOIN runs r ON r.id = v.run_id
     WHERE ${where.join(' AND ')} AND v.outcome <> 'in-progress'`,
    params,
  );
  const revisions = rows.map((row): DoraRevision => {
    const revision: DoraRevision = {
      app: row.app,
      environment: row.environment,
      outcome: row.outcome as RevisionOutcome,
      createdAtMs: Number(row.created_at),
      finishedAtMs: Number(row.finished_at),
    };
    const commitAt = optNum(row.commit_at);
    if (commitAt !== undefined) revision.commitTimestampMs = commitAt;
    return revision;
  });
  return computeDora(revisions, window.sinceMs, window.untilMs);
}
