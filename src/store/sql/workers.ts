// Worker heartbeats: each server process that claims runs records that it is alive, so that the
// other replicas on the database can tell a replica that is gone — even on another host, where no
// process table can be read — and take its running runs as interrupted.
import type { Context } from './context.js';

/** Rows of workers silent this long, and holding no running run, are deleted as others beat. */
const KEPT_SILENT_MS = 7 * 24 * 60 * 60 * 1000;

export async function recordHeartbeat(ctx: Context, worker: string): Promise<void> {
  const now = ctx.now();
  await ctx.sql.run('INSERT INTO workers (id, seen_at) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at', [worker, now]);
  await ctx.sql.run(
    `DELETE FROM workers WHERE seen_at < ? AND NOT EXISTS (SELECT 1 FROM runs WHERE runs.worker = workers.id AND runs.status = 'running')`,
    [now - KEPT_SILENT_MS],
  );
}

export async function silentWorkers(ctx: Context, silentSinceMs: number): Promise<string[]> {
  const rows = await ctx.sql.all<{ worker: string }>(
    `SELECT DISTINCT runs.worker AS worker FROM runs JOIN workers ON workers.id = runs.worker
     WHERE runs.status = 'running' AND workers.seen_at < ? ORDER BY worker`,
    [silentSinceMs],
  );
  return rows.map((r) => r.worker);
}
