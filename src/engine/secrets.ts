// Masks secret values in a byte stream. A secret may arrive split across chunks, so the tail that
// could still be the start of a secret is held back until the next chunk (or the end) decides.
import { Transform, type TransformCallback } from 'node:stream';

export const MASK = '***';
const MASK_BYTES = Buffer.from(MASK);

/** The byte strings to hide for a set of secret values: each value, and each line of a multi-line one. */
export function secretPatterns(values: Iterable<string>): Buffer[] {
  const patterns = new Set<string>();
  for (const value of values) {
    if (value.length === 0) continue;
    patterns.add(value);
    for (const line of value.split(/\r?\n/)) if (line.trim().length >= 3) patterns.add(line);
  }
  // longest first, so that a secret containing another is masked whole
  return [...patterns].sort((a, b) => b.length - a.length).map((p) => Buffer.from(p));
}

export class SecretMasker extends Transform {
  private held: Buffer = Buffer.alloc(0);
  private readonly longest: number;

  constructor(private readonly patterns: Buffer[]) {
    super();
    this.longest = patterns.reduce((max, p) => Math.max(max, p.length), 0);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.patterns.length === 0) {
      callback(null, chunk);
      return;
    }
    const data = this.held.length > 0 ? Buffer.concat([this.held, chunk]) : chunk;
    const { output, consumed } = this.mask(data, false);
    this.held = Buffer.from(data.subarray(consumed));
    if (output.length > 0) this.push(output);
    callback();
  }

  override _flush(callback: TransformCallback): void {
    const { output } = this.mask(this.held, true);
    this.held = Buffer.alloc(0);
    callback(null, output.length > 0 ? output : undefined);
  }

  /** Masks every whole secret in `data`; unless `final`, stops before a tail that may begin one. */
  private mask(data: Buffer, final: boolean): { output: Buffer; consumed: number } {
    const parts: Buffer[] = [];
    let position = 0;
    let cursor = 0;
    while (cursor < data.length) {
      let next = -1;
      let nextLength = 0;
      for (const pattern of this.patterns) {
        const at = data.indexOf(pattern, cursor);
        if (at !== -1 && (next === -1 || at < next || (at === next && pattern.length > nextLength))) {
          next = at;
          nextLength = pattern.length;
        }
      }
      if (next === -1) break;
      parts.push(data.subarray(position, next), MASK_BYTES);
      position = next + nextLength;
      cursor = position;
    }
    let end = data.length;
    if (!final) end = Math.max(position, this.safeEnd(data, position));
    parts.push(data.subarray(position, end));
    return { output: Buffer.concat(parts), consumed: end };
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
