// Upload sessions: a blob arrives in one or more requests, streams to a file under uploads/ while
// it is hashed, and becomes visible only after its size and digest are verified and it is renamed
// into the content store. Memory per upload request is bounded: a few slabs of 1 MiB.
import { createHash, randomUUID, type Hash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import type { Readable } from 'node:stream';
import { RegistryError } from './errors.js';
import type { Digest } from './names.js';
import { isNotFound, type Storage } from './storage.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface UploadInfo {
  repository: string;
  startedAt: string;
}

export interface UploadSession {
  readonly uuid: string;
  readonly repository: string;
  /** Bytes received so far (the next chunk must start here). */
  sizeBytes: number;
  /** sha256 of the bytes received so far, kept running between chunks. */
  hash: Hash;
  /** A request is writing to it: a second one at the same time would interleave bytes. */
  busy: boolean;
  lastActivityMs: number;
}

export interface ChunkRange {
  start: number;
  end: number;
}

export interface UploadOptions {
  /** fsync the blob before it becomes visible (as distribution's filesystem driver does). */
  fsync: boolean;
}

export class Uploads {
  private readonly sessions = new Map<string, UploadSession>();

  constructor(
    private readonly storage: Storage,
    private readonly options: UploadOptions,
  ) {}

  async start(repository: string): Promise<UploadSession> {
    const uuid = randomUUID();
    const paths = this.storage.paths;
    await fs.mkdir(paths.upload(uuid), { recursive: true });
    const info: UploadInfo = { repository, startedAt: new Date().toISOString() };
    await fs.writeFile(paths.uploadInfo(uuid), JSON.stringify(info));
    await fs.writeFile(paths.uploadData(uuid), '');
    const session: UploadSession = {
      uuid,
      repository,
      sizeBytes: 0,
      hash: createHash('sha256'),
      busy: false,
      lastActivityMs: Date.now(),
    };
    this.sessions.set(uuid, session);
    return session;
  }

  /**
   * The session of an upload in this repository. After a restart the running hash is gone, so it
   * is rebuilt from the bytes on disk: clients can resume uploads across a registry restart.
   */
  async get(repository: string, uuid: string): Promise<UploadSession> {
    const unknown = new RegistryError('BLOB_UPLOAD_UNKNOWN', { uuid });
    if (!UUID_RE.test(uuid)) throw unknown;
    const known = this.sessions.get(uuid);
    if (known) {
      if (known.repository !== repository) throw unknown;
      return known;
    }
    let info: UploadInfo;
    try {
      info = JSON.parse(await fs.readFile(this.storage.paths.uploadInfo(uuid), 'utf8')) as UploadInfo;
    } catch (err) {
      if (isNotFound(err) || err instanceof SyntaxError) throw unknown;
      throw err;
    }
    if (info.repository !== repository) throw unknown;
    const hash = createHash('sha256');
    let sizeBytes = 0;
    for await (const chunk of createReadStream(this.storage.paths.uploadData(uuid), { highWaterMark: 1 << 20 })) {
      hash.update(chunk as Buffer);
      sizeBytes += (chunk as Buffer).length;
    }
    const again = this.sessions.get(uuid);
    if (again) return again;
    const session: UploadSession = { uuid, repository, sizeBytes, hash, busy: false, lastActivityMs: Date.now() };
    this.sessions.set(uuid, session);
    return session;
  }

  /**
   * Appends a request body. A chunk with a Content-Range must start where the upload stands
   * (else 416, as the spec asks); if the body breaks off or does not match its declared length,
   * the file and the running hash are put back as they were, so the client can retry the chunk.
   */
  async append(session: UploadSession, body: Readable, range: ChunkRange | undefined, contentLength: number | undefined): Promise<void> {
    if (session.busy) {
      throw new RegistryError('BLOB_UPLOAD_INVALID', 'another request is writing to this upload', 416, rangeHeaders(session));
    }
    if (range && range.start !== session.sizeBytes) {
      throw new RegistryError(
        'BLOB_UPLOAD_INVALID',
        { reason: 'chunk out of order', expectedStart: session.sizeBytes, start: range.start },
        416,
        rangeHeaders(session),
      );
    }
    if (range && contentLength !== undefined && range.end - range.start + 1 !== contentLength) {
      throw new RegistryError('SIZE_INVALID', { reason: 'Content-Range and Content-Length disagree', range, contentLength });
    }
    session.busy = true;
    const before = { sizeBytes: session.sizeBytes, hash: session.hash.copy() };
    try {
      const written = await streamInto(body, this.storage.paths.uploadData(session.uuid), session.sizeBytes, session.hash);
      session.sizeBytes += written;
      const expected = range ? range.end - range.start + 1 : contentLength;
      if (expected !== undefined && written !== expected) {
        throw new RegistryError('SIZE_INVALID', { reason: 'body length does not match the declared length', expected, received: written });
      }
    } catch (err) {
      session.sizeBytes = before.sizeBytes;
      session.hash = before.hash;
      await fs.truncate(this.storage.paths.uploadData(session.uuid), before.sizeBytes).catch(() => undefined);
      throw err;
    } finally {
      session.busy = false;
      session.lastActivityMs = Date.now();
    }
  }

