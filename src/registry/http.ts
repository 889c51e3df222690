// The HTTP plumbing of the registry's routes: JSON and empty answers with the API version header,
// blob bodies sent from a file, and the request headers (lengths, ranges) and bounded bodies it reads.
import { promises as fs } from 'node:fs';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { HttpError, readBody as readBoundedBody, sendJson as writeJson } from '../http/index.js';
import { RegistryError } from './errors.js';
import type { ChunkRange } from './uploads.js';

/** Blob reads in large pieces: fewer syscalls and socket writes per byte served. */
const READ_CHUNK_BYTES = 1024 * 1024;
/** The first piece of a blob response: small, so the client's receive window can grow (see sendFileRange). */
const FIRST_PIECE_BYTES = 16 * 1024;
export const API_VERSION = { 'Docker-Distribution-API-Version': 'registry/2.0' };

/**
 * Sends bytes [start, end] of a file with two reused buffers: one is read while the other is
 * being written to the socket. A read stream would allocate fresh memory for every chunk, and
 * for half-gigabyte layers the page faults of that memory cost more CPU than the copying.
 *
 * The first pieces are small and double up to READ_CHUNK_BYTES. A first write of a whole
 * megabyte fills the client's initial receive window (128 KiB on Linux) at once, and Linux's
 * receive autotuning then grows that window late or not at all: skopeo's window stayed at its
 * initial size for the first 20–40 MB of every layer, the kernel cut segments to half of it, and
 * skopeo spent ~8% more CPU per pull than against a server that starts gently.
 */
export async function sendFileRange(file: string, res: ServerResponse, start: number, end: number): Promise<void> {
  const handle = await fs.open(file, 'r');
  try {
    const bufferBytes = Math.min(READ_CHUNK_BYTES, end - start + 1);
    const buffers = [Buffer.allocUnsafeSlow(bufferBytes), Buffer.allocUnsafeSlow(bufferBytes)];
    const flushed: Array<Promise<void>> = [Promise.resolve(), Promise.resolve()];
    const closed = new Promise<void>((resolve) => res.once('close', resolve));
    let position = start;
    let slot = 0;
    let pieceBytes = FIRST_PIECE_BYTES;
    while (position <= end) {
      await Promise.race([flushed[slot], closed]); // the socket is done with this buffer (or gone)
      if (res.destroyed) throw Object.assign(new Error('client went away'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
      const buffer = buffers[slot] as Buffer;
      const { bytesRead } = await handle.read(buffer, 0, Math.min(pieceBytes, end - position + 1), position);
      if (bytesRead === 0) throw new Error(`${file} ended before byte ${end}`);
      flushed[slot] = new Promise((resolve) => {
        // an error here means the socket is gone: the next turn sees res.destroyed
        res.write(buffer.subarray(0, bytesRead), () => resolve());
      });
      position += bytesRead;
      slot ^= 1;
      pieceBytes = Math.min(pieceBytes * 2, READ_CHUNK_BYTES);
    }
    await Promise.race([Promise.all(flushed), closed]);
    res.end();
  } finally {
    await handle.close();
  }
}

export function isClientGone(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET' || code === 'EPIPE';
}

/** A JSON answer with the registry's API version header. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: OutgoingHttpHeaders = {}): void {
  writeJson(res, status, body, { ...API_VERSION, ...headers });
}

export function sendEmpty(res: ServerResponse, status: number, headers: OutgoingHttpHeaders): void {
  res.writeHead(status, { ...API_VERSION, ...headers, 'Content-Length': 0 });
  res.end();
}

export function headerString(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

export function contentLength(req: IncomingMessage): number | undefined {
  const v = req.headers['content-length'];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new RegistryError('SIZE_INVALID', { contentLength: v });
  return n;
}

export function hasBody(req: IncomingMessage): boolean {
  const length = contentLength(req);
  return (length !== undefined && length > 0) || req.headers['transfer-encoding'] !== undefined;
}

/** A chunk's Content-Range (`<start>-<end>`, inclusive); malformed ones are refused with 416. */
export function parseContentRange(req: IncomingMessage, currentSize: number): ChunkRange | undefined {
  const v = headerString(req.headers['content-range']);
  if (v === undefined) return undefined;
  const m = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(v.trim());
  if (!m) {
    throw new RegistryError('BLOB_UPLOAD_INVALID', { reason: 'malformed Content-Range', contentRange: v }, 416, {
      Range: `0-${Math.max(currentSize - 1, 0)}`,
    });
  }
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (end < start) throw new RegistryError('BLOB_UPLOAD_INVALID', { reason: 'Content-Range end before start', contentRange: v }, 416);
  return { start, end };
}

/** `Range: bytes=a-b` (one range; suffix and open-ended forms too) against a blob of `size`. */
export function parseByteRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined; // ignore what we do not understand (RFC 9110)
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(size - suffix, 0);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

export function paginate(sorted: string[], query: URLSearchParams): { items: string[]; next?: string; n: number } {
  const last = query.get('last');
  const nParam = query.get('n');
  let items = last !== null ? sorted.filter((x) => x > last) : sorted;
  if (nParam === null) return { items, n: items.length };
  const n = Number(nParam);
  if (!Number.isSafeInteger(n) || n < 0) throw new RegistryError('UNSUPPORTED', { reason: 'n must be a non-negative integer', n: nParam }, 400);
  const more = items.length > n;
  items = items.slice(0, n);
  const tail = items[items.length - 1];
  return more && tail !== undefined ? { items, next: tail, n } : { items, n };
}

/** A body of at most `maxBytes` (a manifest); past it, OCI's SIZE_INVALID with a 413. */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  contentLength(req); // a malformed length is SIZE_INVALID before anything is read
  try {
    return await readBoundedBody(req, maxBytes);
  } catch (err) {
    if (err instanceof HttpError && err.status === 413) throw new RegistryError('SIZE_INVALID', { reason: 'manifest too large', limitBytes: maxBytes }, 413);
    throw err;
  }
}
