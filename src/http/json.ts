// JSON answers: the body written at once, with its Content-Length, so clients never wait on a
// chunked end.
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

/** `headers` may add to the answer (and replace its Content-Type); the length is always the body's. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: OutgoingHttpHeaders = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...headers, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
