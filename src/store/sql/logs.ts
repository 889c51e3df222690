// Log lines and run events, both numbered 1, 2, 3… per run so an SSE client resumes with
// Last-Event-ID. They live in the database, not in files: several PostgreSQL replicas serve the
// same run's logs, and retention is one statement. The counter sits on the run's row, so two
// writers to one run still get distinct, ordered numbers.
import type { RunEvent } from '../../engine/index.js';
import { StoreError, type LogLine, type LogLineInput, type LogStream, type StoredRunEvent } from '../types.js';
import type { Context } from './context.js';
import { placeholders } from './context.js';
import { optNum, type Sql, type SqlValue } from './driver.js';

/** Rows per INSERT: 7 parameters each stays far below both databases' parameter limits. */
const ROWS_PER_INSERT = 250;

async function reserve(sql: Sql, runId: string, counter: 'log_seq' | 'event_seq', count: number): Promise<number> {
  const row = await sql.get<{ last: number }>(`UPDATE runs SET ${counter} = ${counter} + ? WHERE id = ? RETURNING ${counter} AS last`, [
    count,
    runId,
  ]);
  if (!row) throw new StoreError('STORE_NOT_FOUND', `no run "${runId}"`);
  return Number(row.last) - count + 1;
}

async function insertRows(sql: Sql, head: string, width: number, rows: SqlValue[][]): Promise<void> {
  for (let start = 0; start < rows.length; start += ROWS_PER_INSERT) {
    const chunk = rows.slice(start, start + ROWS_PER_INSERT);
    const tuple = `(${placeholders(width)})`;
    await sql.run(`${head} VALUES ${chunk.map(() => tuple).join(', ')}`, chunk.flat());
  }
}

export async function appendLogs(
  ctx: Context,
  runId: string,
  lines: LogLineInput[],
): Promise<{ firstSeq: number; lastSeq: number } | undefined> {
  if (lines.length === 0) return undefined;
  return ctx.sql.transaction(async (sql) => {
    const first = await reserve(sql, runId, 'log_seq', lines.length);
    const now = ctx.now();
    const rows = lines.map((l, i): SqlValue[] => [runId, first + i, l.job, l.step ?? null, l.stream, l.line, l.atMs ?? now]);
    await insertRows(sql, 'INSERT INTO log_lines (run_id, seq, job, step, stream, line, at)', 7, rows);
    return { firstSeq: first, lastSeq: first + lines.length - 1 };
  });
}

interface LogRow {
  seq: number;
  job: string;
  step: number | null;
  stream: string;
  line: string;
  at: number;
}

export async function readLogs(
  ctx: Context,
  runId: string,
  options: { afterSeq?: number; limit?: number; job?: string } = {},
): Promise<LogLine[]> {
  const limit = Math.min(Math.max(Math.trunc(options.limit ?? 1000), 1), 10_000);
  const params: SqlValue[] = [runId, options.afterSeq ?? 0];
  if (options.job !== undefined) params.push(options.job);
  const rows = await ctx.sql.all<LogRow>(
    `SELECT seq, job, step, stream, line, at FROM log_lines WHERE run_id = ? AND seq > ?
     ${options.job === undefined ? '' : 'AND job = ?'} ORDER BY seq LIMIT ?`,
    [...params, limit],
  );
  return rows.map((row) => {
    const line: LogLine = { seq: Number(row.seq), job: row.job, stream: row.stream as LogStream, line: row.line, atMs: Number(row.at) };
    const step = optNum(row.step);
    if (step !== undefined) line.step = step;
    return line;
  });
}

/** Retention works per run: a run keeps all its logs or none, and says when they went. */
export async function deleteLogsBefore(ctx: Context, cutoffMs: number): Promise<{ runs: number; lines: number }> {
  let runs = 0;
  let lines = 0;
  for (;;) {
    // small transactions: a long retention pass must not hold the write lock for long
    const done = await ctx.sql.transaction(async (sql) => {
      const batch = await sql.all<{ id: string }>(
        'SELECT id FROM runs WHERE finished_at < ? AND logs_deleted_at IS NULL ORDER BY finished_at LIMIT 100',
        [cutoffMs],
      );
      if (batch.length === 0) return true;
      const ids = batch.map((r) => r.id);
      const list = placeholders(ids.length);
      lines += await sql.run(`DELETE FROM log_lines WHERE run_id IN (${list})`, ids);
      await sql.run(`DELETE FROM run_events WHERE run_id IN (${list})`, ids);
      await sql.run(`UPDATE runs SET logs_deleted_at = ? WHERE id IN (${list})`, [ctx.now(), ...ids]);
      runs += ids.length;
      return false;
    });
    if (done) return { runs, lines };
  }
}

export async function appendRunEvents(ctx: Context, runId: string, events: RunEvent[]): Promise<number[]> {
  if (events.length === 0) return [];
  return ctx.sql.transaction(async (sql) => {
    const first = await reserve(sql, runId, 'event_seq', events.length);
    const rows = events.map((event, i): SqlValue[] => [runId, first + i, JSON.stringify(event)]);
    await insertRows(sql, 'INSERT INTO run_events (run_id, seq, body)', 3, rows);
    return events.map((_, i) => first + i);
  });
}

export async function readRunEvents(
  ctx: Context,
  runId: string,
  options: { afterId?: number; limit?: number } = {},
): Promise<StoredRunEvent[]> {
  const limit = Math.min(Math.max(Math.trunc(options.limit ?? 1000), 1), 10_000);
  const rows = await ctx.sql.all<{ seq: number; body: string }>(
    'SELECT seq, body FROM run_events WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?',
    [runId, options.afterId ?? 0, limit],
  );
  return rows.map((row) => ({ id: Number(row.seq), event: JSON.parse(row.body) as RunEvent }));
}
