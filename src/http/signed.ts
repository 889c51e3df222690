// Signed claims: what Slipway's stateless capabilities are made of — the registry's Bearer tokens,
// pull credentials and checkout tokens. Claims travel as base64url JSON beside an HMAC-SHA256 of
// what they were signed as; checking one recomputes it and compares in constant time, so it reads
// no table and every replica holding the same key accepts it.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The longest encoded claims read: nothing Slipway signs comes near it, so more is not ours. */
const MAX_CLAIMS_CHARS = 4096;

/** A key of its own for one purpose, so that a capability signed for one use never verifies as another. */
export function purposeKey(parent: Buffer, purpose: string): Buffer {
  return createHmac('sha256', parent).update(purpose).digest();
}

/** HMAC-SHA256 of `signed` under `key`, base64url. */
export function signatureOf(key: Buffer, signed: string): string {
  return createHmac('sha256', key).update(signed).digest('base64url');
}

/** Whether `given` (base64url) is the signature of `signed` under `key`; constant time in the signature. */
export function isSignatureOf(key: Buffer, signed: string, given: string): boolean {
  const expected = createHmac('sha256', key).update(signed).digest();
  const actual = Buffer.from(given, 'base64url');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

export function encodeClaims(claims: object): string {
  return Buffer.from(JSON.stringify(claims)).toString('base64url');
}

/** The claims of a body whose signature was checked, or undefined when it is not base64url JSON of an object. */
export function decodeClaims(body: string): Record<string, unknown> | undefined {
  if (body.length > MAX_CLAIMS_CHARS) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    return typeof claims === 'object' && claims !== null && !Array.isArray(claims) ? (claims as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
