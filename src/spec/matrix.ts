// Matrix jobs: a job's `matrix:` expanded into one job per combination the way GitHub Actions
// does it: the product of the keys' values (the first key varies slowest), `exclude` taken out,
// then `include` added. One expansion serves the checks (with positions) and the compiler.
import type { MatrixValue } from './model.js';
import type { DiagnosticList } from './diagnostics.js';
import { MAX_MATRIX_COMBINATIONS } from './defaults.js';
import { closest, listOf } from './suggest.js';
import type { YamlPath, YamlSource } from './yaml-source.js';

/** Keys one matrix may have, include's counted: names stay readable and the work bounded. */
export const MAX_MATRIX_KEYS = 16;
/** The product before `exclude` may exceed what runs, up to this: it bounds the expansion's work. */
export const MAX_MATRIX_PRODUCT = 4096;
/**
 * The longest name of an expanded job: names go into logs, the store and URL paths, where each
 * character may take three (`%20`) and the server's router takes at most 500 per path segment.
 */
export const MAX_MATRIX_JOB_NAME = 160;

type Pairs = Array<[string, MatrixValue]>;

/** A matrix as the file gives it, keys in order; read from the document's plain data. */
export interface RawMatrix {
  dimensions: Array<[string, MatrixValue[]]>;
  include: Pairs[];
  exclude: Pairs[];
}

export interface MatrixProblem {
  severity: 'error' | 'warning';
  message: string;
  /** from the matrix: ['node', 2], ['exclude', 0, 'nod']; [] is the `matrix` key itself */
  path: YamlPath;
  part: 'key' | 'value';
}

export interface ExpandedCombination {
  /** `test (node=18, db=pg)` */
  name: string;
  /** keys in the order the matrix gives them, those only `include` adds last */
  values: Pairs;
}

