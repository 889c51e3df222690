// The data plane's control API: HTTP over a unix socket, for the deploy agent only (the socket sits
// in the agent's 0700 data directory). JSON bodies up to 1 MiB; every field validated; errors are
// `{code, message}`: DATAPLANE_INVALID and DATAPLANE_CERTIFICATE_INVALID (400), REQUEST_TOO_LARGE
// (413), DATAPLANE_PORT_IN_USE (409), DATAPLANE_NOT_FOUND (404), DATAPLANE_ERROR (500).
import http from 'node:http';
import net from 'node:net';
import { chmod, chown, rm } from 'node:fs/promises';
import { HttpError, readJson, sendJson } from '../../../http/index.js';
import { CertificateError } from './certificates.js';
import { ConfigError, parseConfig, parseDrain, parseTimeoutMs, parseUpstream, poolName } from './config.js';
import { BindError } from './router.js';
import type { DataPlane } from './server.js';

export const CONTROL_BODY_LIMIT_BYTES = 1024 * 1024;

export function createControlServer(plane: DataPlane, log: (line: string) => void): http.Server {
  return http.createServer((req, res) => {
    route(plane, req, res).catch((err: unknown) => {
      const { status, code } = classify(err);
      if (status >= 500) log(`control ${req.method ?? ''} ${req.url ?? ''}: ${(err as Error).message}`);
      if (res.headersSent) return void res.destroy();
      // A refused body may be partly unread: the connection is not reused.
      sendJson(res, status, { code, message: (err as Error).message }, status === 413 ? { connection: 'close' } : {});
    });
  });
}

async function route(plane: DataPlane, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://dataplane');
  const parts = url.pathname.split('/').slice(1).map(decodeSegment);
  const method = req.method ?? 'GET';
  if (method === 'GET' && url.pathname === '/ping') return sendJson(res, 200, { pid: process.pid });
  if (method === 'GET' && url.pathname === '/state') return sendJson(res, 200, plane.status());
  if (method === 'PUT' && url.pathname === '/config') {
    const config = parseConfig(await readJson(req, CONTROL_BODY_LIMIT_BYTES));
    const listeners = await plane.configure(config);
    const { front } = plane.status();
    return sendJson(res, 200, { listeners, ...(front ? { front } : {}) });
  }
  if (parts[0] === 'pools' && parts.length >= 2) {
    const pool = poolName(parts[1]);
    // the autoscaler's sample, several a second: one number, not the whole state of every pool
    if (method === 'GET' && parts.length === 3 && parts[2] === 'inflight') return sendJson(res, 200, { inflight: plane.inflight(pool) });
    if (method === 'POST' && parts.length === 3 && parts[2] === 'upstreams') {
      await plane.add(pool, parseUpstream(await readJson(req, CONTROL_BODY_LIMIT_BYTES)));
      return sendJson(res, 200, plane.status().pools[pool]);
    }
    if (method === 'POST' && parts.length === 3 && parts[2] === 'drain') {
      const { id, timeoutMs } = parseDrain(await readJson(req, CONTROL_BODY_LIMIT_BYTES));
      return sendJson(res, 200, { drained: await plane.drain(pool, id, timeoutMs) });
    }
    if (method === 'DELETE' && parts.length === 2) {
      return sendJson(res, 200, { drained: await plane.removePool(pool, parseTimeoutMs(url.searchParams.get('timeoutMs'))) });
    }
  }
  throw new HttpError(404, 'DATAPLANE_NOT_FOUND', `no control route ${method} ${url.pathname}`);
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ConfigError(`the path segment '${segment}' is not valid percent-encoding`);
  }
}

function classify(err: unknown): { status: number; code: string } {
  if (err instanceof HttpError) return err;
  if (err instanceof ConfigError) return { status: 400, code: 'DATAPLANE_INVALID' };
  if (err instanceof CertificateError) return { status: 400, code: 'DATAPLANE_CERTIFICATE_INVALID' };
  if (err instanceof BindError) return { status: 409, code: 'DATAPLANE_PORT_IN_USE' };
  return { status: 500, code: 'DATAPLANE_ERROR' };
}

/**
 * Listens on the unix socket. A socket file nobody answers on is left from a killed data plane and
 * is replaced; one that answers belongs to a running data plane, which is not taken over.
 */
export async function listenControl(server: http.Server, socketPath: string, owner?: { uid: number; gid: number }): Promise<void> {
  if (await answers(socketPath)) throw new Error(`another data plane answers on ${socketPath}`);
  await rm(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Only the agent talks to it; run as root in a container, the socket still belongs to whoever
  // owns the data directory (the agent's user).
  await chmod(socketPath, 0o600);
  if (owner) await chown(socketPath, owner.uid, owner.gid);
}

export function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(socketPath);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
