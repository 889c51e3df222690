// The load balancer of one app environment: which upstreams (replicas) are in rotation, and how a
// request or an Upgrade tunnel reaches one of them. Balancing is round robin over upstreams in
// rotation only; an upstream leaves rotation before its replica stops and its in-flight work
// drains first (kamal-proxy's order). An idempotent body-less request whose upstream connection
// failed before an answer is retried on another upstream, so a replica dying fails no request.
import { EventEmitter } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';

/** kamal-proxy's drain default. */
export const DEFAULT_DRAIN_MS = 10_000;
/** How long a request is held while no upstream is in rotation (an agent restart, a first deploy). */
export const DEFAULT_WAIT_FOR_UPSTREAM_MS = 5000;
const MAX_ATTEMPTS = 4;
const RETRY_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'DELETE', 'PUT', 'TRACE']);
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authenticate', 'proxy-authorization']);

/** A replica as the pool reaches it: `host` is an address (127.0.0.1) or a name on a Docker network. */
export interface Upstream {
  id: string;
  host: string;
  port: number;
}

export interface UpstreamStats extends Upstream {
  inflight: number;
}

export interface PoolStats {
  upstreams: UpstreamStats[];
  /** requests and tunnels in flight to upstreams in rotation now (what the autoscaler measures) */
  inflight: number;
  /** requests and tunnels received since the pool was made */
  requests: number;
}

/** How a request reached the pool, for its X-Forwarded-* headers. */
export interface Arrival {
  /** the client spoke TLS to us: X-Forwarded-Proto is https */
  tls: boolean;
  /**
   * We are the first proxy the client met (the front): X-Forwarded-* the client sent are not
   * trusted and are replaced. Otherwise (a plain listener, maybe behind the user's own proxy)
   * X-Forwarded-For is appended to and -Proto/-Host are kept when present.
   */
  edge: boolean;
}

export interface PoolOptions {
  waitForUpstreamMs?: number;
}

interface Member extends Upstream {
  agent: http.Agent;
  inflight: number;
  tunnels: Set<Duplex>;
  idle: EventEmitter;
}

export class Pool {
  private readonly rotation: Member[] = [];
  private readonly retired = new Set<Member>();
  private readonly changes = new EventEmitter();
  private next = 0;
  private total = 0;
  private closed = false;

  constructor(private readonly options: PoolOptions = {}) {
    this.changes.setMaxListeners(0);
  }

  /** Upstreams in rotation, in rotation order. */
  get upstreams(): Upstream[] {
    return this.rotation.map(({ id, host, port }) => ({ id, host, port }));
  }

  get inflight(): number {
    return this.rotation.reduce((sum, u) => sum + u.inflight + u.tunnels.size, 0);
  }

  stats(): PoolStats {
    const upstreams = this.rotation.map(({ id, host, port, inflight, tunnels }) => ({ id, host, port, inflight: inflight + tunnels.size }));
    return { upstreams, inflight: this.inflight, requests: this.total };
  }

  /**
   * Puts an upstream in rotation. An id already in rotation with another address gets the new
   * address (a Docker engine restart gives replicas new ports); requests already on the old
   * address finish there.
   */
  add(upstream: Upstream): void {
    if (this.closed) return;
    const existing = this.rotation.find((u) => u.id === upstream.id);
    if (existing) {
      if (existing.host === upstream.host && existing.port === upstream.port) return;
      const old = existing.agent;
      existing.host = upstream.host;
      existing.port = upstream.port;
      existing.agent = new http.Agent({ keepAlive: true });
      if (existing.inflight === 0) old.destroy();
      else existing.idle.once('idle', () => old.destroy());
      return;
    }
    const idle = new EventEmitter();
    idle.setMaxListeners(0);
    const { id, host, port } = upstream;
    this.rotation.push({ id, host, port, agent: new http.Agent({ keepAlive: true }), inflight: 0, tunnels: new Set(), idle });
    this.changes.emit('changed');
  }

  /**
   * Takes an upstream out of rotation at once, then waits until its in-flight requests and tunnels
   * end or `timeoutMs` passes; what is still open then is cut. Resolves with whether it drained.
   */
  async drain(id: string, timeoutMs = DEFAULT_DRAIN_MS): Promise<boolean> {
    const index = this.rotation.findIndex((u) => u.id === id);
    if (index === -1) return true;
    const [member] = this.rotation.splice(index, 1);
    if (!member) return true;
    this.retired.add(member);
    let drained = true;
    if (member.inflight > 0 || member.tunnels.size > 0) {
      drained = await new Promise<boolean>((resolve) => {
        const settle = (idle: boolean): void => {
          clearTimeout(timer);
          member.idle.off('idle', onIdle);
          resolve(idle);
        };
        const onIdle = (): void => settle(true);
        const timer = setTimeout(() => settle(false), timeoutMs);
        member.idle.on('idle', onIdle);
      });
    }
    cut(member);
    this.retired.delete(member);
    return drained;
  }

  /** Takes every upstream out of rotation and drains them together. */
  async drainAll(timeoutMs: number): Promise<boolean> {
    const results = await Promise.all(this.rotation.map((u) => u.id).map((id) => this.drain(id, timeoutMs)));
    return results.every(Boolean);
  }

