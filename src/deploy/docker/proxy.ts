// The reverse proxy in front of an environment's replicas: HTTP/1.1 with keep-alive on both sides,
// streaming bodies, WebSocket (any Upgrade) passthrough, X-Forwarded-* headers. It balances only
// over upstreams put in rotation (replicas that passed their health check); an upstream leaves the
// rotation before its replica stops and its in-flight requests drain first (kamal-proxy's order).
// An idempotent request whose upstream connection failed before an answer is retried on another
// replica, so a replica dying does not fail a request.
import { EventEmitter, once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';

/** kamal-proxy's drain default. */
export const DEFAULT_DRAIN_MS = 10_000;
const MAX_ATTEMPTS = 4;
const RETRY_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'DELETE', 'PUT', 'TRACE']);
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authenticate', 'proxy-authorization']);

interface Upstream {
  id: string;
  port: number;
  agent: http.Agent;
  inflight: number;
  tunnels: Set<Duplex>;
  idle: EventEmitter;
}

export interface ProxyOptions {
  host: string;
  /** how long a request waits for an upstream when none is in rotation (an agent restart, a first deploy) */
  waitForUpstreamMs?: number;
}

export class Proxy {
  private readonly server: http.Server;
  private readonly rotation: Upstream[] = [];
  private readonly retired = new Set<Upstream>();
  private readonly changes = new EventEmitter();
  private next = 0;
  private boundPort = 0;

