// The shared store suite on a real PostgreSQL: a throwaway cluster for this file, a fresh database
// per test. Without PostgreSQL installed every test fails and says to run scripts/setup.sh.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import pg from 'pg';
import { openStore } from '../../src/store/index.js';
import { startCluster, type PgCluster } from './pg-cluster.js';
import { storeSuite, type Harness } from './store-suite.js';

let cluster: Promise<PgCluster> | undefined;
const dirs: string[] = [];
after(async () => {
  if (cluster) await (await cluster.catch(() => undefined))?.stop();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

storeSuite('PostgreSQL', async (): Promise<Harness> => {
  cluster ??= startCluster();
  const pgCluster = await cluster;
  return {
    sharedDatabase: true,
    async fresh() {
      const url = await pgCluster.createDatabase();
      // the secret key file lives in a data directory, as on a real server
      const dataDir = await mkdtemp(path.join(os.tmpdir(), 'slipway-store-pg-'));
      dirs.push(dataDir);
      return {
        store: await openStore(url, dataDir, { env: {} }),
        reopen: (env = {}) => openStore(url, dataDir, { env }),
        async raw(sql) {
          const client = new pg.Client({ connectionString: url });
          await client.connect();
          try {
            return (await client.query(sql)).rows as Array<Record<string, unknown>>;
          } finally {
            await client.end();
          }
        },
      };
    },
  };
});
