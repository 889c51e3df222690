// Pull credentials: what a cluster's nodes pull a deployed image with. Each one may only pull one
// repository and expires; it is stateless — `slwpull_<claims>.<HMAC-SHA256>` under a key derived
// from the registry's token key — so minting one writes nothing and checking one reads nothing.
// It is never a Slipway token: the API, git hosting and pushes refuse it.
import { randomBytes } from 'node:crypto';
import { decodeClaims, encodeClaims, isSignatureOf, purposeKey, signatureOf } from '../http/index.js';
import { isValidName } from './names.js';

export const PULL_CREDENTIAL_PREFIX = 'slwpull_';
/** the user name a pull credential is presented with (any name works; this one says what it is) */
export const PULL_CREDENTIAL_USER = 'slipway-pull';
/** the longest lifetime a pull credential may be minted with */
export const MAX_PULL_CREDENTIAL_TTL_MS = 90 * 24 * 60 * 60 * 1000;

export interface PullCredential {
  username: string;
  password: string;
  repository: string;
  issuedAt: Date;
  expiresAt: Date;
}

interface Claims {
  /** the repository it may pull */
  r: string;
  /** issued at, expires at (Unix seconds) */
  i: number;
  e: number;
  /** a nonce: no two credentials are alike, even minted in the same second */
  n: string;
}

/** Its own key: a pull credential can never be mistaken for a Bearer token signed with the parent key. */
const PURPOSE = 'slipway pull credential v1';

export function mintPullCredential(tokenKey: Buffer, repository: string, ttlMs: number, nowMs = Date.now()): PullCredential {
  if (!isValidName(repository)) throw new Error(`not a repository name: ${JSON.stringify(repository.slice(0, 100))}`);
  if (!Number.isFinite(ttlMs) || ttlMs < 1000 || ttlMs > MAX_PULL_CREDENTIAL_TTL_MS) throw new Error(`a pull credential lives from 1 s to 90 days, not ${ttlMs} ms`);
  const issued = Math.floor(nowMs / 1000);
  const claims: Claims = { r: repository, i: issued, e: issued + Math.floor(ttlMs / 1000), n: randomBytes(8).toString('base64url') };
  const body = encodeClaims(claims);
  const password = `${PULL_CREDENTIAL_PREFIX}${body}.${signatureOf(purposeKey(tokenKey, PURPOSE), body)}`;
  return { username: PULL_CREDENTIAL_USER, password, repository, issuedAt: new Date(claims.i * 1000), expiresAt: new Date(claims.e * 1000) };
}

export function isPullCredential(secret: string): boolean {
  return secret.startsWith(PULL_CREDENTIAL_PREFIX);
}

/** The repository a pull credential may pull, or undefined when it is forged, altered or expired. */
export function verifyPullCredential(tokenKey: Buffer, secret: string, nowMs = Date.now()): { repository: string; expiresAt: Date } | undefined {
  if (!isPullCredential(secret) || secret.length > 2048) return undefined;
  const [body = '', sig = '', ...rest] = secret.slice(PULL_CREDENTIAL_PREFIX.length).split('.');
  if (rest.length > 0 || !body || !sig) return undefined;
  if (!isSignatureOf(purposeKey(tokenKey, PURPOSE), body, sig)) return undefined;
  const claims = decodeClaims(body) as Partial<Claims> | undefined;
  if (!claims || typeof claims.r !== 'string' || !isValidName(claims.r) || typeof claims.e !== 'number' || typeof claims.i !== 'number') return undefined;
  if (!(claims.e * 1000 > nowMs) || claims.i * 1000 > nowMs + 60_000) return undefined;
  return { repository: claims.r, expiresAt: new Date(claims.e * 1000) };
}
