// The data plane: pools and the listeners in front of them, kept to a configuration the controller
// (the deploy agent) sets, and persisted so that a restarted data plane serves at once with no
// controller around. A new configuration is applied as a transaction: new ports are bound first,
// and only when all bound do old ones close; a listener whose address and port did not change is
// kept as it is, so its connections never notice.
import { DEFAULT_WAIT_FOR_UPSTREAM_MS, Pool, type Upstream, type UpstreamStats } from './pool.js';
import { CertificateSet } from './certificates.js';
import { BindError, FrontListener, FrontRouting, PlainListener, type Listener } from './router.js';
import type { DataPlaneConfig } from './config.js';
import { StateFile, type PersistedState } from './state-file.js';

export interface BoundListener {
  pool: string;
  address: string;
  port: number;
}

export interface BoundFront {
  address: string;
  httpPort: number;
  /** absent when no HTTPS listener runs (no certificates) */
  httpsPort?: number;
}

export interface DataPlaneStatus {
  config: DataPlaneConfig;
  listeners: BoundListener[];
  front?: BoundFront;
  pools: Record<string, { upstreams: UpstreamStats[]; inflight: number; requests: number }>;
}

export interface DataPlaneOptions {
  statePath: string;
  /** owner of the state file when run as root (see main.ts) */
  owner?: { uid: number; gid: number };
  log: (line: string) => void;
  waitForUpstreamMs?: number;
}

/** What a listener of the desired config is: matched against the running ones by this. */
interface Want {
  kind: 'plain' | 'http' | 'https';
  address: string;
  port: number;
  pool: string;
}

const NO_POOL = '';

