// Request bodies read into memory only up to a limit: past it the request is refused with 413
// before more is read, and bodies that many requests hold at once can share one budget (503).
import type { IncomingMessage } from 'node:http';
import { HttpError } from './errors.js';

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
 * The raw body, refused past `limitBytes` without reading the rest (413 REQUEST_TOO_LARGE). With
 * a `budget`, the body's bytes count against it while it is read; past the budget the request is
 * refused (503 SERVER_BUSY).
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

/** A body that is a JSON object; an empty body is `{}`, anything else a 400 REQUEST_INVALID_JSON. */
/**
 * A request body as the JSON object it must be: empty is {}, anything else a 400. `__proto__` keys
 * are dropped, so that no later merge of the object can reach a prototype.
 */
export function parseJsonObject(text: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text, (key, v: unknown) => (key === '__proto__' ? undefined : v));
  } catch {
    throw new HttpError(400, 'REQUEST_INVALID_JSON', 'the body must be a JSON object');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'REQUEST_INVALID_JSON', 'the body must be a JSON object');
  return value as Record<string, unknown>;
}

export async function readJson(req: IncomingMessage, limitBytes: number, budget?: ByteBudget): Promise<Record<string, unknown>> {
  return parseJsonObject((await readBody(req, limitBytes, budget)).toString('utf8'));
}
