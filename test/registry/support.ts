// Shared set-up of the registry tests: a registry on an ephemeral loopback port over a fresh
// data directory, known tokens, and small HTTP helpers that speak Basic auth.
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createRegistry, staticTokens, type Registry } from '../../src/registry/index.js';

export const ADMIN = 'admin-secret-token';
export const READER = 'reader-secret-token';
export const PUSHER = 'pusher-secret-token';

export interface TestRegistry {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `127.0.0.1:PORT`, as image references spell it. */
  host: string;
  dataDir: string;
  registry: Registry;
  close(): Promise<void>;
}

export async function startRegistry(): Promise<TestRegistry> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'slipway-registry-test-'));
  const registry = createRegistry({
    dataDir,
    auth: {
      verifier: staticTokens([
        { secret: ADMIN, scopes: ['admin'] },
        { secret: READER, scopes: ['read'] },
        { secret: PUSHER, scopes: ['repository:team/*:pull,push'] },
      ]),
    },
    fsync: false,
  });
  const server = http.createServer({ requestTimeout: 0 }, (req, res) => {
    if (!registry.handle(req, res)) {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('no address');
  const host = `127.0.0.1:${address.port}`;
  return {
    url: `http://${host}`,
    host,
    dataDir,
    registry,
    async close() {
      registry.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export function basic(secret: string, user = 'tester'): string {
  return `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;
}

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** fetch with the admin token unless `headers.authorization` says otherwise. */
export async function call(reg: TestRegistry, method: string, urlPath: string, init: { body?: Buffer | string; headers?: Record<string, string> } = {}): Promise<Response> {
  const headers: Record<string, string> = { authorization: basic(ADMIN), ...init.headers };
  if (headers.authorization === '') delete headers.authorization;
  const body = typeof init.body === 'string' || init.body === undefined ? init.body : new Uint8Array(init.body);
  return fetch(`${reg.url}${urlPath}`, { method, headers, body, redirect: 'manual' });
}

export async function errorCode(res: Response): Promise<string | undefined> {
  const body = (await res.json()) as { errors?: Array<{ code: string }> };
  return body.errors?.[0]?.code;
}

/** Pushes a blob monolithically (POST ?digest=) and returns its descriptor. */
export async function pushBlob(reg: TestRegistry, name: string, data: Buffer | string, mediaType = 'application/octet-stream', secret = ADMIN): Promise<{ mediaType: string; digest: string; size: number }> {
  const buf = Buffer.from(data);
  const digest = sha256(buf);
  const res = await call(reg, 'POST', `/v2/${name}/blobs/uploads/?digest=${digest}`, {
    body: buf,
    headers: { 'content-type': 'application/octet-stream', authorization: basic(secret) },
  });
  if (res.status !== 201) throw new Error(`push blob: ${res.status} ${await res.text()}`);
  return { mediaType, digest, size: buf.length };
}

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

/** Pushes a small OCI image (config + one layer) and returns its manifest digest and bytes. */
export async function pushImage(reg: TestRegistry, name: string, tag: string, extra: Record<string, unknown> = {}, seed = tag): Promise<{ digest: string; bytes: Buffer; size: number }> {
  const config = await pushBlob(reg, name, JSON.stringify({ architecture: 'amd64', os: 'linux', seed }), 'application/vnd.oci.image.config.v1+json');
  const layer = await pushBlob(reg, name, `layer of ${name}:${tag}:${seed}`, 'application/vnd.oci.image.layer.v1.tar');
  const manifest = { schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer], ...extra };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const res = await call(reg, 'PUT', `/v2/${name}/manifests/${tag}`, { body: bytes, headers: { 'content-type': OCI_MANIFEST } });
  if (res.status !== 201) throw new Error(`push manifest: ${res.status} ${await res.text()}`);
  return { digest: sha256(bytes), bytes, size: bytes.length };
}

/** A request whose path goes out exactly as written (fetch would normalise `..` away). */
export async function rawRequest(reg: TestRegistry, method: string, rawPath: string, authorization = basic(ADMIN)): Promise<{ status: number; body: string }> {
  const url = new URL(reg.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path: rawPath, method, headers: { authorization } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
