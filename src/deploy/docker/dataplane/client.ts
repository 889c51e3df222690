// The deploy agent's client of a data plane's control API (HTTP over its unix socket). Errors carry
// the data plane's code and message; every call has a timeout, a drain its own plus 5 s.
import http from 'node:http';
import type { DataPlaneConfig } from './config.js';
import type { Upstream } from './pool.js';
import type { BoundFront, BoundListener, DataPlaneStatus } from './server.js';

export type { CertificateConfig, DataPlaneConfig, FrontConfig, ListenerConfig, RouteConfig } from './config.js';
export type { Upstream, UpstreamStats } from './pool.js';
export type { BoundFront, BoundListener } from './server.js';
/** What `GET /state` answers. */
export type DataPlaneState = DataPlaneStatus;

const DEFAULT_TIMEOUT_MS = 10_000;
const DRAIN_MARGIN_MS = 5000;

/** A control call the data plane refused (`code` is its stable code) or that failed on the way. */
export class DataPlaneError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** the HTTP status; 0 when the data plane did not answer */
    readonly status: number,
  ) {
    super(message);
  }
}

export class DataPlaneClient {
  /** false once this data plane answered that it has no in-flight route (an earlier release's) */
  private inflightRoute = true;

  constructor(readonly controlSocket: string) {}

  /** Whether a data plane answers on the socket (within 2 s). */
  async ping(): Promise<boolean> {
    try {
      await this.request('GET', '/ping', undefined, 2000);
      return true;
    } catch {
      return false;
    }
  }

  state(): Promise<DataPlaneState> {
    return this.request('GET', '/state') as Promise<DataPlaneState>;
  }

  /** Requests in flight to one pool now (0 for a pool the data plane does not know). */
  async inflight(pool: string): Promise<number> {
    if (this.inflightRoute) {
      try {
        const answer = (await this.request('GET', `/pools/${encodeURIComponent(pool)}/inflight`)) as { inflight: number };
        return answer.inflight;
      } catch (err) {
        // A data plane started by an earlier release keeps running across an upgrade (that is its
        // point) and has no such route: its whole state still holds the count, and is asked from
        // now on, rather than paying a 404 on each of the autoscaler's samples.
        if (!(err instanceof DataPlaneError && err.code === 'DATAPLANE_NOT_FOUND')) throw err;
        this.inflightRoute = false;
      }
    }
    return (await this.state()).pools[pool]?.inflight ?? 0;
  }

  /**
   * Applies a configuration and answers the plain listeners' bound ports. A port in use rejects
   * with code DATAPLANE_PORT_IN_USE (status 409) and the previous configuration stays in force.
   */
  async configure(config: DataPlaneConfig): Promise<BoundListener[]> {
    return (await this.configureAll(config)).listeners;
  }

  /** As configure, with the front's bound ports too. */
  configureAll(config: DataPlaneConfig): Promise<{ listeners: BoundListener[]; front?: BoundFront }> {
    return this.request('PUT', '/config', config) as Promise<{ listeners: BoundListener[]; front?: BoundFront }>;
  }

  /** Puts an upstream in the pool's rotation (the pool is made on demand); an id again updates its address. */
  async add(pool: string, upstream: Upstream): Promise<void> {
    await this.request('POST', `/pools/${encodeURIComponent(pool)}/upstreams`, upstream);
  }

  /** Out of rotation at once; resolves when its requests finished (true) or timeoutMs passed (false). */
  async drain(pool: string, id: string, timeoutMs: number): Promise<boolean> {
    const answer = (await this.request('POST', `/pools/${encodeURIComponent(pool)}/drain`, { id, timeoutMs }, timeoutMs + DRAIN_MARGIN_MS)) as { drained: boolean };
    return answer.drained;
  }

  /** Drains every upstream of the pool (up to timeoutMs) and forgets the pool. */
  async removePool(pool: string, timeoutMs = 0): Promise<boolean> {
    const answer = (await this.request('DELETE', `/pools/${encodeURIComponent(pool)}?timeoutMs=${timeoutMs}`, undefined, timeoutMs + DRAIN_MARGIN_MS)) as { drained: boolean };
    return answer.drained;
  }

  private request(method: string, pathname: string, body?: unknown, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<unknown> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const headers = payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) };
      // A connection per call (agent: false): unix sockets are cheap, and a reused idle connection
      // races the server's keep-alive timeout (ECONNRESET on a call that was never read).
      const req = http.request({ socketPath: this.controlSocket, method, path: pathname, headers, timeout: timeoutMs, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => reject(new DataPlaneError('DATAPLANE_UNREACHABLE', `the data plane at ${this.controlSocket}: ${err.message}`, 0)));
        res.on('end', () => {
          const status = res.statusCode ?? 500;
          const text = Buffer.concat(chunks).toString('utf8');
          if (status < 400) return resolve(JSON.parse(text || 'null') as unknown);
          const error = parseError(text);
          reject(new DataPlaneError(error.code ?? 'DATAPLANE_ERROR', error.message ?? `the data plane answered ${status} to ${method} ${pathname}`, status));
        });
      });
      req.on('timeout', () => req.destroy(new Error(`no answer to ${method} ${pathname} within ${timeoutMs} ms`)));
      req.on('error', (err) => reject(new DataPlaneError('DATAPLANE_UNREACHABLE', `the data plane at ${this.controlSocket}: ${err.message}`, 0)));
      req.end(payload);
    });
  }
}

function parseError(text: string): { code?: string; message?: string } {
  try {
    const value = JSON.parse(text) as { code?: unknown; message?: unknown } | null;
    return { ...(typeof value?.code === 'string' ? { code: value.code } : {}), ...(typeof value?.message === 'string' ? { message: value.message } : {}) };
  } catch {
    return {};
  }
}
