// What every repository module of the SQL store works with.
import type { SecretBox } from '../crypto.js';
import type { Sql } from './driver.js';

export interface Context {
  sql: Sql;
  box: SecretBox;
  now: () => number;
}

/** A JSON column back to a value; the store wrote it, so it parses. */
export const parseJson = <T>(text: string | null | undefined): T | undefined =>
  text === null || text === undefined ? undefined : (JSON.parse(text) as T);

/** `?, ?, ?` for n values */
export const placeholders = (n: number): string => Array.from({ length: n }, () => '?').join(', ');
