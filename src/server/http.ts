// Small HTTP helpers of the server: bounded JSON bodies, JSON errors with stable codes, token
// authentication from Bearer or Basic credentials.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Store, TokenScope, VerifiedToken } from '../store/types.js';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The request's URL, or undefined when it is not one: `//`, `//host/path` and other
 * scheme-relative forms are read as paths, never as another host.
 */
export function requestUrl(req: IncomingMessage): URL | undefined {
  const raw = req.url ?? '/';
  try {
    return raw.startsWith('/') ? new URL(`http://localhost${raw}`) : new URL(raw);
  } catch {
    return undefined;
  }
}

/** The one decoding of a path parameter: a malformed `%` escape is a 400, never a 500. */
export function decodePathParam(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, 'REQUEST_PATH_INVALID', `the path has a malformed % escape: ${JSON.stringify(raw.slice(0, 100))}`);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, err: HttpError): void {
  const headers: Record<string, string> = err.status === 401 ? { 'WWW-Authenticate': 'Bearer realm="slipway", Basic realm="slipway"' } : {};
  sendJson(res, err.status, { error: { code: err.code, message: err.message } }, headers);
}

/** Bytes that many requests share: bodies held in memory before they are known to be wanted. */
export class ByteBudget {
  private used = 0;
  constructor(readonly limitBytes: number) {}

  take(bytes: number): boolean {
    if (this.used + bytes > this.limitBytes) return false;
    this.used += bytes;
    return true;
  }

  give(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }
}

/**
 * The raw body, refused past `limitBytes` without reading the rest. With a `budget`, the body's
 * bytes count against it while it is read; past the budget the request is refused (503).
 */
export async function readBody(req: IncomingMessage, limitBytes: number, budget?: ByteBudget): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > limitBytes) throw new HttpError(413, 'REQUEST_TOO_LARGE', `the body is ${declared} bytes; at most ${limitBytes} are accepted`);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limitBytes) throw new HttpError(413, 'REQUEST_TOO_LARGE', `the body is larger than ${limitBytes} bytes`);
      if (budget && !budget.take(chunk.length)) {
        size -= chunk.length;
        throw new HttpError(503, 'SERVER_BUSY', 'too many large requests are being read at once; retry in a few seconds');
      }
      chunks.push(chunk);
    }
  } finally {
    budget?.give(size);
  }
  return Buffer.concat(chunks);
}

export async function readJson(req: IncomingMessage, limitBytes = 1024 * 1024): Promise<Record<string, unknown>> {
  const body = await readBody(req, limitBytes);
  if (body.length === 0) return {};
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value as Record<string, unknown>;
  } catch {
    throw new HttpError(400, 'REQUEST_INVALID_JSON', 'the body must be a JSON object');
  }
}

export function credentialsOf(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  if (header.startsWith('Bearer ')) return header.slice(7).trim();
  if (header.startsWith('Basic ')) {
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon === -1 ? undefined : decoded.slice(colon + 1);
  }
  return undefined;
}

/** admin can do everything; run and deploy include read. */
export function hasScope(token: VerifiedToken, needed: TokenScope): boolean {
  return token.scopes.includes('admin') || token.scopes.includes(needed) || (needed === 'read' && token.scopes.length > 0);
}

export async function authenticate(store: Store, req: IncomingMessage, needed: TokenScope): Promise<VerifiedToken> {
  const secret = credentialsOf(req);
  if (!secret) throw new HttpError(401, 'AUTH_REQUIRED', 'a token is required: Authorization: Bearer <token>');
  const token = await store.verifyToken(secret);
  if (!token) throw new HttpError(401, 'AUTH_INVALID', 'the token is not valid (revoked or unknown)');
  if (!hasScope(token, needed)) throw new HttpError(403, 'AUTH_SCOPE', `the token lacks the '${needed}' scope`);
  return token;
}
