// The small SQL surface both databases provide, so the repository code (one module per entity in
// this folder) is written once. Statements use `?` placeholders; the PostgreSQL driver numbers
// them. Never put a literal `?` inside SQL text for that reason.

export type SqlValue = string | number | bigint | null;

export interface Sql {
  readonly dialect: 'sqlite' | 'postgres';
  all<Row>(sql: string, params?: readonly SqlValue[]): Promise<Row[]>;
  get<Row>(sql: string, params?: readonly SqlValue[]): Promise<Row | undefined>;
  /** Returns the number of rows changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(script: string): Promise<void>;
  /**
   * Runs fn inside one transaction on one connection. Nested calls join the outer transaction:
   * the repository composes operations (acceptDelivery = recordDelivery + enqueueRun) freely.
   */
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
}

/** Turns an optional value into a bound parameter. */
export const opt = (value: string | number | undefined | null): SqlValue => value ?? null;

/** Reads an optional column. */
export const optNum = (value: number | null | undefined): number | undefined =>
  value === null || value === undefined ? undefined : Number(value);
export const optStr = (value: string | null | undefined): string | undefined =>
  value === null || value === undefined ? undefined : value;
