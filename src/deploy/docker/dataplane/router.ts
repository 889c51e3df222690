// The data plane's listeners: a plain one sends every request on its port to one pool; the front
// (one HTTP and optionally one HTTPS listener per machine) routes by Host header to pools, as
// kamal-proxy does, terminates TLS with the certificate SNI asks for, and redirects plain HTTP to
// HTTPS for routes with TLS (except ACME HTTP-01 challenges, which must stay reachable over HTTP).
import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Arrival, Pool } from './pool.js';
import { CertificateSet } from './certificates.js';
import { RouteTable, hostOf, type Route } from './hosts.js';

export type ListenerKind = 'plain' | 'http' | 'https';

/** Thrown when a port cannot be bound; names the address and port. */
export class BindError extends Error {
  constructor(
    readonly address: string,
    readonly port: number,
    readonly reason: string,
  ) {
    super(`cannot listen on ${address}:${port}: ${reason}`);
  }
}

/** One bound server socket; subclasses say what a request on it goes to. */
export abstract class Listener {
  private boundPort = 0;
  private closing: Promise<void> | undefined;

  constructor(
    readonly kind: ListenerKind,
    readonly address: string,
    /** the port asked for; 0 = ephemeral, chosen at the first bind */
    readonly requestedPort: number,
    protected readonly server: http.Server | https.Server,
  ) {}

  get port(): number {
    return this.boundPort;
  }

  get listening(): boolean {
    return this.server.listening;
  }

  /** Binds `port` (by default the one asked for); rejects with a BindError. */
  async listen(port = this.requestedPort): Promise<number> {
    const failed = once(this.server, 'error') as Promise<[NodeJS.ErrnoException]>;
    this.server.listen(port, this.address);
    const outcome = await Promise.race([once(this.server, 'listening').then(() => undefined), failed.then(([err]) => err)]);
    if (outcome) throw new BindError(this.address, port, outcome.code === 'EADDRINUSE' ? 'the port is in use' : outcome.message);
    this.boundPort = (this.server.address() as net.AddressInfo).port;
    return this.boundPort;
  }

  /**
   * Stops accepting at once; requests in flight get up to `graceMs` to finish, then every
   * connection is cut. Idle keep-alive connections are closed as they become idle.
   */
  close(graceMs = 0): Promise<void> {
    this.closing ??= this.shutDown(graceMs);
    return this.closing;
  }

  private async shutDown(graceMs: number): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const deadline = Date.now() + graceMs;
    let done = false;
    void closed.then(() => (done = true));
    while (!done && Date.now() < deadline) {
      this.server.closeIdleConnections();
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 50))]);
    }
    this.server.closeAllConnections();
    await closed;
  }
}

/** Every request on address:port goes to one pool, looked up per request so it can be switched. */
export class PlainListener extends Listener {
  private readonly target: { pool: string };

  constructor(address: string, port: number, pool: string, resolve: (pool: string) => Pool) {
    const target = { pool };
    const server = http.createServer({ keepAlive: true }, (req, res) => resolve(target.pool).forward(req, res, ARRIVAL));
    super('plain', address, port, server);
    this.target = target;
    // Timeouts as the agent's in-process proxy had them: long uploads are not cut.
    server.keepAliveTimeout = 30_000;
    server.headersTimeout = 35_000;
    server.requestTimeout = 0;
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void resolve(target.pool).tunnel(req, socket, head, ARRIVAL));
    server.on('clientError', (_err, socket: Duplex) => socket.destroy());
  }

  get pool(): string {
    return this.target.pool;
  }

  set pool(name: string) {
    this.target.pool = name;
  }
}

const ARRIVAL: Arrival = { tls: false, edge: false };

/** What the front's listeners share: routes, certificates, and the HTTPS port redirects point to. */
export class FrontRouting {
  routes = new RouteTable();
  certificates = new CertificateSet([]);
  /** the bound HTTPS port; 0 while there is no HTTPS listener */
  httpsPort = 0;

  constructor(readonly resolve: (pool: string) => Pool) {}

  update(routes: Route[], certificates: CertificateSet): void {
    this.routes = new RouteTable(routes);
    this.certificates = certificates;
  }
}

