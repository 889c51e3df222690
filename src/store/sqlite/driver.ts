// SQLite through better-sqlite3: one connection per process, WAL so readers in other processes
// (the CLI, a backup) never block the server. better-sqlite3 is synchronous, so a single statement
// is atomic by itself; only a transaction that spans awaits needs the gate below.
import Database from 'better-sqlite3';
import type { Sql, SqlValue } from '../sql/driver.js';

type Statement = Database.Statement<unknown[], unknown>;

class Statements {
  private readonly cache = new Map<string, Statement>();
  constructor(private readonly db: Database.Database) {}
  get(sql: string): Statement {
    let statement = this.cache.get(sql);
    if (!statement) {
      // batch inserts make statements of many sizes; a bounded cache keeps memory flat
      if (this.cache.size > 500) this.cache.clear();
      statement = this.db.prepare(sql);
      this.cache.set(sql, statement);
    }
    return statement;
  }
}

/** Statements run directly on the connection: inside a transaction, or when no transaction is open. */
class Direct implements Sql {
  readonly dialect = 'sqlite' as const;
  constructor(
    protected readonly db: Database.Database,
    protected readonly statements: Statements,
  ) {}
  async all<Row>(sql: string, params: readonly SqlValue[] = []): Promise<Row[]> {
    return this.statements.get(sql).all(...params) as Row[];
  }
  async get<Row>(sql: string, params: readonly SqlValue[] = []): Promise<Row | undefined> {
    return this.statements.get(sql).get(...params) as Row | undefined;
  }
  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.statements.get(sql).run(...params).changes;
  }
  async exec(script: string): Promise<void> {
    this.db.exec(script);
  }
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    return fn(this);
  }
}

export interface SqliteOptions {
  /** "normal" (default): a commit survives the process being killed; "full": also a power loss */
  synchronous?: 'normal' | 'full';
}

/**
 * The connection as the rest of the store sees it. While a transaction is open its awaits let
 * other callers run; they would land inside the transaction, so they wait at the gate until it
 * ends. BEGIN IMMEDIATE takes the write lock up front, so a transaction never fails half-way on a
 * lock held by another process (busy_timeout waits for it instead).
 */
export class SqliteSql extends Direct {
  private gate: Promise<void> | undefined;

  constructor(file: string, options: SqliteOptions = {}) {
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = ON');
    super(db, new Statements(db));
  }

  override async all<Row>(sql: string, params: readonly SqlValue[] = []): Promise<Row[]> {
    // no await between this check and the statement: nothing can open a transaction in between
    while (this.gate) await this.gate;
    return super.all<Row>(sql, params);
  }
  override async get<Row>(sql: string, params: readonly SqlValue[] = []): Promise<Row | undefined> {
    // no await between this check and the statement: nothing can open a transaction in between
    while (this.gate) await this.gate;
    return super.get<Row>(sql, params);
  }
  override async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    // no await between this check and the statement: nothing can open a transaction in between
    while (this.gate) await this.gate;
    return super.run(sql, params);
  }
  override async exec(script: string): Promise<void> {
    // no await between this check and the statement: nothing can open a transaction in between
    while (this.gate) await this.gate;
    return super.exec(script);
  }

  override async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    while (this.gate) await this.gate;
    let open!: () => void;
    this.gate = new Promise<void>((resolve) => (open = resolve));
    try {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const result = await fn(new Direct(this.db, this.statements));
        this.db.exec('COMMIT');
        return result;
      } catch (error) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw error;
      }
    } finally {
      this.gate = undefined;
      open();
    }
  }

  close(): void {
    this.db.close();
  }
}
