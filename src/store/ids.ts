// Ids that sort by creation time (ULID layout: 10 characters of milliseconds, 16 of randomness, in
// Crockford base32). Lists page by id alone, and replicas need no shared counter to make them.
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const RANDOM_MAX = (1n << 80n) - 1n;

function encode(value: bigint, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) {
    out = ALPHABET[Number(value & 31n)] + out;
    value >>= 5n;
  }
  return out;
}

let lastMs = -1;
let lastRandom = 0n;

/** Ids made in the same millisecond by this process still sort in the order they were made. */
export function newId(nowMs: number = Date.now()): string {
  if (nowMs <= lastMs && lastRandom < RANDOM_MAX) {
    lastRandom += 1n;
  } else {
    lastMs = Math.max(nowMs, lastMs);
    lastRandom = BigInt('0x' + randomBytes(10).toString('hex')) >> 1n; // headroom for increments
  }
  return encode(BigInt(lastMs), 10) + encode(lastRandom, 16);
}