export class DataPlane {
  private config: DataPlaneConfig = { listeners: [] };
  private readonly pools = new Map<string, Pool>();
  private readonly front: FrontRouting;
  private listeners: Listener[] = [];
  private readonly closing = new Set<Promise<void>>();
  private readonly file: StateFile;
  private applying: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: DataPlaneOptions) {
    this.front = new FrontRouting((name) => this.pool(name));
    this.file = new StateFile(options.statePath, options.owner);
  }

  /** The pool of that name, made on demand (a config or an upstream may name it first). */
  pool(name: string): Pool {
    let pool = this.pools.get(name);
    if (!pool) {
      pool = new Pool({ waitForUpstreamMs: this.options.waitForUpstreamMs ?? DEFAULT_WAIT_FOR_UPSTREAM_MS });
      this.pools.set(name, pool);
    }
    return pool;
  }

  /**
   * Serves what the state file holds, at once. A port that cannot be bound now is logged and left
   * out (the controller's next configuration retries it), so one conflict does not keep every
   * other app offline.
   */
  async restore(): Promise<void> {
    const saved = await this.file.load((line) => this.options.log(line));
    if (!saved) return;
    for (const [name, upstreams] of Object.entries(saved.pools)) for (const u of upstreams) this.pool(name).add(u);
    const how = { bestEffort: true, hints: saved.bound };
    await this.exclusive(async () => {
      try {
        await this.apply(saved.config, how);
      } catch (err) {
        // A saved certificate this node no longer accepts must not keep the plain listeners down.
        this.options.log(`the saved front cannot be served (${(err as Error).message}); serving the plain listeners only`);
        await this.apply({ listeners: saved.config.listeners }, how);
      }
      // Ports chosen anew (an ephemeral one taken meanwhile) are remembered at once.
      await this.persist();
    });
    this.options.log(`restored ${saved.config.listeners.length} listener(s) and ${Object.keys(saved.pools).length} pool(s) from ${this.options.statePath}`);
  }

  /** Applies a configuration; a port that cannot be bound rejects with BindError and changes nothing. */
  configure(config: DataPlaneConfig): Promise<BoundListener[]> {
    return this.exclusive(async () => {
      await this.apply(config, { bestEffort: false, hints: [] });
      await this.persist();
      return this.bound();
    });
  }

  async add(pool: string, upstream: Upstream): Promise<void> {
    this.pool(pool).add(upstream);
    await this.persist();
  }

  /** Out of rotation (and the state file) before it answers; then waits for the drain. */
  async drain(pool: string, id: string, timeoutMs: number): Promise<boolean> {
    const found = this.pools.get(pool);
    if (!found) return true;
    const drained = found.drain(id, timeoutMs);
    await this.persist();
    return drained;
  }

  async removePool(name: string, timeoutMs: number): Promise<boolean> {
    const pool = this.pools.get(name);
    if (!pool) return true;
    this.pools.delete(name);
    const drained = pool.drainAll(timeoutMs);
    await this.persist();
    const ok = await drained;
    pool.close();
    return ok;
  }

  /** Requests and tunnels in flight to one pool now; none to a pool not made (yet). */
  inflight(pool: string): number {
    return this.pools.get(pool)?.inflight ?? 0;
  }

  status(): DataPlaneStatus {
    const pools: DataPlaneStatus['pools'] = {};
    for (const [name, pool] of this.pools) pools[name] = pool.stats();
    const front = this.boundFront();
    return { config: this.config, listeners: this.bound(), ...(front ? { front } : {}), pools };
  }

  /** Stops accepting everywhere; requests in flight get `graceMs`, then everything is cut. */
  async shutdown(graceMs: number): Promise<void> {
    const closing = [...this.listeners.map((l) => l.close(graceMs)), ...this.closing];
    this.listeners = [];
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(closing), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    // Upgrade tunnels are not the HTTP servers' to cut: the pools cut them, which lets the servers close.
    for (const pool of this.pools.values()) pool.close();
    await Promise.all(closing);
    await this.file.flushed();
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.applying.then(work, work);
    this.applying = run.catch(() => undefined);
    return run;
  }

  private wants(config: DataPlaneConfig): Want[] {
    const wants: Want[] = config.listeners.map((l) => ({ kind: 'plain', address: l.address, port: l.port, pool: l.pool }));
    const f = config.front;
    if (f) {
      wants.push({ kind: 'http', address: f.address, port: f.httpPort, pool: NO_POOL });
      if (f.certificates.length > 0) wants.push({ kind: 'https', address: f.address, port: f.httpsPort, pool: NO_POOL });
    }
    return wants;
  }

  private async apply(config: DataPlaneConfig, how: { bestEffort: boolean; hints: BoundListener[] }): Promise<void> {
    // Certificates first: a bad one refuses the config before any port moves.
    const certificates = new CertificateSet(config.front?.certificates ?? []);
    const unmatched = new Set(this.listeners);
    const next: Listener[] = [];
    const opened: Listener[] = [];
    const switches: Array<[PlainListener, string]> = [];
    try {
      for (const want of this.wants(config)) {
        const kept = [...unmatched].find((l) => matches(l, want));
        if (kept) {
          unmatched.delete(kept);
          if (kept instanceof PlainListener) switches.push([kept, want.pool]);
          next.push(kept);
          continue;
        }
        const listener = await this.open(want, how);
        if (!listener) continue;
        opened.push(listener);
        next.push(listener);
      }
    } catch (err) {
      await Promise.all(opened.map((l) => l.close(0)));
      throw err;
    }
    this.config = config;
    for (const [listener, pool] of switches) listener.pool = pool;
    this.front.update(config.front?.routes ?? [], certificates);
    this.front.httpsPort = next.find((l) => l.kind === 'https')?.port ?? 0;
    for (const l of next) if (l instanceof FrontListener) l.refreshCertificates(this.front);
    for (const name of [...config.listeners.map((l) => l.pool), ...(config.front?.routes ?? []).map((r) => r.pool)]) this.pool(name);
    this.listeners = next;
    for (const gone of unmatched) this.retire(gone);
  }

  /** Binds a wanted listener: an ephemeral one on the port it had before a restart, if free. */
  private async open(want: Want, how: { bestEffort: boolean; hints: BoundListener[] }): Promise<Listener | undefined> {
    const make = (): Listener =>
      want.kind === 'plain' ? new PlainListener(want.address, want.port, want.pool, (name) => this.pool(name)) : new FrontListener(want.kind, want.address, want.port, this.front);
    const hint = want.port === 0 ? how.hints.find((h) => h.address === want.address && h.pool === (want.pool || `(${want.kind})`))?.port : undefined;
    if (hint) {
      const listener = make();
      const ok = await listener.listen(hint).then(
        () => true,
        () => false,
      );
      if (ok) return listener;
      this.options.log(`${want.address}:${hint} (ephemeral, ${want.pool || want.kind}) is taken now; choosing another port`);
    }
    const listener = make();
    try {
      await listener.listen();
      return listener;
    } catch (err) {
      if (!how.bestEffort || !(err instanceof BindError)) throw err;
      this.options.log(`${err.message}; ${want.pool || want.kind} is not served until the next configuration`);
      return undefined;
    }
  }

  /** A listener no longer wanted stops accepting now and closes once its requests are done. */
  private retire(listener: Listener): void {
    const closing = listener.close(10_000).finally(() => this.closing.delete(closing));
    this.closing.add(closing);
  }

  private bound(): BoundListener[] {
    return this.listeners.filter((l): l is PlainListener => l instanceof PlainListener).map((l) => ({ pool: l.pool, address: l.address, port: l.port }));
  }

  private boundFront(): BoundFront | undefined {
    const http = this.listeners.find((l) => l.kind === 'http');
    const https = this.listeners.find((l) => l.kind === 'https');
    if (!http && !https) return undefined;
    const address = (http ?? https)?.address ?? '';
    return { address, httpPort: http?.port ?? 0, ...(https ? { httpsPort: https.port } : {}) };
  }

  private persist(): Promise<void> {
    const pools: PersistedState['pools'] = {};
    for (const [name, pool] of this.pools) pools[name] = pool.upstreams;
    // Front listeners are remembered under a pseudo pool, so an ephemeral front port is kept too.
    const front = this.listeners.filter((l) => l.kind !== 'plain').map((l) => ({ pool: `(${l.kind})`, address: l.address, port: l.port }));
    return this.file.save({ version: 1, config: this.config, bound: [...this.bound(), ...front], pools });
  }
}

function matches(listener: Listener, want: Want): boolean {
  if (listener.kind !== want.kind || listener.address !== want.address) return false;
  if (want.port !== 0) return listener.port === want.port;
  // An ephemeral port is chosen once: the same pool asking for "any port" again keeps its port.
  return listener.requestedPort === 0 && (!(listener instanceof PlainListener) || listener.pool === want.pool);
}
