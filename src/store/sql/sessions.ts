// Browser sessions (the web UI's login): rows hold the SHA-256 of the cookie's secret, never the
// secret, and the token the session acts as; a revoked token ends its sessions at once (the join).
import { randomBytes } from 'node:crypto';
import { newId } from '../ids.js';
import { hashToken } from '../tokens.js';
import { SESSION_IDLE_MS, SESSION_LIFETIME_MS, StoreError, type SessionInfo, type TokenScope, type VerifiedSession } from '../types.js';
import type { Context } from './context.js';

interface SessionRow {
  id: string;
  token_id: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
}

const COLUMNS = 'id, token_id, created_at, last_seen_at, expires_at';
/** 32 random bytes, base64url: anything else is not a secret we made, so no query is spent on it */
const SECRET = /^[A-Za-z0-9_-]{43}$/;
/** last_seen_at drives the idle end; a minute's precision on 12 hours saves a write per request */
const LAST_SEEN_RESOLUTION_MS = 60_000;

function toInfo(row: SessionRow): SessionInfo {
  return {
    id: row.id,
    tokenId: row.token_id,
    createdAtMs: Number(row.created_at),
    lastSeenAtMs: Number(row.last_seen_at),
    expiresAtMs: Number(row.expires_at),
  };
}

export async function createSession(ctx: Context, tokenId: string): Promise<{ session: SessionInfo; secret: string }> {
  const now = ctx.now();
  const secret = randomBytes(32).toString('base64url');
  // one statement: a token revoked between the caller's check and this insert gets no session
  const row = await ctx.sql.get<SessionRow>(
    `INSERT INTO sessions (id, hash, token_id, created_at, last_seen_at, expires_at)
     SELECT CAST(? AS TEXT), CAST(? AS TEXT), id, CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT) FROM tokens WHERE id = ? AND revoked_at IS NULL
     RETURNING ${COLUMNS}`,
    [newId(now), hashToken(secret), now, now, now + SESSION_LIFETIME_MS, tokenId],
  );
  if (!row) throw new StoreError('STORE_NOT_FOUND', `no live token with id "${tokenId.slice(0, 100)}" (unknown or revoked): no session is made for it`);
  return { session: toInfo(row), secret };
}

function hasEnded(row: SessionRow, now: number): boolean {
  return now >= Number(row.expires_at) || now - Number(row.last_seen_at) >= SESSION_IDLE_MS;
}

export async function verifySession(ctx: Context, secret: string): Promise<VerifiedSession | undefined> {
  if (!SECRET.test(secret)) return undefined;
  const row = await ctx.sql.get<SessionRow & { name: string; scopes: string }>(
    `SELECT s.id, s.token_id, s.created_at, s.last_seen_at, s.expires_at, t.name, t.scopes
     FROM sessions s JOIN tokens t ON t.id = s.token_id WHERE s.hash = ? AND t.revoked_at IS NULL`,
    [hashToken(secret)],
  );
  if (!row) return undefined;
  const now = ctx.now();
  if (hasEnded(row, now)) {
    await ctx.sql.run('DELETE FROM sessions WHERE id = ?', [row.id]);
    return undefined;
  }
  if (now - Number(row.last_seen_at) >= LAST_SEEN_RESOLUTION_MS) {
    await ctx.sql.run('UPDATE sessions SET last_seen_at = ? WHERE id = ?', [now, row.id]);
    // the token's last use is a hint for people: a session's use is the token's use
    await ctx.sql.run('UPDATE tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)', [now, row.token_id, now - LAST_SEEN_RESOLUTION_MS]);
    row.last_seen_at = now;
  }
  return { session: toInfo(row), token: { id: row.token_id, name: row.name, scopes: row.scopes.split(',') as TokenScope[] } };
}

export async function deleteSession(ctx: Context, secret: string): Promise<boolean> {
  if (!SECRET.test(secret)) return false;
  return (await ctx.sql.run('DELETE FROM sessions WHERE hash = ?', [hashToken(secret)])) > 0;
}

export async function deleteExpiredSessions(ctx: Context): Promise<number> {
  const now = ctx.now();
  return ctx.sql.run(
    'DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at <= ? OR token_id IN (SELECT id FROM tokens WHERE revoked_at IS NOT NULL)',
    [now, now - SESSION_IDLE_MS],
  );
}
