// The PostgreSQL store: for several server replicas sharing one database.
import type { SecretBox } from '../crypto.js';
import { openSqlStore } from '../sql/store.js';
import { StoreError, type Store } from '../types.js';
import { PostgresSql } from './driver.js';

/** The URL as it may be printed: without its password. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'postgres://…';
  }
}

export async function openPostgresStore(
  url: string,
  box: SecretBox,
  now: () => number,
  options: { maxConnections?: number } = {},
): Promise<Store> {
  const sql = PostgresSql.connect(url, options.maxConnections);
  const where = redactUrl(url);
  try {
    await sql.get('SELECT 1');
  } catch (error) {
    await sql.close().catch(() => undefined);
    throw new StoreError('STORE_UNAVAILABLE', `cannot reach PostgreSQL at ${where}: ${(error as Error).message}`);
  }
  return openSqlStore({ sql, box, now, where, close: () => sql.close() });
}
