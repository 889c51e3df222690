// The store's public face: openStore picks SQLite or PostgreSQL from the --database URL.
import path from 'node:path';
import { loadSecretKey, SecretBox, type KeySource } from './crypto.js';
import { openPostgresStore } from './postgres/index.js';
import { openSqliteStore } from './sqlite/index.js';
import { StoreError, type Store } from './types.js';

export * from './types.js';
export { LATEST_SCHEMA_VERSION } from './migrations.js';
export { checkProjectName, checkTokenName, projectNameProblem, tokenNameProblem, PROJECT_NAME_RULE } from './names.js';
export { computeDora, median } from './dora.js';
export { loadSecretKey, type KeySource } from './crypto.js';
export { isRunCursor } from './sql/runs.js';

export interface OpenStoreOptions {
  /** the clock (tests) */
  now?: () => number;
  /** where SLIPWAY_SECRET_KEY is read (tests); default process.env */
  env?: NodeJS.ProcessEnv;
  /** the secret key, when the caller has loaded it already (the server signs with it too) */
  secretKey?: KeySource;
  /** PostgreSQL pool size; default 10 */
  maxConnections?: number;
  /** SQLite: "full" makes a commit survive a power loss too, at the cost of an fsync per commit */
  synchronous?: 'normal' | 'full';
}

/**
 * undefined or `sqlite:` → DATA/slipway.db; `sqlite:/path/file.db` → that file;
 * `postgres://` or `postgresql://` → PostgreSQL. The secret key comes from SLIPWAY_SECRET_KEY or
 * DATA/secret.key either way.
 */
export async function openStore(url: string | undefined, dataDir: string, options: OpenStoreOptions = {}): Promise<Store> {
  const now = options.now ?? Date.now;
  const box = new SecretBox(options.secretKey ?? (await loadSecretKey(dataDir, options.env)));
  if (url === undefined || url === '' || url.startsWith('sqlite:')) {
    const file = url && url.length > 'sqlite:'.length ? url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '') : path.join(dataDir, 'slipway.db');
    return openSqliteStore(path.resolve(dataDir, file), box, now, options.synchronous ? { synchronous: options.synchronous } : {});
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    return openPostgresStore(url, box, now, options.maxConnections ? { maxConnections: options.maxConnections } : {});
  }
  throw new StoreError(
    'STORE_URL_INVALID',
    `--database "${url.replace(/:[^:@/]*@/, ':***@')}" is not a database URL Slipway knows: use sqlite:PATH or postgres://USER:PASS@HOST:PORT/DB`,
  );
}