export interface MatrixExpansion {
  combinations: ExpandedCombination[];
  problems: MatrixProblem[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isMatrixValue(value: unknown): value is MatrixValue {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

function readPairs(value: unknown): Pairs | undefined {
  if (!isRecord(value)) return undefined;
  const pairs = Object.entries(value);
  return pairs.every((pair): pair is [string, MatrixValue] => isMatrixValue(pair[1])) ? pairs : undefined;
}

function readEntries(value: unknown): Pairs[] | undefined {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > MAX_MATRIX_COMBINATIONS) return undefined;
  const entries = value.map(readPairs);
  return entries.every((e): e is Pairs => e !== undefined) ? entries : undefined;
}

/**
 * The matrix when its shape is right and its lists within their limits (the schema walk reports
 * what is wrong), else undefined: nothing is expanded from a half-read matrix.
 */
export function readMatrix(value: unknown): RawMatrix | undefined {
  if (!isRecord(value)) return undefined;
  const include = readEntries(value.include);
  const exclude = readEntries(value.exclude);
  if (!include || !exclude) return undefined;
  const dimensions: RawMatrix['dimensions'] = [];
  for (const [key, values] of Object.entries(value)) {
    if (key === 'include' || key === 'exclude') continue;
    if (!Array.isArray(values) || values.length === 0 || values.length > MAX_MATRIX_COMBINATIONS || !values.every(isMatrixValue)) return undefined;
    dimensions.push([key, values]);
  }
  return { dimensions, include, exclude };
}

/** Every key a job's `${{ matrix.KEY }}` may read, from whatever part of the matrix is readable. */
export function matrixKeysOf(value: unknown): Set<string> {
  const keys = new Set<string>();
  if (!isRecord(value)) return keys;
  for (const [key, values] of Object.entries(value)) {
    // A key like 'inclde' with mappings for values is a misspelt include, reported as such.
    const isMisspelt = Array.isArray(values) && values.some(isRecord) && closest(key, ['include', 'exclude']) !== undefined;
    if (key !== 'include' && key !== 'exclude' && !isMisspelt) keys.add(key);
  }
  if (Array.isArray(value.include)) for (const entry of value.include) if (isRecord(entry)) Object.keys(entry).forEach((k) => keys.add(k));
  return keys;
}

/** Values compare as the text they show in job names: `node: 18` and an exclude of "18" match. */
const textOf = (value: MatrixValue): string => String(value);
const sameValue = (a: MatrixValue | undefined, b: MatrixValue): boolean => a !== undefined && textOf(a) === textOf(b);

export function matrixJobName(job: string, values: Pairs): string {
  return `${job} (${values.map(([key, value]) => `${key}=${textOf(value)}`).join(', ')})`;
}

/** The combinations of job `job`'s matrix, or the problems that keep it from expanding. */
export function expandMatrix(job: string, matrix: RawMatrix): MatrixExpansion {
  const problems: MatrixProblem[] = [];
  const fail = (message: string, path: YamlPath = [], part: MatrixProblem['part'] = 'key'): MatrixExpansion => {
    problems.push({ severity: 'error', message, path, part });
    return { combinations: [], problems };
  };
  const original = new Set(matrix.dimensions.map(([key]) => key));
  const keySet = new Set(original);
  for (const entry of matrix.include) for (const [key] of entry) keySet.add(key);
  if (keySet.size > MAX_MATRIX_KEYS) return fail(`the matrix of job '${job}' has ${keySet.size} keys (include's counted); at most ${MAX_MATRIX_KEYS} are allowed`);
  const keys = [...keySet];
  if (keys.length === 0) return fail(`the matrix of job '${job}' has no keys: add one with its values, e.g. node: [18, 20]`);
  checkValues(job, matrix, problems);

  const product = matrix.dimensions.reduce((n, [, values]) => n * values.length, matrix.dimensions.length > 0 ? 1 : 0);
  if (product > MAX_MATRIX_PRODUCT) {
    const sizes = matrix.dimensions.map(([, values]) => values.length).join(' × ');
    return fail(`the matrix of job '${job}' makes ${product} combinations (${sizes}); a matrix may make at most ${MAX_MATRIX_PRODUCT} before exclude, and run at most ${MAX_MATRIX_COMBINATIONS}: split the job`);
  }
  let combos = cartesian(matrix.dimensions);
  combos = applyExcludes(job, combos, matrix.exclude, original, problems);
  const added = applyIncludes(combos, matrix.include, original);
  const total = combos.length + added.length;
  if (total === 0) return fail(`every combination of the matrix of job '${job}' is excluded: nothing would run`);
  if (total > MAX_MATRIX_COMBINATIONS) return fail(`the matrix of job '${job}' makes ${total} combinations; a job may run at most ${MAX_MATRIX_COMBINATIONS}: exclude some, or split the job`);

  const order = (values: Map<string, MatrixValue>): Pairs => keys.flatMap((key): Pairs => (values.has(key) ? [[key, values.get(key)!]] : []));
  const combinations: ExpandedCombination[] = [];
  const names = new Set<string>();
  const entries = [...combos.map((values) => ({ values, from: undefined })), ...added];
  for (const { values, from } of entries) {
    const ordered = order(values);
    const name = matrixJobName(job, ordered);
    if (name.length > MAX_MATRIX_JOB_NAME) return fail(`job '${job}' would get the ${name.length}-character name '${name.slice(0, 60)}…'; the names of matrix jobs are at most ${MAX_MATRIX_JOB_NAME} characters: use shorter values`);
    // Values of one key that read the same ('18' and 18) are reported where they are listed.
    if (names.has(name)) {
      if (from !== undefined) problems.push({ severity: 'error', message: `include entry ${from + 1} of job '${job}' adds '${name}', a combination the matrix already has`, path: ['include', from], part: 'value' });
      continue;
    }
    names.add(name);
    combinations.push({ name, values: ordered });
  }
  return { combinations: problems.some((p) => p.severity === 'error') ? [] : combinations, problems };
}

/** Numbers that are not finite, and values listed twice under one key (two jobs of one name). */
function checkValues(job: string, matrix: RawMatrix, problems: MatrixProblem[]): void {
  const finite = (value: MatrixValue, path: YamlPath): void => {
    if (typeof value === 'number' && !Number.isFinite(value)) problems.push({ severity: 'error', message: `matrix values must be finite numbers, strings or booleans, not ${value} (job '${job}')`, path, part: 'value' });
  };
  for (const [key, values] of matrix.dimensions) {
    const seen = new Set<string>();
    values.forEach((value, index) => {
      finite(value, [key, index]);
      if (seen.has(textOf(value))) problems.push({ severity: 'error', message: `'${textOf(value)}' is listed twice under '${key}' in the matrix of job '${job}'; list each value once`, path: [key, index], part: 'value' });
      seen.add(textOf(value));
    });
  }
  for (const list of ['include', 'exclude'] as const) matrix[list].forEach((entry, index) => entry.forEach(([key, value]) => finite(value, [list, index, key])));
}

function cartesian(dimensions: RawMatrix['dimensions']): Array<Map<string, MatrixValue>> {
  if (dimensions.length === 0) return [];
  let combos: Array<Map<string, MatrixValue>> = [new Map()];
  for (const [key, values] of dimensions) {
    combos = combos.flatMap((combo) => values.map((value) => new Map(combo).set(key, value)));
  }
  return combos;
}

/** An exclude entry removes every combination that has all its values; it may name only the matrix's own keys. */
function applyExcludes(job: string, combos: Array<Map<string, MatrixValue>>, excludes: Pairs[], original: Set<string>, problems: MatrixProblem[]): Array<Map<string, MatrixValue>> {
  let kept = combos;
  excludes.forEach((entry, index) => {
    const unknown = entry.filter(([key]) => !original.has(key));
    for (const [key] of unknown) {
      const guess = closest(key, [...original]);
      problems.push({
        severity: 'error',
        message: `exclude entry ${index + 1} of job '${job}' names '${key}', which is not a key of its matrix${guess ? ` (did you mean '${guess}'?)` : `; the keys are ${listOf([...original])}`}`,
        path: ['exclude', index, key],
        part: 'key',
      });
    }
    if (unknown.length > 0) return;
    const before = kept.length;
    kept = kept.filter((combo) => !entry.every(([key, value]) => sameValue(combo.get(key), value)));
    if (kept.length === before) {
      problems.push({ severity: 'warning', message: `exclude entry ${index + 1} of job '${job}' matches no combination, so it removes nothing; check its values`, path: ['exclude', index], part: 'value' });
    }
  });
  return kept;
}

/**
 * An include entry extends every combination of the product that has all of its values for the
 * matrix's own keys (its other keys are added, overwriting what an earlier entry added); an entry
 * that extends none is a combination of its own. Returns those, with their entry's index.
 */
function applyIncludes(combos: Array<Map<string, MatrixValue>>, includes: Pairs[], original: Set<string>): Array<{ values: Map<string, MatrixValue>; from: number }> {
  const added: Array<{ values: Map<string, MatrixValue>; from: number }> = [];
  includes.forEach((entry, index) => {
    const matching = combos.filter((combo) => entry.every(([key, value]) => !original.has(key) || sameValue(combo.get(key), value)));
    for (const combo of matching) for (const [key, value] of entry) combo.set(key, value);
    if (matching.length === 0) added.push({ values: new Map(entry), from: index });
  });
  return added;
}

/** What the rest of validation needs of one job's matrix. */
export interface MatrixInfo {
  /** the keys `${{ matrix.KEY }}` may read */
  keys: ReadonlySet<string>;
  /** the jobs it expands into (0 when it cannot be expanded) */
  count: number;
}

/** Checks the matrix of job `job` (a steps job with a `matrix:` key) and reports its problems where they are. */
export function checkMatrix(src: YamlSource, diags: DiagnosticList, job: string, value: unknown): MatrixInfo {
  const keys = matrixKeysOf(value);
  const raw = readMatrix(value);
  if (!raw) return { keys, count: 0 };
  const { combinations, problems } = expandMatrix(job, raw);
  for (const problem of problems) {
    const path = ['jobs', job, 'matrix', ...problem.path];
    const at = problem.part === 'key' ? src.keyAt(path) : src.valueAt(path);
    if (problem.severity === 'error') diags.error('SPEC_MATRIX', problem.message, at);
    else diags.warning('SPEC_MATRIX', problem.message, at);
  }
  return { keys, count: combinations.length };
}
