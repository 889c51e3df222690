// What the data plane's tests share: tiny upstream servers, requests with a Host header of the
// test's choosing (fetch cannot set one), and self-signed certificates made with openssl.
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface TestUpstream {
  server: http.Server;
  port: number;
  close(): void;
}

/** An upstream answering `{name, url, headers}` as JSON (or with `handler`), echoing Upgrade tunnels. */
export async function upstream(name: string, handler?: http.RequestListener): Promise<TestUpstream> {
  const server = http.createServer(
    handler ??
      ((req, res) => {
        res.setHeader('x-upstream', name);
        res.end(JSON.stringify({ name, url: req.url, headers: req.headers }));
      }),
  );
  server.on('upgrade', (_req, socket) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: echo\r\nconnection: upgrade\r\n\r\n');
    socket.pipe(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    server,
    port: (server.address() as net.AddressInfo).port,
    close() {
      server.closeAllConnections();
      server.close();
    },
  };
}

export interface HoldingUpstream extends TestUpstream {
  /** resolves once a request reached the upstream (not merely left the proxy) */
  arrived: Promise<void>;
  /** ends every held answer with `tail` */
  release(tail?: string): void;
}

/** An upstream that answers 200 and `opening` at once, then holds every answer until released. */
export async function holdingUpstream(name: string, opening = ''): Promise<HoldingUpstream> {
  const held: http.ServerResponse[] = [];
  let signal: () => void = () => undefined;
  const arrived = new Promise<void>((resolve) => (signal = resolve));
  const u = await upstream(name, (_req, res) => {
    res.writeHead(200);
    if (opening) res.write(opening);
    held.push(res);
    signal();
  });
  return { ...u, arrived, release: (tail = '') => held.splice(0).forEach((res) => res.end(tail)) };
}

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** the client-side port of the connection the answer came on (same port: same connection) */
  localPort: number | undefined;
}

export interface RequestOptions {
  port: number;
  path?: string;
  method?: string;
  host?: string;
  headers?: http.OutgoingHttpHeaders;
  body?: string | Buffer;
  agent?: http.Agent | https.Agent | false;
  /** HTTPS with these TLS settings */
  tls?: { servername?: string; ca?: string; rejectUnauthorized?: boolean };
}

export function request(options: RequestOptions): Promise<Answer & { peerCN?: string }> {
  return new Promise((resolve, reject) => {
    const headers = { ...(options.host !== undefined ? { host: options.host } : {}), ...options.headers };
    const common = { host: '127.0.0.1', port: options.port, path: options.path ?? '/', method: options.method ?? 'GET', headers, agent: options.agent ?? false };
    const onResponse = (res: http.IncomingMessage): void => {
      const chunks: Buffer[] = [];
      const socket = res.socket as (net.Socket & { getPeerCertificate?: () => { subject?: { CN?: string } } }) | null;
      const peerCN = socket?.getPeerCertificate?.().subject?.CN;
      const localPort = socket?.localPort;
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), localPort, ...(peerCN ? { peerCN } : {}) }));
      res.on('error', reject);
    };
    const req = options.tls ? https.request({ ...common, ...options.tls }, onResponse) : http.request(common, onResponse);
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A port nothing listens on (bound, then released). */
export async function freePort(): Promise<number> {
  const server = http.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A self-signed certificate for `names` (the first is the CN), as PEM strings. */
export function makeCertificate(...names: string[]): { cert: string; key: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-cert-'));
  try {
    const [cn] = names;
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${cn ?? 'localhost'}`, '-addext', `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`, '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')],
      { stdio: 'ignore' },
    );
    return { cert: readFileSync(path.join(dir, 'cert.pem'), 'utf8'), key: readFileSync(path.join(dir, 'key.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