  /** Cuts every connection and releases held requests with a 503 (shutdown, pool removed). */
  close(): void {
    this.closed = true;
    for (const member of [...this.rotation, ...this.retired]) cut(member);
    this.rotation.length = 0;
    this.changes.emit('changed');
  }

  forward(req: http.IncomingMessage, res: http.ServerResponse, arrival: Arrival): void {
    this.total += 1;
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    const headers = forwardedHeaders(req, arrival, false);
    const tried = new Set<string>();
    let clientGone = false;
    res.on('close', () => {
      clientGone = true;
    });
    const attempt = async (n: number): Promise<void> => {
      const member = await this.pick(tried);
      if (clientGone) return;
      if (!member) {
        res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '1' });
        res.end('slipway: no healthy replica is serving this environment\n');
        return;
      }
      tried.add(member.id);
      this.send(req, res, member, headers, hasBody, (err) => {
        // Nothing came back: the connection was refused or reset before an answer. Safe to send
        // again only when the request has no body and is idempotent (or was never connected).
        const retriable = !hasBody && (RETRY_METHODS.has(req.method ?? 'GET') || err.code === 'ECONNREFUSED');
        if (retriable && n + 1 < MAX_ATTEMPTS && !clientGone) return void attempt(n + 1);
        if (res.headersSent) return void res.destroy();
        res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`slipway: the replica did not answer (${err.code ?? err.message})\n`);
      });
    };
    void attempt(0);
  }

  /** One attempt at one upstream; `failed` is called when the upstream failed before an answer. */
  private send(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    member: Member,
    headers: http.OutgoingHttpHeaders,
    hasBody: boolean,
    failed: (err: NodeJS.ErrnoException) => void,
  ): void {
    member.inflight += 1;
    let finished = false;
    const done = (): void => {
      if (finished) return;
      finished = true;
      this.finish(member);
    };
    let answered = false;
    const upstreamReq = http.request({ host: member.host, port: member.port, method: req.method, path: req.url, headers, agent: member.agent });
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
      done();
      if (answered) res.destroy();
      else failed(err);
    });
    res.on('close', () => {
      if (!answered) upstreamReq.destroy();
    });
    if (hasBody) req.pipe(upstreamReq);
    else upstreamReq.end();
  }

  /** Upgrade requests (WebSocket): a raw byte tunnel after the request head is replayed. */
  async tunnel(req: http.IncomingMessage, client: Duplex, head: Buffer, arrival: Arrival): Promise<void> {
    this.total += 1;
    const member = await this.pick(new Set());
    if (!member || client.destroyed) {
      client.end('HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    const server = net.connect(member.port, member.host);
    member.tunnels.add(client);
    const close = (): void => {
      if (!member.tunnels.delete(client)) return;
      client.destroy();
      server.destroy();
      if (member.inflight === 0 && member.tunnels.size === 0) member.idle.emit('idle');
    };
    client.on('error', close);
    client.on('close', close);
    server.on('error', close);
    server.on('close', close);
    server.on('connect', () => {
      const lines = [`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1`];
      for (const [name, value] of Object.entries(forwardedHeaders(req, arrival, true))) {
        for (const v of Array.isArray(value) ? value : [value]) if (v !== undefined) lines.push(`${name}: ${v}`);
      }
      server.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) server.write(head);
      server.pipe(client);
      client.pipe(server);
    });
  }

  private async pick(exclude: Set<string>): Promise<Member | undefined> {
    const deadline = Date.now() + (this.options.waitForUpstreamMs ?? DEFAULT_WAIT_FOR_UPSTREAM_MS);
    for (;;) {
      if (this.rotation.length > 0) {
        const fresh = this.rotation.filter((u) => !exclude.has(u.id));
        const candidates = fresh.length > 0 ? fresh : this.rotation;
        this.next = (this.next + 1) % candidates.length;
        return candidates[this.next];
      }
      const left = deadline - Date.now();
      if (left <= 0 || this.closed) return undefined;
      // No upstream in rotation: hold the request briefly rather than fail it (kamal-proxy pauses too).
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.changes.off('changed', done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.changes.once('changed', done);
      });
    }
  }

  private finish(member: Member): void {
    member.inflight -= 1;
    if (member.inflight === 0 && member.tunnels.size === 0) member.idle.emit('idle');
  }
}

function cut(member: Member): void {
  for (const socket of member.tunnels) socket.destroy();
  member.agent.destroy();
}

function forwardedHeaders(req: http.IncomingMessage, arrival: Arrival, keepUpgrade: boolean): http.OutgoingHttpHeaders {
  const headers: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    if (HOP_BY_HOP.has(name) && !(keepUpgrade && (name === 'upgrade' || name === 'connection'))) continue;
    if (arrival.edge && name.startsWith('x-forwarded-')) continue;
    headers[name] = value;
  }
  const remote = req.socket.remoteAddress ?? '';
  const prior = headers['x-forwarded-for'];
  headers['x-forwarded-for'] = prior ? `${String(prior)}, ${remote}` : remote;
  headers['x-forwarded-proto'] ??= arrival.tls ? 'https' : 'http';
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
