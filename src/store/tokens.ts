// API token secrets: generated with 192 random bits, stored only as a SHA-256 hash plus a short
// prefix to find the row, compared in constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { isValidName } from '../deploy/revisions.js';
import { MAX_TOKEN_SCOPES, StoreError, TOKEN_SCOPES, type EnvironmentScope, type TokenScope } from './types.js';

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

const ENVIRONMENT_PREFIX = 'deploy:';

/** `deploy:ENV` with ENV an environment name by the deploy targets' own rule. */
function isEnvironmentScope(scope: string): scope is EnvironmentScope {
  return scope.startsWith(ENVIRONMENT_PREFIX) && isValidName(scope.slice(ENVIRONMENT_PREFIX.length));
}

/** Whether `scope` is one a token can have: a plain one, or `deploy:ENV` with a valid ENV. */
export function isTokenScope(scope: string): scope is TokenScope {
  return (TOKEN_SCOPES as readonly string[]).includes(scope) || isEnvironmentScope(scope);
}

/** What is wrong with a list of scopes, in words for a user; undefined when nothing is. */
export function scopesProblem(scopes: readonly string[]): string | undefined {
  const expected = `${TOKEN_SCOPES.join(', ')} or deploy:ENV (ENV an environment name: letters, digits, _ . -; at most 63)`;
  if (scopes.length === 0) return `token scopes must be some of ${expected} (none given)`;
  const unknown = scopes.filter((s) => !isTokenScope(s));
  if (unknown.length > 0) return `token scopes must be some of ${expected} (unknown: ${unknown.map((s) => s.slice(0, 80)).join(', ')})`;
  if (new Set(scopes).size > MAX_TOKEN_SCOPES) return `a token has at most ${MAX_TOKEN_SCOPES} scopes, not ${new Set(scopes).size}`;
  return undefined;
}

/** The scopes, checked, without duplicates: the plain ones in their usual order, then deploy:ENV ones sorted. */
export function checkScopes(scopes: readonly string[]): TokenScope[] {
  const problem = scopesProblem(scopes);
  if (problem) throw new StoreError('STORE_TOKEN_INVALID', problem);
  const environments = [...new Set(scopes.filter(isEnvironmentScope))].sort();
  return [...TOKEN_SCOPES.filter((s) => scopes.includes(s)), ...environments];
}
