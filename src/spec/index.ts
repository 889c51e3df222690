// The spec module's public face: slipway.yaml in, a typed Pipeline (or every problem) out, plus
// what the rest of Slipway needs to use one: expression evaluation, triggers, formatting.
import { open } from 'node:fs/promises';
import type { Diagnostic, LoadResult, Pipeline } from './model.js';
import { compilePipeline } from './compile.js';
import { DiagnosticList } from './diagnostics.js';
import { matchesAny } from './globs.js';
import { validatePipeline } from './validate.js';
import { parseYaml, tooLargeMessage } from './yaml-parse.js';
import { MAX_FILE_BYTES, type YamlSource } from './yaml-source.js';

export type * from './model.js';
// makeTemplate / makeCondition build model values in code (tests, the engine's own jobs).
export { renderTemplate, evaluateCondition, makeTemplate, makeCondition } from './expressions.js';
export { formatDiagnostic, formatDiagnostics, specCodes, type FormatOptions, type SpecCode } from './diagnostics.js';
export { parseDuration, formatDuration } from './durations.js';
export { pipelineJsonSchema } from './json-schema.js';
export { SCHEMA_ID } from './defaults.js';
export { MAX_FILE_BYTES as MAX_PIPELINE_FILE_BYTES } from './yaml-source.js';
export { isPullRequestTriggered, pullRequestConcurrency } from './triggers.js';
export { pathsAllow, MAX_FILTERED_FILES } from './path-filters.js';
export { isEnvironmentName, isPreviewEnvironment, previewEnvironmentName } from './preview.js';
// on.schedule: the tick arithmetic is pure, so the server's scheduler and its tests share it
export { schedulesOf, scheduleKey, nextTick, latestTick, MAX_SCHEDULES } from './schedule.js';

/**
 * The last line of defence: the front end reports problems, it never throws. An exception here is
 * a bug in Slipway, so it becomes a diagnostic that says so (with what was found before it), never
 * a crash of `slipway validate` or of the server that reads a pushed file.
 */
function guarded<T>(diags: DiagnosticList, fallback: T, body: () => T): T {
  try {
    return body();
  } catch (err) {
    const what = err instanceof Error ? `${err.name}: ${err.message.split('\n')[0] ?? ''}` : String(err);
    diags.error('SPEC_INTERNAL', `Slipway failed while checking this file (${what}); this is a bug: please report it with the file`, { line: 1, col: 1 });
    return fallback;
  }
}

/** Parses and validates pipeline text: the YAML document when it is valid, and every problem. */
function checkText(text: string, file: string, diags: DiagnosticList): YamlSource | undefined {
  return guarded(diags, undefined, () => {
    const source = parseYaml(text, file, diags);
    return source !== undefined && validatePipeline(source, diags) ? source : undefined;
  });
}

/** Parses and checks pipeline text; `file` is the name diagnostics and positions carry. Never throws. */
export function parsePipeline(text: string, file: string): LoadResult {
  const diags = new DiagnosticList(file);
  const valid = checkText(text, file, diags);
  const pipeline = valid && guarded(diags, undefined, () => compilePipeline(valid));
  return pipeline ? { pipeline, diagnostics: diags.sorted() } : { diagnostics: diags.sorted() };
}

export interface LoadOptions {
  /** the name shown in diagnostics and kept in Pipeline.file; default: `path` as given */
  displayName?: string;
}

/**
 * Reads and parses a pipeline file. A file that cannot be read is a SPEC_FILE diagnostic (line 0),
 * not a throw, so callers handle every bad input one way. The size is checked on disk first, so a
 * huge file is refused without being read.
 */
export async function loadPipeline(path: string, options: LoadOptions = {}): Promise<LoadResult> {
  const file = options.displayName ?? path;
  const read = await readPipelineText(path, file);
  return 'text' in read ? parsePipeline(read.text, file) : { diagnostics: read.diagnostics };
}

export interface CheckResult {
  valid: boolean;
  /** how many jobs the file declares (0 when it is not a mapping with jobs) */
  jobs: number;
  diagnostics: Diagnostic[];
  /** the text that was checked, for code frames (absent when the file could not be read) */
  text?: string;
  /** a valid file: the jobs a run of it has, matrix jobs expanded (`test (node=18)`), in file order */
  expandedJobs?: string[];
}

/**
 * Checks a pipeline file the way loadPipeline does, without compiling it into a Pipeline: what
 * `slipway validate` needs, which runs nothing. Never throws.
 */
export async function checkPipelineFile(path: string, options: LoadOptions = {}): Promise<CheckResult> {
  const file = options.displayName ?? path;
  const read = await readPipelineText(path, file);
  if (!('text' in read)) return { valid: false, jobs: 0, diagnostics: read.diagnostics };
  const diags = new DiagnosticList(file);
  const valid = checkText(read.text, file, diags);
  const jobs = guarded(diags, 0, () => {
    const declared = (valid?.toJS() as { jobs?: unknown } | undefined)?.jobs;
    return declared !== null && typeof declared === 'object' ? Object.keys(declared).length : 0;
  });
  const isValid = valid !== undefined && !diags.hasErrors;
  const expandedJobs = isValid ? guarded(diags, undefined, () => compilePipeline(valid).jobs.map((job) => job.name)) : undefined;
  return { valid: isValid && !diags.hasErrors, jobs, diagnostics: diags.sorted(), text: read.text, ...(expandedJobs ? { expandedJobs } : {}) };
}

/**
 * The file's text, read through one handle with a bounded buffer: a huge file is refused by its
 * size before it is read, and a device or pipe without a size (/dev/zero, /dev/stdin) is read
 * only up to the limit.
 */
async function readPipelineText(path: string, file: string): Promise<{ text: string } | { diagnostics: Diagnostic[] }> {
  const diags = new DiagnosticList(file);
  const refuse = (code: 'SPEC_FILE' | 'SPEC_TOO_LARGE', message: string): { diagnostics: Diagnostic[] } => {
    diags.error(code, message, { line: 0, col: 0 });
    return { diagnostics: diags.sorted() };
  };
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    return refuse('SPEC_FILE', `cannot read the pipeline file: ${whyUnreadable(err)}`);
  }
  try {
    const info = await handle.stat();
    if (info.isDirectory()) return refuse('SPEC_FILE', 'is a folder, not a pipeline file');
    if (info.isFile() && info.size > MAX_FILE_BYTES) return refuse('SPEC_TOO_LARGE', tooLargeMessage(info.size));
    // Uninitialized: only the bytes read are ever looked at.
    const buffer = Buffer.allocUnsafe(MAX_FILE_BYTES + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > MAX_FILE_BYTES) return refuse('SPEC_TOO_LARGE', tooLargeMessage(info.isFile() ? Math.max(info.size, length) : undefined));
    }
    return { text: buffer.toString('utf8', 0, length) };
  } catch (err) {
    return refuse('SPEC_FILE', `cannot read the pipeline file: ${whyUnreadable(err)}`);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

function whyUnreadable(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'it is a folder';
  return err instanceof Error ? err.message : String(err);
}

/** Whether a push to `branch` starts a run. */
export function isBranchTriggered(p: Pipeline, branch: string): boolean {
  const push = p.triggers.push;
  if (!push) return false;
  return push.branches === undefined || matchesAny(push.branches, branch);
}

/** Whether a push of tag `tag` starts a run (only when `on.push.tags` lists a matching pattern). */
export function isTagTriggered(p: Pipeline, tag: string): boolean {
  const tags = p.triggers.push?.tags;
  return tags !== undefined && matchesAny(tags, tag);
}
