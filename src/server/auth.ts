// Who a request is, by the store's tokens: the API checks a route's scope with it, git hosting
// whether a push may write, and the routes that act on an environment whether the token may deploy there.
import type { IncomingMessage } from 'node:http';
import { credentialsOf, HttpError } from '../http/index.js';
import type { BaseTokenScope, Store, VerifiedToken } from '../store/types.js';

/**
 * admin can do everything; any scope includes read. An environment scope (deploy:ENV) is not
 * `deploy`: what it allows is asked with canDeployTo.
 */
export function hasScope(token: VerifiedToken, needed: BaseTokenScope): boolean {
  return token.scopes.includes('admin') || token.scopes.includes(needed) || (needed === 'read' && token.scopes.length > 0);
}

/** May the token deploy, roll back, promote to or approve a deploy to `environment`: admin, deploy, or deploy:ENV. */
export function canDeployTo(token: VerifiedToken, environment: string): boolean {
  return token.scopes.includes('admin') || token.scopes.includes('deploy') || token.scopes.includes(`deploy:${environment}`);
}

/** The 403 of a route that acts on `environment` for a token that may not deploy there. */
export function requireDeployTo(token: VerifiedToken, environment: string): void {
  if (!canDeployTo(token, environment)) {
    throw new HttpError(403, 'AUTH_SCOPE', `the token lacks the '${deployScopeOf(environment)}' scope (or 'deploy')`);
  }
}

/** The scope named in a 403, with an environment name that is not one shortened rather than echoed whole. */
function deployScopeOf(environment: string): string {
  return `deploy:${environment.length > 63 ? `${environment.slice(0, 63)}…` : environment}`;
}

/**
 * The gate of a route that declares `needed`, before its body is read. A route declaring `deploy`
 * also lets in a token with only environment scopes: such a route acts on an environment and its
 * handler checks that one with requireDeployTo (the route table names those routes).
 */
function passesGate(token: VerifiedToken, needed: BaseTokenScope): boolean {
  return hasScope(token, needed) || (needed === 'deploy' && token.scopes.some((s) => s.startsWith('deploy:')));
}

/** The token the request carries (Bearer, or Basic's password) if the store knows it. */
export async function verifiedTokenOf(store: Store, req: IncomingMessage): Promise<VerifiedToken | undefined> {
  const secret = credentialsOf(req)?.secret;
  return secret ? store.verifyToken(secret) : undefined;
}

export async function authenticate(store: Store, req: IncomingMessage, needed: BaseTokenScope): Promise<VerifiedToken> {
  const secret = credentialsOf(req)?.secret;
  if (!secret) throw new HttpError(401, 'AUTH_REQUIRED', 'a token is required: Authorization: Bearer <token>');
  const token = await store.verifyToken(secret);
  if (!token) throw new HttpError(401, 'AUTH_INVALID', 'the token is not valid (revoked or unknown)');
  if (!passesGate(token, needed)) throw new HttpError(403, 'AUTH_SCOPE', `the token lacks the '${needed}' scope${needed === 'deploy' ? " (or a 'deploy:ENV' one)" : ''}`);
  return token;
}
