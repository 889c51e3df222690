// Browser sessions, the web UI's login: a token traded for an HttpOnly, SameSite=Strict cookie whose
// secret the store keeps only hashed; who the cookie is; logout. The cookie then authenticates API
// calls with the token's scopes (auth.ts), under the CSRF rule (requireSameOrigin).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HttpError, setCookie } from '../../http/index.js';
import { SESSION_LIFETIME_MS, StoreError } from '../../store/index.js';
import type { AppContext } from '../app.js';
import { isHttps, requireLoginOrigin, requireSameOrigin, SESSION_COOKIE, sessionSecretOf } from '../auth.js';
import type { Handlers } from './routing.js';

/** One answer for every refused login: nothing tells an unknown token from a revoked one. */
const LOGIN_FAILED = new HttpError(401, 'LOGIN_FAILED', 'that token is not valid (unknown or revoked): log in with a token `slipway token create` made, or the admin token');

function sendCookie(request: FastifyRequest, reply: FastifyReply, value: string, maxAgeMs: number): void {
  void reply.header('Set-Cookie', setCookie(SESSION_COOKIE, value, { maxAgeS: maxAgeMs / 1000, secure: isHttps(request.raw) }));
  // an answer that sets or clears a session is nobody's to cache
  void reply.header('Cache-Control', 'no-store');
}

/**
 * The CSRF checks of the session routes themselves, before their bodies are read: a login from a
 * browser must come from this server's pages (login CSRF), and so must a logout that carries the
 * cookie. The other routes check theirs when they authenticate (auth.ts).
 */
export async function checkSessionOrigin(request: FastifyRequest): Promise<void> {
  const route = request.routeOptions.config?.route;
  if (route === 'login') requireLoginOrigin(request.raw);
  if (route === 'logout' && request.raw.headers.authorization === undefined && sessionSecretOf(request.raw) !== undefined) requireSameOrigin(request.raw);
}

export function sessionRoutes(ctx: AppContext): Handlers<'login' | 'getSession' | 'logout'> {
  const { store } = ctx;
  return {
    login: async ({ body, request, reply }) => {
      const token = await store.verifyToken(body.token);
      if (!token) throw LOGIN_FAILED;
      // ended sessions are swept here: logins are rare, and a verify refuses an ended one anyway
      await store.deleteExpiredSessions();
      let secret: string;
      try {
        ({ secret } = await store.createSession(token.id));
      } catch (err) {
        // revoked between the check and the insert: the same answer as any bad token
        if (err instanceof StoreError && err.code === 'STORE_NOT_FOUND') throw LOGIN_FAILED;
        throw err;
      }
      await store.appendAudit({ actor: token.name, action: 'session.create', subject: token.id });
      sendCookie(request, reply, secret, SESSION_LIFETIME_MS);
      return { name: token.name, scopes: token.scopes };
    },
    getSession: async ({ token, reply }) => {
      void reply.header('Cache-Control', 'no-store');
      return { name: token.name, scopes: token.scopes };
    },
    logout: async ({ request, reply }) => {
      const secret = sessionSecretOf(request.raw);
      if (secret !== undefined) {
        const session = await store.verifySession(secret);
        if (await store.deleteSession(secret)) await store.appendAudit({ actor: session?.token.name ?? 'unknown', action: 'session.delete', subject: session?.token.id ?? '' });
      }
      // cleared whatever the store held: the browser forgets it either way
      sendCookie(request, reply, '', 0);
      return { ok: true as const };
    },
  };
}
