// PostgreSQL through node-postgres: a pool for plain statements, one checked-out client per
// transaction. Several server replicas share the database; row locks and SKIP LOCKED (in the run
// queue) keep them from stepping on each other.
import pg from 'pg';
import type { Sql, SqlValue } from '../sql/driver.js';

const INT8_OID = 20;

// Times are BIGINT milliseconds and counts are BIGINT: node-postgres returns int8 as a string
// because it can exceed 2^53; ours never do, so read them as numbers.
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

const numbered = new Map<string, string>();
/** `?` → `$1, $2, …` (cached: the repository's statements are a fixed set). */
function toPg(sql: string): string {
  let text = numbered.get(sql);
  if (text === undefined) {
    let n = 0;
    text = sql.replace(/\?/g, () => `$${++n}`);
    if (numbered.size < 2000) numbered.set(sql, text);
  }
  return text;
}

type Queryable = pg.Pool | pg.PoolClient;

class Client implements Sql {
  readonly dialect = 'postgres' as const;
  constructor(protected readonly db: Queryable) {}
  async all<Row>(sql: string, params: readonly SqlValue[] = []): Promise<Row[]> {
    const result = await this.db.query(toPg(sql), params as unknown[]);
    return result.rows as Row[];
  }
  async get<Row>(sql: string, params: readonly SqlValue[] = []): Promise<Row | undefined> {
    return (await this.all<Row>(sql, params))[0];
  }
  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    const result = await this.db.query(toPg(sql), params as unknown[]);
    return result.rowCount ?? 0;
  }
  async exec(script: string): Promise<void> {
    // no parameters: the simple query protocol, which accepts several statements
    await this.db.query(script);
  }
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    return fn(this);
  }
}

export class PostgresSql extends Client {
  constructor(private readonly pool: pg.Pool) {
    super(pool);
  }

  static connect(url: string, maxConnections = 10): PostgresSql {
    const pool = new pg.Pool({ connectionString: url, max: maxConnections, types });
    // an idle client losing its connection (database restart) must not crash the server
    pool.on('error', () => undefined);
    return new PostgresSql(pool);
  }

  override async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      try {
        const result = await fn(new Client(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