export class FrontListener extends Listener {
  constructor(kind: 'http' | 'https', address: string, port: number, front: FrontRouting) {
    const arrival: Arrival = { tls: kind === 'https', edge: true };
    const handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      const decision = decide(front, req, arrival.tls);
      if (decision.kind === 'pool') front.resolve(decision.pool).forward(req, res, arrival);
      else answer(res, decision);
    };
    const server = kind === 'https' ? httpsServer(front, handle) : http.createServer({ keepAlive: true }, handle);
    super(kind, address, port, server);
    server.keepAliveTimeout = 30_000;
    // Headers must arrive promptly (slow-header clients); bodies get node's default request timeout.
    server.headersTimeout = 20_000;
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      const decision = decide(front, req, arrival.tls);
      if (decision.kind === 'pool') void front.resolve(decision.pool).tunnel(req, socket, head, arrival);
      else answerRaw(socket, decision);
    });
  }

  /** After the certificates changed: clients without SNI get the (new) first certificate. */
  refreshCertificates(front: FrontRouting): void {
    const fallback = front.certificates.fallback;
    if (this.kind === 'https' && fallback) (this.server as https.Server).setSecureContext({ cert: fallback.cert, key: fallback.key });
  }
}

function httpsServer(front: FrontRouting, handle: http.RequestListener): https.Server {
  const fallback = front.certificates.fallback;
  return https.createServer(
    {
      ...(fallback ? { cert: fallback.cert, key: fallback.key } : {}),
      minVersion: 'TLSv1.2',
      ALPNProtocols: ['http/1.1'],
      SNICallback: (servername, callback) => callback(null, front.certificates.contextFor(servername)),
    },
    handle,
  );
}

type Decision = { kind: 'pool'; pool: string } | { kind: 'answer'; status: number; text: string; location?: string };

const ACME_CHALLENGE = '/.well-known/acme-challenge/';

/** Where a request on the front goes: a pool, or an answer of our own. */
function decide(front: FrontRouting, req: http.IncomingMessage, tls: boolean): Decision {
  const host = hostOf(req.headers.host);
  if (host === undefined) return { kind: 'answer', status: 400, text: 'slipway: the request has no valid Host header\n' };
  const route = front.routes.match(host);
  // The host passed hostOf, so it holds only name characters: safe in a plain-text body.
  if (!route) return { kind: 'answer', status: 404, text: `slipway: no app is served for host ${host}\n` };
  const path = pathOf(req.url);
  if (route.tls && !tls && front.httpsPort > 0 && !path.startsWith(ACME_CHALLENGE)) {
    const port = front.httpsPort === 443 ? '' : `:${front.httpsPort}`;
    const location = `https://${host}${port}${path}`;
    return { kind: 'answer', status: 308, text: `slipway: ${location}\n`, location };
  }
  return { kind: 'pool', pool: route.pool };
}

/** The path and query of an origin-form or absolute-form request target. */
function pathOf(url: string | undefined): string {
  if (!url) return '/';
  if (url.startsWith('/')) return url;
  try {
    const parsed = new URL(url);
    return `${parsed.pathname}${parsed.search}`;
  } catch {
    return '/';
  }
}

function answer(res: http.ServerResponse, decision: Extract<Decision, { kind: 'answer' }>): void {
  res.writeHead(decision.status, {
    'content-type': 'text/plain; charset=utf-8',
    'x-content-type-options': 'nosniff',
    'content-length': Buffer.byteLength(decision.text),
    ...(decision.location ? { location: decision.location } : {}),
    ...(decision.status === 400 ? { connection: 'close' } : {}),
  });
  res.end(decision.text);
}

function answerRaw(socket: Duplex, decision: Extract<Decision, { kind: 'answer' }>): void {
  const reason = http.STATUS_CODES[decision.status] ?? '';
  const location = decision.location ? `location: ${decision.location}\r\n` : '';
  socket.end(`HTTP/1.1 ${decision.status} ${reason}\r\ncontent-type: text/plain; charset=utf-8\r\n${location}content-length: ${Buffer.byteLength(decision.text)}\r\nconnection: close\r\n\r\n${decision.text}`);
}
