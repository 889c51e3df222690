// Reading a webhook's JSON as hostile input: every field is checked for its type and shape before
// it is used, and anything wrong is one 400 WEBHOOK_PAYLOAD_INVALID naming the field.

export class WebhookError extends Error {
  constructor(
    readonly code: 'WEBHOOK_SIGNATURE_MISSING' | 'WEBHOOK_SIGNATURE_INVALID' | 'WEBHOOK_PAYLOAD_INVALID' | 'WEBHOOK_DELIVERY_MISSING',
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export type Json = Record<string, unknown>;

/** A full commit id (SHA-1 or SHA-256), as forges send them. */
export const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

export function invalid(message: string): WebhookError {
  return new WebhookError('WEBHOOK_PAYLOAD_INVALID', 400, message);
}

export function parseJsonBody(body: Buffer): Json {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw invalid('the payload is not JSON');
  }
  return object(parsed, 'the payload');
}

export function object(value: unknown, what: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(`${what} is not an object`);
  return value as Json;
}

/** An object when there is one; null and absent are both none. */
export function optionalObject(value: unknown, what: string): Json | undefined {
  return value === undefined || value === null ? undefined : object(value, what);
}

export function text(value: unknown, what: string, pattern?: RegExp): string {
  if (typeof value !== 'string' || (pattern && !pattern.test(value))) throw invalid(`${what} is missing or malformed`);
  return value;
}

export function optionalText(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
