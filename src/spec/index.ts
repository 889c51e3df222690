// The spec module's public face: slipway.yaml in, a typed Pipeline (or every problem) out, plus
// what the rest of Slipway needs to use one: expression evaluation, triggers, formatting.
import { readFile, stat } from 'node:fs/promises';
import type { Diagnostic, LoadResult, Pipeline } from './model.js';
import { compilePipeline } from './compile.js';
import { DiagnosticList } from './diagnostics.js';
import { matchesAny } from './globs.js';
import { validatePipeline } from './validate.js';
import { MAX_FILE_BYTES, parseYaml, type YamlSource } from './yaml-source.js';

export type * from './model.js';
// makeTemplate / makeCondition build model values in code (tests, the engine's own jobs).
export { renderTemplate, evaluateCondition, makeTemplate, makeCondition } from './expressions.js';
export { formatDiagnostic, formatDiagnostics, specCodes, type FormatOptions, type SpecCode } from './diagnostics.js';
export { parseDuration, formatDuration } from './durations.js';
export { pipelineJsonSchema } from './json-schema.js';
export { SCHEMA_ID } from './defaults.js';
export { MAX_FILE_BYTES as MAX_PIPELINE_FILE_BYTES } from './yaml-source.js';

/** Parses and validates pipeline text: the YAML document when it is valid, and every problem. */
function checkText(text: string, file: string): { valid: YamlSource | undefined; diagnostics: Diagnostic[] } {
  const diags = new DiagnosticList(file);
  const source = parseYaml(text, file, diags);
  const valid = source !== undefined && validatePipeline(source, diags) ? source : undefined;
  return { valid, diagnostics: diags.sorted() };
}

/** Parses and checks pipeline text; `file` is the name diagnostics and positions carry. */
export function parsePipeline(text: string, file: string): LoadResult {
  const { valid, diagnostics } = checkText(text, file);
  return valid ? { pipeline: compilePipeline(valid), diagnostics } : { diagnostics };
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
}

/**
 * Checks a pipeline file the way loadPipeline does, without compiling it into a Pipeline: what
 * `slipway validate` needs, which runs nothing.
 */
export async function checkPipelineFile(path: string, options: LoadOptions = {}): Promise<CheckResult> {
  const file = options.displayName ?? path;
  const read = await readPipelineText(path, file);
  if (!('text' in read)) return { valid: false, jobs: 0, diagnostics: read.diagnostics };
  const { valid, diagnostics } = checkText(read.text, file);
  const jobs = (valid?.toJS() as { jobs?: unknown } | undefined)?.jobs;
  return { valid: valid !== undefined, jobs: jobs !== null && typeof jobs === 'object' ? Object.keys(jobs).length : 0, diagnostics };
}

async function readPipelineText(path: string, file: string): Promise<{ text: string } | { diagnostics: Diagnostic[] }> {
  const diags = new DiagnosticList(file);
  try {
    const info = await stat(path);
    if (info.isDirectory()) {
      diags.error('SPEC_FILE', 'is a folder, not a pipeline file', { line: 0, col: 0 });
      return { diagnostics: diags.sorted() };
    }
    if (info.size > MAX_FILE_BYTES) {
      diags.error('SPEC_TOO_LARGE', `the file is ${(info.size / 1048576).toFixed(1)} MiB; a pipeline file may be at most 1 MiB`, { line: 0, col: 0 });
      return { diagnostics: diags.sorted() };
    }
    return { text: await readFile(path, 'utf8') };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    diags.error('SPEC_FILE', `cannot read the pipeline file: ${why}`, { line: 0, col: 0 });
    return { diagnostics: diags.sorted() };
  }
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