  constructor(private readonly options: ProxyOptions) {
    this.changes.setMaxListeners(0);
    this.server = http.createServer({ keepAlive: true }, (req, res) => this.forward(req, res));
    this.server.keepAliveTimeout = 30_000;
    this.server.headersTimeout = 35_000;
    this.server.requestTimeout = 0;
    this.server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void this.tunnel(req, socket, head));
    this.server.on('clientError', (_err, socket) => socket.destroy());
  }

  get port(): number {
    return this.boundPort;
  }

  /** Requests (and tunnels) in flight to the upstreams in rotation: what the autoscaler measures. */
  get inflight(): number {
    return this.rotation.reduce((sum, u) => sum + u.inflight + u.tunnels.size, 0);
  }

  /** Upstream ids in rotation. */
  get upstreams(): string[] {
    return this.rotation.map((u) => u.id);
  }

  async listen(port: number): Promise<number> {
    this.server.listen(port, this.options.host);
    await once(this.server, 'listening');
    const address = this.server.address();
    this.boundPort = typeof address === 'object' && address ? address.port : port;
    return this.boundPort;
  }

  /** Puts an upstream in rotation; a no-op when it already is. */
  add(id: string, port: number): void {
    if (this.rotation.some((u) => u.id === id)) return;
    const idle = new EventEmitter();
    idle.setMaxListeners(0);
    this.rotation.push({ id, port, agent: new http.Agent({ keepAlive: true }), inflight: 0, tunnels: new Set(), idle });
    this.changes.emit('added');
  }

  /**
   * Takes an upstream out of rotation, then waits until its in-flight requests and tunnels end or
   * `timeoutMs` passes; what is still open then is cut. Resolves with whether it drained in time.
   */
  async drain(id: string, timeoutMs = DEFAULT_DRAIN_MS): Promise<boolean> {
    const index = this.rotation.findIndex((u) => u.id === id);
    if (index === -1) return true;
    const [upstream] = this.rotation.splice(index, 1);
    if (!upstream) return true;
    this.retired.add(upstream);
    let drained = true;
    if (upstream.inflight > 0 || upstream.tunnels.size > 0) {
      const timer = setTimeout(() => upstream.idle.emit('timeout'), timeoutMs);
      drained = await new Promise<boolean>((resolve) => {
        upstream.idle.once('idle', () => resolve(true));
        upstream.idle.once('timeout', () => resolve(false));
      });
      clearTimeout(timer);
    }
    for (const socket of upstream.tunnels) socket.destroy();
    upstream.agent.destroy();
    this.retired.delete(upstream);
    return drained;
  }

  /** Stops listening and cuts every connection (agent shutdown). */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    for (const upstream of [...this.rotation, ...this.retired]) {
      for (const socket of upstream.tunnels) socket.destroy();
      upstream.agent.destroy();
    }
    this.rotation.length = 0;
    this.changes.emit('added');
    await closed;
  }

  private async pick(exclude: Set<string>): Promise<Upstream | undefined> {
    const deadline = Date.now() + (this.options.waitForUpstreamMs ?? 5000);
    for (;;) {
      if (this.rotation.length > 0) {
        const fresh = this.rotation.filter((u) => !exclude.has(u.id));
        const pool = fresh.length > 0 ? fresh : this.rotation;
        this.next = (this.next + 1) % pool.length;
        return pool[this.next];
      }
      const left = deadline - Date.now();
      if (left <= 0 || !this.server.listening) return undefined;
      // No upstream in rotation: hold the request briefly rather than fail it (kamal-proxy pauses too).
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.changes.once('added', done);
      });
    }
  }

  private finish(upstream: Upstream): void {
    upstream.inflight -= 1;
    if (upstream.inflight === 0 && upstream.tunnels.size === 0) upstream.idle.emit('idle');
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse): void {
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    const retriable = !hasBody && RETRY_METHODS.has(req.method ?? 'GET');
    const headers = forwardedHeaders(req);
    const tried = new Set<string>();
    let clientGone = false;
    res.on('close', () => {
      clientGone = true;
    });

    const attempt = async (n: number): Promise<void> => {
      const upstream = await this.pick(tried);
      if (clientGone) return;
      if (!upstream) {
        res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '1' });
        res.end('slipway: no healthy replica is serving this environment\n');
        return;
      }
      tried.add(upstream.id);
      upstream.inflight += 1;
      let finished = false;
      const done = (): void => {
        if (finished) return;
        finished = true;
        this.finish(upstream);
      };
      let answered = false;
      const upstreamReq = http.request({ host: '127.0.0.1', port: upstream.port, method: req.method, path: req.url, headers, agent: upstream.agent });
      upstreamReq.on('response', (upstreamRes) => {
        answered = true;
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, responseHeaders(upstreamRes.rawHeaders));
        upstreamRes.pipe(res);
        upstreamRes.on('error', () => res.destroy());
        res.on('close', () => {
          if (!upstreamRes.complete) upstreamReq.destroy();
          done();
        });
      });
      upstreamReq.on('error', (err: NodeJS.ErrnoException) => {
        if (answered) {
          res.destroy();
          done();
          return;
        }
        done();
        // Nothing came back: the connection was refused or reset before an answer. Safe to send
        // again only when the request has no body and is idempotent (or was never connected).
        const neverConnected = err.code === 'ECONNREFUSED';
        if ((retriable || (neverConnected && !hasBody)) && n + 1 < MAX_ATTEMPTS && !clientGone) {
          void attempt(n + 1);
          return;
        }
        if (!res.headersSent) {
          res.writeHead(502, { 'content-type': 'text/plain' });
          res.end(`slipway: the replica did not answer (${err.code ?? err.message})\n`);
        } else {
          res.destroy();
        }
      });
      res.on('close', () => {
        if (!answered) upstreamReq.destroy();
      });
      if (hasBody) req.pipe(upstreamReq);
      else upstreamReq.end();
    };
    void attempt(0);
  }

  /** Upgrade requests (WebSocket): a raw byte tunnel after the request head is replayed. */
  private async tunnel(req: http.IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
    const upstream = await this.pick(new Set());
    if (!upstream || client.destroyed) {
      client.end('HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    const server = net.connect(upstream.port, '127.0.0.1');
    upstream.tunnels.add(client);
    const close = (): void => {
      if (!upstream.tunnels.delete(client)) return;
      client.destroy();
      server.destroy();
      if (upstream.inflight === 0 && upstream.tunnels.size === 0) upstream.idle.emit('idle');
    };
    client.on('error', close);
    client.on('close', close);
    server.on('error', close);
    server.on('close', close);
    server.on('connect', () => {
      const lines = [`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1`];
      const headers = forwardedHeaders(req, true);
      for (const [name, value] of Object.entries(headers)) {
        for (const v of Array.isArray(value) ? value : [value]) if (v !== undefined) lines.push(`${name}: ${v}`);
      }
      server.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) server.write(head);
      server.pipe(client);
      client.pipe(server);
    });
  }
}

function forwardedHeaders(req: http.IncomingMessage, keepUpgrade = false): http.OutgoingHttpHeaders {
  const headers: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    if (HOP_BY_HOP.has(name) && !(keepUpgrade && (name === 'upgrade' || name === 'connection'))) continue;
    headers[name] = value;
  }
  const remote = req.socket.remoteAddress ?? '';
  const prior = req.headers['x-forwarded-for'];
  headers['x-forwarded-for'] = prior ? `${String(prior)}, ${remote}` : remote;
  headers['x-forwarded-proto'] ??= 'http';
  if (req.headers.host) headers['x-forwarded-host'] ??= req.headers.host;
  if (req.headers['transfer-encoding']) headers['transfer-encoding'] = 'chunked';
  return headers;
}

function responseHeaders(raw: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] ?? '';
    if (HOP_BY_HOP.has(name.toLowerCase())) continue;
    out.push(name, raw[i + 1] ?? '');
  }
  return out;
}
