// Masks secret values in a byte stream. A secret may arrive split across chunks, so the tail that
// could still be the start of a secret is held back until the next chunk (or the end) decides.
// A secret of fewer than MIN_MASKED_SECRET_LENGTH characters is masked only where it stands as a
// word of its own: masked inside other words it would mangle the log and give itself away
// ("t***le" is "table" with the secret "ab"). Callers warn about such secrets with
// shortSecretsWarning. A value the step re-encodes (base64, split by a colour code) is not seen.
import { Transform, type TransformCallback } from 'node:stream';

export const MASK = '***';
const MASK_BYTES = Buffer.from(MASK);

/** Secrets with fewer characters than this are masked only as whole words. */
export const MIN_MASKED_SECRET_LENGTH = 4;

/** How far back the masker looks for the byte before a short secret (or the colour code before it). */
const LOOK_BEHIND_BYTES = 32;

/** The byte strings to hide for a set of secret values: each value, and each line of a multi-line one. */
export function secretPatterns(values: Iterable<string>): Buffer[] {
  const patterns = new Set<string>();
  for (const value of values) {
    // a value of blanks would mask every space of the log and hide nothing
    if (value.trim().length === 0) continue;
    patterns.add(value);
    for (const line of value.split(/\r?\n/)) if (line.trim().length >= 3) patterns.add(line);
  }
  // longest first, so that a secret containing another is masked whole
  return [...patterns].sort((a, b) => b.length - a.length).map((p) => Buffer.from(p));
}

/** The names of the secrets too short to be masked everywhere they appear (blank ones too), sorted. */
export function secretsTooShortToMask(secrets: Record<string, string>): string[] {
  return Object.entries(secrets)
    .filter(([, value]) => value.length > 0 && (value.trim().length === 0 || characterCount(value) < MIN_MASKED_SECRET_LENGTH))
    .map(([name]) => name)
    .sort();
}

/** One warning line naming the secrets too short to mask reliably (never their values); undefined when there are none. */
export function shortSecretsWarning(secrets: Record<string, string>): string | undefined {
  const names = secretsTooShortToMask(secrets);
  if (names.length === 0) return undefined;
  const which = names.length === 1 ? `secret ${names[0]} has` : `secrets ${names.join(', ')} have`;
  return (
    `warning: ${which} fewer than ${MIN_MASKED_SECRET_LENGTH} characters (or only blanks): logs hide such a value only ` +
    `where it stands as a word of its own, never inside other words; use a longer value`
  );
}

function characterCount(value: string): number {
  let count = 0;
  for (const _ of value) count++;
  return count;
}

