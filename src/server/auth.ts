// Who a request is, by the store's tokens: the API checks a route's scope with it, git hosting
// whether a push may write, and the routes that act on an environment whether the token may deploy there.
// A browser (the web UI) is its login's token through the session cookie, under the CSRF rule below.
import type { IncomingMessage } from 'node:http';
import { cookieOf, credentialsOf, HttpError } from '../http/index.js';
import type { BaseTokenScope, Store, VerifiedToken } from '../store/types.js';

/** The cookie of a browser's session (POST /api/session sets it). */
export const SESSION_COOKIE = 'slipway_session';

/** Methods that change nothing: a cookie may carry them from anywhere (SameSite=Strict aside). */
const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

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

/**
 * The token the request carries (Bearer, or Basic's password) if the store knows it. Never the
 * session cookie: git hosting asks this, and a cookie is no credential there (a page of another
 * site could make the browser send it, and a git client never has one).
 */
export async function verifiedTokenOf(store: Store, req: IncomingMessage): Promise<VerifiedToken | undefined> {
  const secret = credentialsOf(req)?.secret;
  return secret ? store.verifyToken(secret) : undefined;
}

/** The session cookie's value, if the request carries one. */
export function sessionSecretOf(req: IncomingMessage): string | undefined {
  return cookieOf(req, SESSION_COOKIE);
}

/** Whether the request came over https: TLS to this server, or a proxy in front of it that says so. */
export function isHttps(req: IncomingMessage): boolean {
  if ((req.socket as { encrypted?: boolean }).encrypted === true) return true;
  const forwarded = req.headers['x-forwarded-proto'];
  return (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim().toLowerCase() === 'https';
}

/** This server's origin as the request addresses it (scheme and Host), as a browser serializes one. */
function ownOrigin(req: IncomingMessage): string | undefined {
  const host = req.headers.host;
  if (!host || !/^[A-Za-z0-9.\-:[\]]+$/.test(host)) return undefined;
  try {
    return new URL(`${isHttps(req) ? 'https' : 'http'}://${host}`).origin;
  } catch {
    return undefined;
  }
}

/**
 * The CSRF rule of a request the session cookie authenticates: it must come from a page of this
 * server — `Origin` equal to the server's own origin or, without Origin, `Sec-Fetch-Site:
 * same-origin`. A browser sets both headers itself and a page cannot forge them; a page of another
 * site cannot send Authorization without a CORS preflight this server never grants, so Bearer and
 * Basic requests need no such rule.
 */
export function requireSameOrigin(req: IncomingMessage): void {
  const origin = req.headers.origin;
  const own = ownOrigin(req);
  if (origin !== undefined) {
    if (own !== undefined && origin === own) return;
    throw new HttpError(403, 'CSRF_ORIGIN', `a request with the session cookie must come from this server's own pages: Origin ${JSON.stringify(origin.slice(0, 100))} is not ${own ?? 'this server'} (scripts and tools: Authorization: Bearer <token>)`);
  }
  const site = req.headers['sec-fetch-site'];
  if (site === 'same-origin') return;
  throw new HttpError(403, 'CSRF_ORIGIN', `a request with the session cookie must come from this server's own pages (no Origin, Sec-Fetch-Site ${JSON.stringify(String(site ?? 'absent').slice(0, 40))}); scripts and tools: Authorization: Bearer <token>`);
}

/**
 * Login CSRF (another site logging the browser in as its own token): a login a browser sends
 * (it sets Origin or Sec-Fetch-Site on every POST) must come from this server's pages. A request
 * with neither header comes from no browser (curl, a script) and may log in from anywhere.
 */
export function requireLoginOrigin(req: IncomingMessage): void {
  if (req.headers.origin !== undefined || req.headers['sec-fetch-site'] !== undefined) requireSameOrigin(req);
}

/**
 * Whether a 401 should carry the Basic challenge: not for a page's script (a browser would answer
 * it with its own password dialog over the UI) nor for a request with the session cookie.
 */
export function wantsAuthChallenge(req: IncomingMessage): boolean {
  // browsers send Sec-Fetch-Site with Sec-Fetch-Mode; Node's fetch sends only the mode, and keeps the challenge
  const fromPageScript = req.headers['sec-fetch-site'] !== undefined && req.headers['sec-fetch-mode'] !== 'navigate';
  return sessionSecretOf(req) === undefined && !fromPageScript;
}

/**
 * The caller: the token of the Authorization header when there is one (a bad one is not made
 * good by a cookie), else the token of the session cookie — for a method that changes something
 * only from this server's own pages (requireSameOrigin), checked before the session is looked up.
 */
async function callerOf(store: Store, req: IncomingMessage): Promise<VerifiedToken> {
  if (req.headers.authorization !== undefined) {
    const secret = credentialsOf(req)?.secret;
    if (!secret) throw new HttpError(401, 'AUTH_REQUIRED', 'a token is required: Authorization: Bearer <token>');
    const token = await store.verifyToken(secret);
    if (!token) throw new HttpError(401, 'AUTH_INVALID', 'the token is not valid (revoked or unknown)');
    return token;
  }
  const session = sessionSecretOf(req);
  if (session === undefined) throw new HttpError(401, 'AUTH_REQUIRED', 'a token is required: Authorization: Bearer <token> (or log in: POST /api/session)');
  if (!SAFE_METHODS.has(req.method ?? 'GET')) requireSameOrigin(req);
  const verified = await store.verifySession(session);
  if (!verified) throw new HttpError(401, 'AUTH_SESSION_ENDED', 'the session has ended (logged out, idle or too old, or its token was revoked): log in again');
  return verified.token;
}

export async function authenticate(store: Store, req: IncomingMessage, needed: BaseTokenScope): Promise<VerifiedToken> {
  const token = await callerOf(store, req);
  if (!passesGate(token, needed)) throw new HttpError(403, 'AUTH_SCOPE', `the token lacks the '${needed}' scope${needed === 'deploy' ? " (or a 'deploy:ENV' one)" : ''}`);
  return token;
}
