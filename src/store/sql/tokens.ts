// API tokens: rows hold a SHA-256 hash and a lookup prefix, never the secret.
import { checkTokenName } from '../names.js';
import { newId } from '../ids.js';
import { checkScopes, checkTokenSecret, generateTokenSecret, hashesEqual, hashToken, tokenPrefix } from '../tokens.js';
import { StoreError, type CreateToken, type TokenInfo, type TokenScope, type VerifiedToken } from '../types.js';
import type { Context } from './context.js';
import { optNum } from './driver.js';

interface TokenRow {
  id: string;
  name: string;
  prefix: string;
  hash: string;
  scopes: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

const COLUMNS = 'id, name, prefix, hash, scopes, created_at, last_used_at, revoked_at';
/** last_used_at is a hint for people; writing it on every request would double the writes. */
const LAST_USED_RESOLUTION_MS = 60_000;
/** compared against when no row matches, so a miss costs what a hit costs */
const DUMMY_HASH = hashToken('slipway-no-such-token');

function toInfo(row: TokenRow): TokenInfo {
  const info: TokenInfo = {
    id: row.id,
    name: row.name,
    scopes: row.scopes.split(',') as TokenScope[],
    prefix: row.prefix,
    createdAtMs: Number(row.created_at),
  };
  const lastUsed = optNum(row.last_used_at);
  if (lastUsed !== undefined) info.lastUsedAtMs = lastUsed;
  const revoked = optNum(row.revoked_at);
  if (revoked !== undefined) info.revokedAtMs = revoked;
  return info;
}

export async function createToken(ctx: Context, input: CreateToken): Promise<{ token: TokenInfo; secret: string }> {
  const name = checkTokenName(input.name);
  const scopes = checkScopes(input.scopes);
  const secret = input.secret ?? generateTokenSecret();
  checkTokenSecret(secret);
  const row = await ctx.sql.get<TokenRow>(
    `INSERT INTO tokens (id, name, prefix, hash, scopes, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING ${COLUMNS}`,
    [newId(ctx.now()), name, tokenPrefix(secret), hashToken(secret), scopes.join(','), ctx.now()],
  );
  return { token: toInfo(row!), secret };
}

export async function verifyToken(ctx: Context, secret: string): Promise<VerifiedToken | undefined> {
  const hash = hashToken(secret);
  const candidates = await ctx.sql.all<TokenRow>(`SELECT ${COLUMNS} FROM tokens WHERE prefix = ? AND revoked_at IS NULL`, [
    tokenPrefix(secret),
  ]);
  let match: TokenRow | undefined;
  // every candidate is compared (no early exit), in constant time
  for (const row of candidates) if (hashesEqual(row.hash, hash) && !match) match = row;
  if (candidates.length === 0) hashesEqual(DUMMY_HASH, hash);
  if (!match) return undefined;
  const now = ctx.now();
  if (match.last_used_at === null || now - Number(match.last_used_at) >= LAST_USED_RESOLUTION_MS) {
    await ctx.sql.run('UPDATE tokens SET last_used_at = ? WHERE id = ?', [now, match.id]);
  }
  return { id: match.id, name: match.name, scopes: match.scopes.split(',') as TokenScope[] };
}

export async function listTokens(ctx: Context): Promise<TokenInfo[]> {
  const rows = await ctx.sql.all<TokenRow>(`SELECT ${COLUMNS} FROM tokens ORDER BY id`);
  return rows.map(toInfo);
}

export async function revokeToken(ctx: Context, id: string): Promise<boolean> {
  return (await ctx.sql.run('UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [ctx.now(), id])) === 1;
}
