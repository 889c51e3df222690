// The problems a pipeline file can have: the registry of stable codes (documented one to one in
// docs/pipeline-file.md, a test keeps them in step), a collector, and the text forms users read.
import type { Diagnostic, SourcePosition } from './model.js';

/** Every code the spec front end emits, with the one-line meaning the docs table repeats. */
export const specCodes = {
  SPEC_FILE: 'the file cannot be read (missing, a folder, no permission)',
  SPEC_TOO_LARGE: 'the file is above 1 MiB, or holds too many YAML nodes',
  SPEC_YAML_SYNTAX: 'the text is not valid YAML',
  SPEC_DUPLICATE_KEY: 'the same key appears twice in one mapping',
  SPEC_ALIAS_LIMIT: 'YAML aliases expand too much (a "billion laughs" file)',
  SPEC_TYPE: 'a value has the wrong type (a string where a list is expected, …)',
  SPEC_UNKNOWN_KEY: 'a key that is not valid at that place (often a typo: see the did-you-mean)',
  SPEC_MISSING_KEY: 'a required key is absent',
  SPEC_VALUE: 'a value of the right type that is not allowed (out of range, not one of the choices, …)',
  SPEC_NAME: 'a job, service, variable or argument name that is not allowed',
  SPEC_VERSION: '`version` is not 1',
  SPEC_DURATION: 'a duration is not Go-style (`500ms`, `10s`, `1m30s`, `2h`) or not positive',
  SPEC_GLOB: 'a branch or tag pattern is empty or has an unbalanced `[`, `{` or `(`',
  SPEC_SECRET_NAME: 'a secret name is not an upper-case identifier (`^[A-Z_][A-Z0-9_]*$`)',
  SPEC_JOB_KIND: 'a job is not exactly one of: steps, build, deploy',
  SPEC_NEEDS_UNKNOWN: '`needs` names a job that does not exist',
  SPEC_NEEDS_CYCLE: '`needs` forms a cycle (a job needing itself included)',
  SPEC_NEEDS_DUPLICATE: '`needs` lists the same job twice (warning)',
  SPEC_EXPRESSION: 'a `${{ }}` expression or `if:` condition is malformed or reads something it cannot',
  SPEC_IGNORED: 'a setting that has no effect where it is written (warning)',
} as const;

export type SpecCode = keyof typeof specCodes;

/** Collects every problem of one file; nothing stops at the first. */
export class DiagnosticList {
  readonly items: Diagnostic[] = [];

  constructor(readonly file: string) {}

  error(code: SpecCode, message: string, at: { line: number; col: number }): void {
    this.items.push({ code, severity: 'error', message, file: this.file, line: at.line, col: at.col });
  }

  warning(code: SpecCode, message: string, at: { line: number; col: number }): void {
    this.items.push({ code, severity: 'warning', message, file: this.file, line: at.line, col: at.col });
  }

  get hasErrors(): boolean {
    return this.items.some((d) => d.severity === 'error');
  }

  /**
   * In file order, so output reads top to bottom; each problem once, as a mapping merged into
   * several places (`<<: *defaults`) is checked at each of them.
   */
  sorted(): Diagnostic[] {
    const seen = new Set<string>();
    return [...this.items]
      .sort((a, b) => a.line - b.line || a.col - b.col)
      .filter((d) => {
        const key = `${d.line}:${d.col}:${d.code}:${d.message}`;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      });
  }
}

export function positionOf(file: string, at: { line: number; col: number }): SourcePosition {
  return { file, line: at.line, col: at.col };
}

/** `file:line:col: error: message` (line and col left out when the problem is the whole file). */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.line > 0 ? `${d.file}:${d.line}:${d.col}` : d.file;
  return `${where}: ${d.severity}: ${d.message}`;
}

export interface FormatOptions {
  /** ANSI colours, for a terminal */
  color?: boolean;
  /** the file's text: adds a code frame under each diagnostic */
  source?: string;
}

/** Diagnostics as a terminal shows them: the line form, then (with `source`) a frame with a caret. */
export function formatDiagnostics(list: readonly Diagnostic[], options: FormatOptions = {}): string {
  const paint = (code: string, text: string): string => (options.color ? `\x1b[${code}m${text}\x1b[0m` : text);
  const lines = options.source?.replace(/\r?\n$/, '').split(/\r?\n/);
  const out: string[] = [];
  for (const d of list) {
    const where = d.line > 0 ? `${d.file}:${d.line}:${d.col}` : d.file;
    const severity = d.severity === 'error' ? paint('1;31', 'error') : paint('1;33', 'warning');
    out.push(`${paint('1', where)}: ${severity}: ${d.message} ${paint('2', `[${d.code}]`)}`);
    if (lines && d.line > 0) out.push(codeFrame(lines, d, paint));
  }
  return out.length ? `${out.join('\n')}\n` : '';
}

function codeFrame(lines: string[], d: Diagnostic, paint: (code: string, text: string) => string): string {
  const first = Math.max(1, d.line - 1);
  const last = Math.min(lines.length, d.line + 1);
  const width = String(last).length;
  const frame: string[] = [];
  for (let n = first; n <= last; n++) {
    const text = (lines[n - 1] ?? '').replace(/\t/g, ' ');
    const gutter = `${String(n).padStart(width)} | `;
    frame.push(n === d.line ? `${paint('1', '>')} ${gutter}${text}` : `  ${paint('2', gutter)}${text}`);
    if (n === d.line) frame.push(`  ${' '.repeat(width)} | ${' '.repeat(Math.max(0, d.col - 1))}${paint(d.severity === 'error' ? '1;31' : '1;33', '^')}`);
  }
  return frame.join('\n');
}
