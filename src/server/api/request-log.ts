// How the API's requests are logged: through the server's logger, one line per request (method,
// url, status, ms) under a request id the caller may choose and always gets back in X-Request-Id;
// an unexpected error's stack only at error level. Bodies and credentials are never logged.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from '../logger.js';

/** An incoming X-Request-Id is kept when it is a short token of these characters. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;
const MAX_PATH_CHARS = 256;
const MAX_QUERY_CHARS = 128;

// ids of this process: a random prefix once, then a counter (random bytes per request cost ~40 µs)
const PROCESS_PREFIX = randomBytes(6).toString('base64url');
let requestCount = 0;

/** The caller's X-Request-Id when it is a short safe token, else a new one. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && SAFE_REQUEST_ID.test(given) ? given : `${PROCESS_PREFIX}-${(++requestCount).toString(36)}`;
}

/** The URL as logged: path and query each capped, so a huge one makes a short line. */
export function loggedUrl(url: string): string {
  const cap = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max)}…` : text);
  const at = url.indexOf('?');
  return at === -1 ? cap(url, MAX_PATH_CHARS) : `${cap(url.slice(0, at), MAX_PATH_CHARS)}?${cap(url.slice(at + 1), MAX_QUERY_CHARS)}`;
}

/** The error a request failed with, kept by the onError hook until its line is written. */
const failures = new WeakMap<FastifyRequest, Error>();

/** Fastify's own request lines (incoming, completed, not found) replaced by one line per request. */
class RequestLog extends LogController {
  override incomingRequest(): void {}

  override routeNotFound(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const fields = { method: request.method, url: loggedUrl(request.url), status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 };
    const err = error ?? failures.get(request);
    if (reply.statusCode >= 500 || error) request.log.error({ ...fields, ...(err ? { err } : {}) }, 'request');
    else request.log.info(fields, 'request');
  }
}

/** The Fastify options that log through `logger`: spread them into `Fastify({...})`. */
export function requestLogging(logger: Logger): { loggerInstance: FastifyBaseLogger; genReqId: (req: IncomingMessage) => string; logController: RequestLog } {
  return { loggerInstance: logger, genReqId: requestIdOf, logController: new RequestLog() };
}

/** Echoes the request id in X-Request-Id and keeps a failed request's error for its line; call before routes are added. */
export function logRequests(app: FastifyInstance): void {
  // callback hooks: an async one costs a promise per request
  app.addHook('onRequest', (request, reply, done) => {
    void reply.header('X-Request-Id', request.id);
    done();
  });
  app.addHook('onError', (request, _reply, error, done) => {
    failures.set(request, error);
    done();
  });
}