  /**
   * Verifies the upload against the digest the client names and moves it into the store.
   * On a mismatch the upload is discarded: nothing half-checked stays around.
   */
  async complete(session: UploadSession, digest: Digest): Promise<number> {
    if (session.busy) throw new RegistryError('BLOB_UPLOAD_INVALID', 'another request is writing to this upload', 416);
    session.busy = true;
    const dataPath = this.storage.paths.uploadData(session.uuid);
    try {
      const actual =
        digest.algorithm === 'sha256' ? session.hash.digest('hex') : await hashFile(dataPath, digest.algorithm);
      if (actual !== digest.hex) {
        await this.cancel(session);
        throw new RegistryError('DIGEST_INVALID', { expected: digest.text, actual: `${digest.algorithm}:${actual}` });
      }
      if (this.options.fsync) {
        const handle = await fs.open(dataPath, 'r+');
        try {
          await handle.sync();
        } finally {
          await handle.close();
        }
      }
      await this.storage.commitBlob(dataPath, digest);
      await this.storage.linkLayer(session.repository, digest);
      this.sessions.delete(session.uuid);
      await fs.rm(this.storage.paths.upload(session.uuid), { recursive: true, force: true });
      return session.sizeBytes;
    } finally {
      session.busy = false;
    }
  }

  async cancel(session: UploadSession): Promise<void> {
    this.sessions.delete(session.uuid);
    await fs.rm(this.storage.paths.upload(session.uuid), { recursive: true, force: true });
  }

  /** Removes uploads idle for longer than `maxIdleMs` (clients that went away); returns how many. */
  async purgeStale(maxIdleMs: number, dryRun = false): Promise<number> {
    const root = this.storage.paths.uploadsRoot();
    let entries: string[];
    try {
      entries = await fs.readdir(root);
    } catch (err) {
      if (isNotFound(err)) return 0;
      throw err;
    }
    const now = Date.now();
    let purged = 0;
    for (const uuid of entries) {
      const live = this.sessions.get(uuid);
      if (live && (live.busy || now - live.lastActivityMs < maxIdleMs)) continue;
      let mtimeMs = 0;
      try {
        mtimeMs = (await fs.stat(this.storage.paths.uploadData(uuid))).mtimeMs;
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      if (now - mtimeMs < maxIdleMs) continue;
      purged++;
      if (dryRun) continue;
      this.sessions.delete(uuid);
      await fs.rm(this.storage.paths.upload(uuid), { recursive: true, force: true });
    }
    return purged;
  }
}

export function rangeHeaders(session: UploadSession): Record<string, string> {
  return {
    Location: uploadLocation(session),
    Range: `0-${Math.max(session.sizeBytes - 1, 0)}`,
    'Docker-Upload-UUID': session.uuid,
  };
}

export function uploadLocation(session: UploadSession): string {
  return `/v2/${session.repository}/blobs/uploads/${session.uuid}`;
}

/** Incoming socket chunks are gathered into slabs this big before they are hashed and written. */
const SLAB_BYTES = 1024 * 1024;
/** Slabs per request: one filling while the others are being written. */
const SLABS = 4;

/**
 * Streams `body` to the file at `offset`, hashing as it goes; returns bytes written. Clients send
 * small pieces (docker's push arrives in chunks of a few KiB): a write, and a hash call, per piece
 * costs far more CPU than copying the pieces into a slab and writing a MiB at a time.
 */
async function streamInto(body: Readable, file: string, offset: number, hash: Hash): Promise<number> {
  const handle = await fs.open(file, 'r+');
  const free: Buffer[] = [];
  const writing = new Set<Promise<void>>();
  let failure: unknown;
  let slab: Buffer = Buffer.allocUnsafeSlow(SLAB_BYTES);
  let allocated = 1;
  let fill = 0;
  let position = offset;

  const nextSlab = async (): Promise<Buffer> => {
    if (free.length > 0) return free.pop()!;
    if (allocated < SLABS) {
      allocated++;
      return Buffer.allocUnsafeSlow(SLAB_BYTES);
    }
    while (free.length === 0 && failure === undefined) await Promise.race(writing);
    if (failure !== undefined) throw failure;
    return free.pop()!;
  };
  const flush = async (): Promise<void> => {
    if (fill === 0) return;
    const filled = slab;
    const full = filled.subarray(0, fill);
    hash.update(full);
    const write = writeAll(handle, full, position).then(
      () => void free.push(filled),
      (err: unknown) => void (failure ??= err),
    );
    writing.add(write);
    void write.finally(() => writing.delete(write));
    position += fill;
    fill = 0;
    slab = await nextSlab();
  };

  try {
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        let from = 0;
        while (from < chunk.length) {
          const n = Math.min(chunk.length - from, SLAB_BYTES - fill);
          chunk.copy(slab, fill, from, from + n);
          fill += n;
          from += n;
          if (fill === SLAB_BYTES) await flush();
        }
      }
    } catch (err) {
      if (failure === undefined) throw new RegistryError('BLOB_UPLOAD_INVALID', 'the request body broke off');
      throw err;
    }
    // an HTTP body whose connection closed early ends without being complete
    if ((body as Readable & { complete?: boolean }).complete === false) throw new RegistryError('BLOB_UPLOAD_INVALID', 'the request body broke off');
    await flush();
    await Promise.all(writing);
    if (failure !== undefined) throw failure;
    return position - offset;
  } finally {
    await Promise.allSettled(writing);
    await handle.close();
  }
}

async function writeAll(handle: fs.FileHandle, data: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}

async function hashFile(file: string, algorithm: string): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
