// The one error type of the HTTP plumbing: a status and a stable code, and the API's JSON body
// for it (`{error: {code, message}}`). Protocols with their own error bodies (the registry's OCI
// `{errors: [...]}`, the deploy agent's `{code, message}`) map it to theirs.
import type { ServerResponse } from 'node:http';
import { sendJson } from './json.js';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** What a 401 of the API asks for: a token as Bearer, or as the password of Basic (git, curl -u). */
export const AUTH_CHALLENGE = 'Bearer realm="slipway", Basic realm="slipway"';

export function sendError(res: ServerResponse, err: HttpError): void {
  const headers = err.status === 401 ? { 'WWW-Authenticate': AUTH_CHALLENGE } : {};
  sendJson(res, err.status, { error: { code: err.code, message: err.message } }, headers);
}
