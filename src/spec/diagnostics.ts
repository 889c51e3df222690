// The problems a pipeline file can have: the registry of stable codes (documented one to one in
// docs/pipeline-file.md, a test keeps them in step), a collector, and the text forms users read.
import type { Diagnostic, SourcePosition } from './model.js';

/** Every code the spec front end emits, with the one-line meaning the docs table repeats. */
export const specCodes = {
  SPEC_FILE: 'the file cannot be read (missing, a folder, no permission)',
  SPEC_TOO_LARGE: 'the file is above 1 MiB, or holds too many YAML nodes or jobs',
  SPEC_TOO_DEEP: 'YAML nested deeper than 64 levels (aliases and merges expanded)',
  SPEC_TOO_MANY: 'more than 1000 problems: the rest are not listed, and the file is refused',
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
  SPEC_GLOB: 'a branch, tag or path pattern is empty, has an unbalanced `[`, `{` or `(`, is above 256 characters, nests deeper than 8 or has more than 3 `*` wildcards, or a path pattern starts with `/` (warning: `**` inside a path segment)',
  SPEC_SECRET_NAME: 'a secret name is not an upper-case identifier (`^[A-Z_][A-Z0-9_]*$`)',
  SPEC_JOB_KIND: 'a job is not exactly one of: steps, build, deploy',
  SPEC_NEEDS_UNKNOWN: '`needs` names a job that does not exist',
  SPEC_NEEDS_CYCLE: '`needs` forms a cycle (a job needing itself included)',
  SPEC_NEEDS_DUPLICATE: '`needs` lists the same job twice (warning)',
  SPEC_MATRIX: 'a matrix expands to no job or too many, an exclude names a key the matrix lacks, or a combination comes twice (warning: an exclude that removes nothing)',
  SPEC_EXPRESSION: 'a `${{ }}` expression or `if:` condition is malformed or reads something it cannot',
  SPEC_EXPRESSION_LIMIT: 'an expression is longer than 4096 characters or nests deeper than 32 levels',
  SPEC_SCHEDULE: 'a schedule whose cron expression is not 5 valid fields or never fires, or whose timezone is not an IANA name (warning: the same schedule twice)',
  SPEC_IGNORED: 'a setting that has no effect where it is written (warning)',
  SPEC_DEPLOY_HOST: 'a deploy `host` is not a host name, lists more than 20, or is claimed by deploys to two environments (warning: a name listed twice)',
  SPEC_DEPLOY_TLS: 'a deploy `tls` is `true` without certificate files, names a path that is not absolute, or has no `host` to serve',
  SPEC_INTERNAL: 'Slipway failed while checking the file: a bug to report, with the file',
} as const;

export type SpecCode = keyof typeof specCodes;

/** Problems kept per file: enough for any real file, bounded for a hostile one (and the server's log). */
export const MAX_DIAGNOSTICS = 1000;
/** Messages quote the file's own text; past this they are cut, so one huge key cannot flood output. */
const MAX_MESSAGE_LENGTH = 1000;

/**
 * Collects every problem of one file; nothing stops at the first. Each problem is kept once, as a
 * mapping merged into several places (`<<: *defaults`) is checked at each of them. Past
 * MAX_DIAGNOSTICS the list is `full`: one SPEC_TOO_MANY error closes it, and checks may stop.
 */
export class DiagnosticList {
  private readonly kept: Diagnostic[] = [];
  private readonly seen = new Set<string>();
  private overflow: Diagnostic | undefined;

  constructor(readonly file: string) {}

  error(code: SpecCode, message: string, at: { line: number; col: number }): void {
    this.add(code, 'error', message, at);
  }

  warning(code: SpecCode, message: string, at: { line: number; col: number }): void {
    this.add(code, 'warning', message, at);
  }

  private add(code: SpecCode, severity: Diagnostic['severity'], message: string, at: { line: number; col: number }): void {
    const text = message.length > MAX_MESSAGE_LENGTH ? `${message.slice(0, MAX_MESSAGE_LENGTH)}…` : message;
    const key = `${at.line}:${at.col}:${code}:${text}`;
    if (this.seen.has(key)) return;
    const diagnostic: Diagnostic = { code, severity, message: text, file: this.file, line: at.line, col: at.col };
    if (this.kept.length >= MAX_DIAGNOSTICS) {
      this.overflow ??= {
        ...diagnostic,
        code: 'SPEC_TOO_MANY',
        severity: 'error',
        message: `more than ${MAX_DIAGNOSTICS} problems: the rest (from here on) are not listed; fix these first`,
      };
      return;
    }
    this.seen.add(key);
    this.kept.push(diagnostic);
  }

  /** Whether further problems would be dropped: long checks may stop early. */
  get full(): boolean {
    return this.overflow !== undefined;
  }

  get hasErrors(): boolean {
    return this.overflow !== undefined || this.kept.some((d) => d.severity === 'error');
  }

  /** In file order, so output reads top to bottom; a SPEC_TOO_MANY note last. */
  sorted(): Diagnostic[] {
    const list = [...this.kept].sort((a, b) => a.line - b.line || a.col - b.col);
    return this.overflow ? [...list, this.overflow] : list;
  }
}

/** The file's own text inside a message, cut to `max` characters: one huge value must not drown it. */
export function clip(text: string, max = 80): string {
  const shown = text.length > max ? `${text.slice(0, max)}…` : text;
  // A quoted value must not move the cursor or colour a terminal: control characters show escaped.
  return shown.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
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

/** Lines of a frame are cut to this many characters around the caret: a minified line stays readable. */
const FRAME_WIDTH = 120;

function codeFrame(lines: string[], d: Diagnostic, paint: (code: string, text: string) => string): string {
  const first = Math.max(1, d.line - 1);
  const last = Math.min(lines.length, d.line + 1);
  const width = String(last).length;
  // One window for every line of the frame, so the caret lines up with the text above it.
  const from = Math.max(0, d.col - 1 - FRAME_WIDTH / 2);
  const frame: string[] = [];
  for (let n = first; n <= last; n++) {
    const full = lines[n - 1] ?? '';
    const cut = full.slice(from, from + FRAME_WIDTH).replace(/\t/g, ' ');
    const text = `${from > 0 ? '…' : ''}${cut}${from + FRAME_WIDTH < full.length ? '…' : ''}`;
    const gutter = `${String(n).padStart(width)} | `;
    frame.push(n === d.line ? `${paint('1', '>')} ${gutter}${text}` : `  ${paint('2', gutter)}${text}`);
    if (n === d.line) {
      const caretAt = Math.max(0, d.col - 1 - from) + (from > 0 ? 1 : 0);
      frame.push(`  ${' '.repeat(width)} | ${' '.repeat(caretAt)}${paint(d.severity === 'error' ? '1;31' : '1;33', '^')}`);
    }
  }
  return frame.join('\n');
}
