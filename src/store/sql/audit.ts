// Audit events: who did what to which subject, append-only.
import type { AuditEvent, AuditEventInput } from '../types.js';
import type { Context } from './context.js';
import { parseJson } from './context.js';
import type { SqlValue } from './driver.js';

interface AuditRow {
  id: number;
  at: number;
  actor: string;
  action: string;
  subject: string;
  details: string | null;
}

function toEvent(row: AuditRow): AuditEvent {
  const event: AuditEvent = { id: Number(row.id), atMs: Number(row.at), actor: row.actor, action: row.action, subject: row.subject };
  const details = parseJson<Record<string, unknown>>(row.details);
  if (details !== undefined) event.details = details;
  return event;
}

export async function appendAudit(ctx: Context, input: AuditEventInput): Promise<AuditEvent> {
  const row = await ctx.sql.get<AuditRow>(
    'INSERT INTO audit_events (at, actor, action, subject, details) VALUES (?, ?, ?, ?, ?) RETURNING id, at, actor, action, subject, details',
    [input.atMs ?? ctx.now(), input.actor, input.action, input.subject, input.details === undefined ? null : JSON.stringify(input.details)],
  );
  return toEvent(row!);
}

export async function listAudit(
  ctx: Context,
  options: { limit?: number; beforeId?: number; subject?: string } = {},
): Promise<AuditEvent[]> {
  const where: string[] = [];
  const params: SqlValue[] = [];
  if (options.subject !== undefined) (where.push('subject = ?'), params.push(options.subject));
  if (options.beforeId !== undefined) (where.push('id < ?'), params.push(options.beforeId));
  const limit = Math.min(Math.max(Math.trunc(options.limit ?? 100), 1), 1000);
  const rows = await ctx.sql.all<AuditRow>(
    `SELECT id, at, actor, action, subject, details FROM audit_events ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
     ORDER BY id DESC LIMIT ?`,
    [...params, limit],
  );
  return rows.map(toEvent);
}
