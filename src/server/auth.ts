// Who a request is, by the store's tokens: the API checks a route's scope with it, git hosting
// whether a push may write.
import type { IncomingMessage } from 'node:http';
import { credentialsOf, HttpError } from '../http/index.js';
import type { Store, TokenScope, VerifiedToken } from '../store/types.js';

/** admin can do everything; run and deploy include read. */
export function hasScope(token: VerifiedToken, needed: TokenScope): boolean {
  return token.scopes.includes('admin') || token.scopes.includes(needed) || (needed === 'read' && token.scopes.length > 0);
}

/** The token the request carries (Bearer, or Basic's password) if the store knows it. */
export async function verifiedTokenOf(store: Store, req: IncomingMessage): Promise<VerifiedToken | undefined> {
  const secret = credentialsOf(req)?.secret;
  return secret ? store.verifyToken(secret) : undefined;
}

export async function authenticate(store: Store, req: IncomingMessage, needed: TokenScope): Promise<VerifiedToken> {
  const secret = credentialsOf(req)?.secret;
  if (!secret) throw new HttpError(401, 'AUTH_REQUIRED', 'a token is required: Authorization: Bearer <token>');
  const token = await store.verifyToken(secret);
  if (!token) throw new HttpError(401, 'AUTH_INVALID', 'the token is not valid (revoked or unknown)');
  if (!hasScope(token, needed)) throw new HttpError(403, 'AUTH_SCOPE', `the token lacks the '${needed}' scope`);
  return token;
}
