// Helpers of the Kubernetes executor's tests: output captured with the time of each write, tars
// built and read in memory, and a tiny HTTP server the checkout init container fetches from.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable, Writable } from 'node:stream';
import * as tar from 'tar-stream';
import type { ExecOutput, Sandbox, SandboxSpec } from '../../src/executors/index.js';

/** The host's end of the test cluster's pod bridge: pods reach the host there. */
export const POD_BRIDGE_HOST = '10.244.0.1';

export interface Captured {
  stream: Writable;
  text(): string;
  /** when each write arrived */
  writes: { at: number; text: string }[];
}

export function capture(): Captured {
  const writes: { at: number; text: string }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      writes.push({ at: Date.now(), text: chunk.toString('utf8') });
      callback();
    },
  });
  return { stream, writes, text: () => writes.map((w) => w.text).join('') };
}

export interface StepResult {
  code: number;
  stdout: string;
  stderr: string;
  out: Captured;
}

export async function step(sandbox: Sandbox, script: string, env: Record<string, string> = {}, signal = new AbortController().signal): Promise<StepResult> {
  const out = capture();
  const err = capture();
  const output: ExecOutput = { stdout: out.stream, stderr: err.stream };
  const code = await sandbox.exec(script, env, output, signal);
  return { code, stdout: out.text(), stderr: err.text(), out };
}

export function jobSpec(overrides: Partial<SandboxSpec> = {}): SandboxSpec {
  return { runId: `run-${Math.random().toString(16).slice(2, 8)}`, jobName: 'build', attempt: 1, image: 'busybox:1.36', env: {}, services: [], ...overrides };
}

/** A tar of these files (directories are implied by their paths). */
export async function tarOf(files: Record<string, string | Buffer>): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  // read while writing: an entry's callback waits until the pack's buffer has room
  const read = (async () => {
    for await (const chunk of pack as unknown as AsyncIterable<Buffer>) chunks.push(chunk);
  })();
  for (const [name, content] of Object.entries(files)) {
    await new Promise<void>((resolve, reject) => pack.entry({ name, mode: 0o644 }, content, (err) => (err ? reject(err) : resolve())));
  }
  pack.finalize();
  await read;
  return Buffer.concat(chunks);
}

/** The regular files of a tar stream, by name. */
export async function filesOf(stream: NodeJS.ReadableStream): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const extract = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, entry, next) => {
      const chunks: Buffer[] = [];
      entry.on('data', (c: unknown) => chunks.push(c as Buffer));
      entry.on('end', () => {
        if (header.type === 'file') files.set(header.name, Buffer.concat(chunks));
        next();
      });
      entry.resume();
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
    stream.on('error', reject);
  });
  stream.pipe(extract);
  await done;
  return files;
}

export function readableOf(buffer: Buffer): NodeJS.ReadableStream {
  return Readable.from([buffer]);
}

export interface CheckoutServer {
  url: string;
  /** the Authorization headers of the requests so far */
  authorizations: (string | undefined)[];
  close(): Promise<void>;
}

/** Serves `body` at /src.tar to requests with `Authorization: Bearer <token>`; 401 otherwise. */
export async function checkoutServer(token: string, body: Buffer): Promise<CheckoutServer> {
  const authorizations: (string | undefined)[] = [];
  const server: Server = createServer((req, res) => {
    authorizations.push(req.headers.authorization);
    if (req.headers.authorization !== `Bearer ${token}`) {
      res.writeHead(401, { 'content-type': 'text/plain' }).end('bad token\n');
      return;
    }
    if (req.url !== '/src.tar') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/x-tar', 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, POD_BRIDGE_HOST, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${POD_BRIDGE_HOST}:${port}/src.tar`,
    authorizations,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
