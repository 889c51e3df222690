// API token secrets: generated with 192 random bits, stored only as a SHA-256 hash plus a short
// prefix to find the row, compared in constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { StoreError, TOKEN_SCOPES, type TokenScope } from './types.js';

/** "slw_" and eight characters: enough to find the row, too little to guess the rest. */
export const TOKEN_PREFIX_LENGTH = 12;
const MIN_SECRET_LENGTH = 16;

export function generateTokenSecret(): string {
  return 'slw_' + randomBytes(24).toString('base64url');
}

export function tokenPrefix(secret: string): string {
  return secret.slice(0, TOKEN_PREFIX_LENGTH);
}

export function hashToken(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Constant time in the content of the hashes (both are fixed-length hex). */
export function hashesEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}

export function checkTokenSecret(secret: string): void {
  if (secret.length < MIN_SECRET_LENGTH || /\s/.test(secret)) {
    throw new StoreError(
      'STORE_TOKEN_INVALID',
      `a token secret needs at least ${MIN_SECRET_LENGTH} characters and no spaces (SLIPWAY_ADMIN_TOKEN too)`,
    );
  }
}

export function checkScopes(scopes: readonly string[]): TokenScope[] {
  const unknown = scopes.filter((s) => !TOKEN_SCOPES.includes(s as TokenScope));
  if (unknown.length > 0 || scopes.length === 0) {
    throw new StoreError(
      'STORE_TOKEN_INVALID',
      `token scopes must be some of ${TOKEN_SCOPES.join(', ')}${unknown.length ? ` (unknown: ${unknown.join(', ')})` : ' (none given)'}`,
    );
  }
  return TOKEN_SCOPES.filter((s) => scopes.includes(s));
}
