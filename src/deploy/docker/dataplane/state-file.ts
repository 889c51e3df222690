// The data plane's state file: the configuration in force, the ports it bound and every pool's
// rotation, written atomically (temp file, fsync, rename) with mode 0600 because it holds TLS
// private keys. Saves are serialized; each writes the state as it is when its turn comes.
import { open, readFile, rename, rm } from 'node:fs/promises';
import { ConfigError, parseConfig, parseUpstream, type DataPlaneConfig } from './config.js';
import type { Upstream } from './pool.js';

export interface PersistedState {
  version: 1;
  config: DataPlaneConfig;
  /** the ports bound, so ephemeral ones are bound again after a restart */
  bound: Array<{ pool: string; address: string; port: number }>;
  /** each pool's upstreams in rotation */
  pools: Record<string, Upstream[]>;
}

export class StateFile {
  private queue: Promise<void> = Promise.resolve();
  private sequence = 0;

  /** `owner`: who the file is given to when a root data plane writes it (the data directory's owner). */
  constructor(
    readonly path: string,
    private readonly owner?: { uid: number; gid: number },
  ) {}

  /** The saved state; undefined when there is none or it cannot be read (logged, then ignored). */
  async load(log: (line: string) => void): Promise<PersistedState | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      log(`cannot read ${this.path}: ${(err as Error).message}; starting with no configuration`);
      return undefined;
    }
    try {
      return parseState(JSON.parse(text) as unknown);
    } catch (err) {
      log(`${this.path} is not a data plane state file (${(err as Error).message}); starting with no configuration`);
      return undefined;
    }
  }

  /** Resolves once `state` (or a later save) is on disk; rejects when the write failed. */
  save(state: PersistedState): Promise<void> {
    const text = `${JSON.stringify(state)}\n`;
    const write = this.queue.then(() => this.write(text));
    this.queue = write.catch(() => undefined);
    return write;
  }

  flushed(): Promise<void> {
    return this.queue;
  }

  private async write(text: string): Promise<void> {
    this.sequence += 1;
    const temp = `${this.path}.${process.pid}.${this.sequence}.tmp`;
    try {
      // A leftover temp file of an earlier process with this pid would keep its own mode.
      await rm(temp, { force: true });
      const file = await open(temp, 'wx', 0o600);
      try {
        if (this.owner) await file.chown(this.owner.uid, this.owner.gid);
        await file.writeFile(text);
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(temp, this.path);
    } catch (err) {
      await rm(temp, { force: true });
      throw new Error(`cannot save the data plane state to ${this.path}: ${(err as Error).message}`);
    }
  }
}

function parseState(value: unknown): PersistedState {
  if (typeof value !== 'object' || value === null) throw new ConfigError('not an object');
  const raw = value as Record<string, unknown>;
  if (raw.version !== 1) throw new ConfigError(`unknown version ${String(raw.version)}`);
  const config = parseConfig(raw.config);
  const bound = Array.isArray(raw.bound)
    ? raw.bound.filter((b): b is PersistedState['bound'][number] => typeof b === 'object' && b !== null && typeof b.pool === 'string' && typeof b.address === 'string' && Number.isInteger(b.port))
    : [];
  const pools: PersistedState['pools'] = {};
  if (typeof raw.pools === 'object' && raw.pools !== null) {
    for (const [name, upstreams] of Object.entries(raw.pools as Record<string, unknown>)) {
      if (Array.isArray(upstreams)) pools[name] = upstreams.map(parseUpstream);
    }
  }
  return { version: 1, config, bound, pools };
}