/** Letters, digits, '_' and any byte of a non-ASCII character: what a short secret may not run into. */
function isWordByte(byte: number): boolean {
  return (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || byte === 0x5f || byte >= 0x80;
}

/** Whether `data[end - 1]` is the final letter of an ANSI control sequence (ESC [ 1;32 m), which is no word. */
function endsControlSequence(data: Buffer, end: number): boolean {
  const final = data[end - 1]!;
  if (final < 0x40 || final > 0x7e) return false;
  for (let i = end - 2; i >= Math.max(1, end - LOOK_BEHIND_BYTES); i--) {
    const byte = data[i]!;
    if (byte === 0x5b) return data[i - 1] === 0x1b;
    if (byte < 0x20 || byte > 0x3f) return false;
  }
  return false;
}

const NONE = -1;
const UNKNOWN = -2;

export class SecretMasker extends Transform {
  private held: Buffer = Buffer.alloc(0);
  /** the last bytes already passed on, kept only when a short secret needs to see what came before it */
  private before: Buffer = Buffer.alloc(0);
  private readonly longest: number;
  /** per pattern: its first / last byte is a word byte that may not run into a word before / after it */
  private readonly wordBefore: boolean[];
  private readonly wordAfter: boolean[];
  private readonly hasShort: boolean;

  constructor(private readonly patterns: Buffer[]) {
    super();
    this.longest = patterns.reduce((max, p) => Math.max(max, p.length), 0);
    const short = patterns.map((p) => characterCount(p.toString('utf8')) < MIN_MASKED_SECRET_LENGTH);
    this.wordBefore = patterns.map((p, i) => short[i]! && isWordByte(p[0]!));
    this.wordAfter = patterns.map((p, i) => short[i]! && isWordByte(p[p.length - 1]!));
    this.hasShort = short.some(Boolean);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.patterns.length === 0) {
      callback(null, chunk);
      return;
    }
    const start = this.before.length;
    const data = start + this.held.length > 0 ? Buffer.concat([this.before, this.held, chunk]) : chunk;
    const { output, consumed } = this.mask(data, start, false);
    this.held = Buffer.from(data.subarray(consumed));
    if (this.hasShort) this.before = Buffer.from(data.subarray(Math.max(0, consumed - LOOK_BEHIND_BYTES), consumed));
    if (output.length > 0) this.push(output);
    callback();
  }

  override _flush(callback: TransformCallback): void {
    const { output } = this.mask(Buffer.concat([this.before, this.held]), this.before.length, true);
    this.held = Buffer.alloc(0);
    this.before = Buffer.alloc(0);
    callback(null, output.length > 0 ? output : undefined);
  }

  /**
   * Masks every whole secret in `data` from `start` (the bytes before it were passed on already);
   * unless `final`, stops before a tail that may begin one, or a short one whose next byte is unknown.
   */
  private mask(data: Buffer, start: number, final: boolean): { output: Buffer; consumed: number } {
    const parts: Buffer[] = [];
    // where each pattern is next found from the cursor on: a search per pattern, not per match
    const found = new Array<number>(this.patterns.length).fill(UNKNOWN);
    const undecided = new Array<boolean>(this.patterns.length).fill(false);
    let position = start;
    let cursor = start;
    let holdFrom = data.length;
    for (;;) {
      let next = NONE;
      let nextIndex = NONE;
      for (let i = 0; i < this.patterns.length; i++) {
        let at = found[i]!;
        if (at === UNKNOWN || (at !== NONE && at < cursor)) {
          at = this.nextMatch(data, i, cursor, final, undecided);
          found[i] = at;
        }
        if (at !== NONE && (next === NONE || at < next || (at === next && this.patterns[i]!.length > this.patterns[nextIndex]!.length))) {
          next = at;
          nextIndex = i;
        }
      }
      if (next === NONE) break;
      if (undecided[nextIndex]) {
        // a short secret at the very end: the next chunk tells whether a word goes on after it
        holdFrom = next;
        break;
      }
      parts.push(data.subarray(position, next), MASK_BYTES);
      position = next + this.patterns[nextIndex]!.length;
      cursor = position;
    }
    let end = data.length;
    if (!final) end = Math.max(position, Math.min(holdFrom, this.safeEnd(data, position)));
    parts.push(data.subarray(position, end));
    return { output: Buffer.concat(parts), consumed: end };
  }

  /**
   * Where pattern `i` next stands from `from` on, or NONE. A short one that runs into a word is
   * skipped; one at the very end (not `final`) is returned with `undecided[i]` set.
   */
  private nextMatch(data: Buffer, i: number, from: number, final: boolean, undecided: boolean[]): number {
    undecided[i] = false;
    const pattern = this.patterns[i]!;
    let at = data.indexOf(pattern, from);
    if (!this.wordBefore[i] && !this.wordAfter[i]) return at;
    while (at !== NONE) {
      const end = at + pattern.length;
      const joinsBefore = this.wordBefore[i] && at > 0 && isWordByte(data[at - 1]!) && !endsControlSequence(data, at);
      if (!joinsBefore) {
        if (!this.wordAfter[i]) return at;
        if (end === data.length) {
          undecided[i] = !final;
          return at;
        }
        if (!isWordByte(data[end]!)) return at;
      }
      at = data.indexOf(pattern, at + 1);
    }
    return NONE;
  }

  /** The first index from which the rest of `data` is a proper prefix of some secret. */
  private safeEnd(data: Buffer, from: number): number {
    const start = Math.max(from, data.length - (this.longest - 1));
    for (let i = start; i < data.length; i++) {
      const tail = data.subarray(i);
      if (this.patterns.some((p) => p.length > tail.length && p.subarray(0, tail.length).equals(tail))) return i;
    }
    return data.length;
  }
}
