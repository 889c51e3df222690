// The SQLite store: DATA/slipway.db in WAL mode. The default, for one server on one host.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { SecretBox } from '../crypto.js';
import { openSqlStore } from '../sql/store.js';
import type { Store } from '../types.js';
import { SqliteSql, type SqliteOptions } from './driver.js';

export async function openSqliteStore(
  file: string,
  box: SecretBox,
  now: () => number,
  options: SqliteOptions = {},
): Promise<Store> {
  await mkdir(path.dirname(file), { recursive: true });
  const sql = new SqliteSql(file, options);
  return openSqlStore({ sql, box, now, where: file, close: async () => sql.close() });
}
