// The shared store suite on SQLite: a fresh data directory per test, the key file inside it.
import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { openStore } from '../../src/store/index.js';
import { storeSuite, type Harness } from './store-suite.js';

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

storeSuite('SQLite', async (): Promise<Harness> => ({
  sharedDatabase: false,
  async fresh() {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'slipway-store-'));
    dirs.push(dataDir);
    const file = path.join(dataDir, 'slipway.db');
    return {
      store: await openStore(undefined, dataDir, { env: {} }),
      reopen: (env = {}) => openStore(undefined, dataDir, { env }),
      async raw(sql) {
        const db = new Database(file);
        try {
          const statement = db.prepare(sql);
          return statement.reader ? (statement.all() as Array<Record<string, unknown>>) : (statement.run(), []);
        } finally {
          db.close();
        }
      },
    };
  },
}));
