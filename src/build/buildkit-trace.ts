// BuildKit's progress, as the Docker Engine API streams it: `{"id":"moby.buildkit.trace","aux":
// "<base64>"}` messages whose payload is a protobuf `moby.buildkit.v1.StatusResponse`. Decoded
// here (only the fields the log needs) and rendered the way `docker buildx build --progress=plain`
// prints it: `#N name`, `#N <output line>`, `#N CACHED`, `#N DONE 0.4s`, `#N ERROR: …`.

/** Seconds since the epoch, with fractions. */
type Instant = number;

export interface TraceVertex {
  digest: string;
  name: string;
  cached: boolean;
  started?: Instant;
  completed?: Instant;
  error?: string;
}

export interface TraceLog {
  vertex: string;
  message: Buffer;
}

export interface TraceWarning {
  vertex: string;
  short: string;
}

export interface StatusResponse {
  vertexes: TraceVertex[];
  logs: TraceLog[];
  warnings: TraceWarning[];
}

/** A protobuf wire-format reader: just enough for the messages above. */
class WireReader {
  private offset = 0;

  constructor(private readonly bytes: Buffer) {}

  get done(): boolean {
    return this.offset >= this.bytes.length;
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (this.offset >= this.bytes.length) throw new Error('truncated varint');
      const byte = this.bytes[this.offset++] as number;
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return value;
      scale *= 128;
      if (scale > 2 ** 63) throw new Error('varint too long');
    }
  }

  /** The next field: its number, wire type and (for length-delimited fields) its bytes. */
  field(): { number: number; type: number; bytes?: Buffer; value?: number } {
    const key = this.varint();
    const type = key % 8;
    const number = Math.floor(key / 8);
    switch (type) {
      case 0:
        return { number, type, value: this.varint() };
      case 1:
        this.skip(8);
        return { number, type };
      case 2: {
        const length = this.varint();
        const start = this.offset;
        this.skip(length);
        return { number, type, bytes: this.bytes.subarray(start, start + length) };
      }
      case 5:
        this.skip(4);
        return { number, type };
      default:
        throw new Error(`unsupported wire type ${type}`);
    }
  }

  private skip(n: number): void {
    if (this.offset + n > this.bytes.length) throw new Error('truncated field');
    this.offset += n;
  }
}

function fields(bytes: Buffer, onField: (f: ReturnType<WireReader['field']>) => void): void {
  const reader = new WireReader(bytes);
  while (!reader.done) onField(reader.field());
}

function timestamp(bytes: Buffer): Instant {
  let seconds = 0;
  let nanos = 0;
  fields(bytes, (f) => {
    if (f.number === 1 && f.value !== undefined) seconds = f.value;
    else if (f.number === 2 && f.value !== undefined) nanos = f.value;
  });
  return seconds + nanos / 1e9;
}

function vertex(bytes: Buffer): TraceVertex {
  const v: TraceVertex = { digest: '', name: '', cached: false };
  fields(bytes, (f) => {
    if (f.number === 1 && f.bytes) v.digest = f.bytes.toString('utf8');
    else if (f.number === 3 && f.bytes) v.name = f.bytes.toString('utf8');
    else if (f.number === 4 && f.value !== undefined) v.cached = f.value !== 0;
    else if (f.number === 5 && f.bytes) v.started = timestamp(f.bytes);
    else if (f.number === 6 && f.bytes) v.completed = timestamp(f.bytes);
    else if (f.number === 7 && f.bytes) v.error = f.bytes.toString('utf8');
  });
  return v;
}

/** Decodes one `moby.buildkit.trace` payload (base64 of a StatusResponse). */
export function decodeStatusResponse(base64: string): StatusResponse {
  const response: StatusResponse = { vertexes: [], logs: [], warnings: [] };
  fields(Buffer.from(base64, 'base64'), (f) => {
    if (!f.bytes) return;
    if (f.number === 1) response.vertexes.push(vertex(f.bytes));
    else if (f.number === 3) {
      const log: TraceLog = { vertex: '', message: Buffer.alloc(0) };
      fields(f.bytes, (g) => {
        if (g.number === 1 && g.bytes) log.vertex = g.bytes.toString('utf8');
        else if (g.number === 4 && g.bytes) log.message = g.bytes;
      });
      response.logs.push(log);
    } else if (f.number === 4) {
      const warning: TraceWarning = { vertex: '', short: '' };
      fields(f.bytes, (g) => {
        if (g.number === 1 && g.bytes) warning.vertex = g.bytes.toString('utf8');
        else if (g.number === 3 && g.bytes) warning.short = g.bytes.toString('utf8');
      });
      response.warnings.push(warning);
    }
  });
  return response;
}

/**
 * Turns successive StatusResponses into log lines. BuildKit repeats a vertex in every update that
 * touches it; a line is written only when something new is known (started, output, cached, done).
 */
export class TraceRenderer {
  private readonly numbers = new Map<string, number>();
  private readonly announced = new Set<string>();
  private readonly finished = new Set<string>();
  private readonly partial = new Map<string, string>();
  private readonly names = new Map<string, string>();

  constructor(private readonly onLine: (line: string) => void) {}

  render(response: StatusResponse): void {
    for (const v of response.vertexes) {
      const n = this.number(v.digest);
      if (v.name) this.names.set(v.digest, v.name);
      if (!this.announced.has(v.digest) && (v.started !== undefined || v.cached || v.completed !== undefined)) {
        this.announced.add(v.digest);
        this.onLine(`#${n} ${v.name || this.names.get(v.digest) || v.digest}`);
      }
      if (this.finished.has(v.digest) || (v.completed === undefined && !v.cached && !v.error)) continue;
      this.flush(v.digest);
      this.finished.add(v.digest);
      if (v.error) this.onLine(`#${n} ERROR: ${v.error}`);
      else if (v.cached) this.onLine(`#${n} CACHED`);
      else this.onLine(`#${n} DONE ${Math.max(0, (v.completed ?? 0) - (v.started ?? v.completed ?? 0)).toFixed(1)}s`);
    }
    for (const log of response.logs) {
      const n = this.number(log.vertex);
      const text = (this.partial.get(log.vertex) ?? '') + log.message.toString('utf8');
      const lines = text.split('\n');
      this.partial.set(log.vertex, lines.pop() ?? '');
      for (const line of lines) this.onLine(`#${n} ${line.replace(/\r$/, '')}`);
    }
    for (const w of response.warnings) this.onLine(`#${this.number(w.vertex)} WARN: ${w.short}`);
  }

  /** Output a vertex printed without a final newline. */
  end(): void {
    for (const digest of this.partial.keys()) this.flush(digest);
  }

  private flush(digest: string): void {
    const rest = this.partial.get(digest);
    if (rest) this.onLine(`#${this.number(digest)} ${rest}`);
    this.partial.delete(digest);
  }

  private number(digest: string): number {
    let n = this.numbers.get(digest);
    if (n === undefined) {
      n = this.numbers.size + 1;
      this.numbers.set(digest, n);
    }
    return n;
  }
}
