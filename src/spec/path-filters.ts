// `paths` / `paths-ignore` of `on.push` and `on.pull_request`: which changed files count, as
// GitHub Actions reads them. Patterns are taken in order and a `!` pattern takes back what the
// ones before it matched, so `[src/**, '!src/docs/**']` is "src, but not its docs".
import type { PathFilter, Pipeline } from './model.js';
import { clip } from './diagnostics.js';
import { checkGlob, globMatcher } from './globs.js';

/** More changed files than this are not filtered: the run runs (as when the diff is unknown). */
export const MAX_FILTERED_FILES = 10_000;
/**
 * A path longer than this, or with a segment longer than 255 characters (longer than any file
 * system allows), is not matched: it counts as a change the filter cannot rule out. A hostile
 * name would otherwise make one match of a 3-wildcard pattern take seconds.
 */
export const MAX_FILTERED_PATH_LENGTH = 1024;
const MAX_SEGMENT_LENGTH = 255;
/**
 * What deciding may cost the server's event loop. A pull request chooses both its file names and
 * its patterns; past this the run runs, which is always safe.
 */
export const PATH_FILTER_BUDGET_MS = 250;

/** The segments of a pattern: split at the `/`s outside brackets, where a `/` is part of an alternative. */
function segmentsOf(body: string): string[] {
  const segments: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (ch === '\\') i++;
    else if (ch === '{' || ch === '(' || ch === '[') depth++;
    else if ((ch === '}' || ch === ')' || ch === ']') && depth > 0) depth--;
    else if (ch === '/' && depth === 0) {
      segments.push(body.slice(start, i));
      start = i + 1;
    }
  }
  return [...segments, body.slice(start)];
}

/**
 * The pattern as picomatch should read it to mean what it means on GitHub, where `**` crosses
 * folders even beside other characters: `**.js` is `**\/*.js` (every folder), `docs**` is
 * `docs*{,\/**}`. Picomatch alone reads such a `**` as `*`, within one folder (but for a leading
 * `**.ext`): the same file would run on GitHub and not here.
 */
export function pathPatternBody(pattern: string): string {
  const body = pattern.startsWith('!') ? pattern.slice(1) : pattern;
  return body.includes('**') ? segmentsOf(body).map(crossingSegment).join('/') : body;
}

/** One segment with a leading or trailing `**` made to cross folders; any other segment as it is. */
function crossingSegment(segment: string): string {
  if (segment === '**' || !segment.includes('**')) return segment;
  const leading = /^\*{2,}([^*].*)$/.exec(segment)?.[1];
  if (leading !== undefined && !leading.includes('**')) return `**/*${leading}`;
  const trailing = /^(.*[^*\\])\*{2,}$/.exec(segment)?.[1];
  if (trailing !== undefined && !trailing.includes('**')) return `${trailing}*{,/**}`;
  return segment;
}

/** Why `pattern` is not a usable path pattern, or undefined when it is fine. */
export function checkPathGlob(pattern: string): string | undefined {
  const body = pattern.startsWith('!') ? pattern.slice(1) : pattern;
  if (body.startsWith('/')) return `repository paths have no leading '/': write '${body.replace(/^\/+/, '')}'`;
  if (body.startsWith('./')) return `repository paths have no leading './': write '${body.replace(/^(\.\/)+/, '')}'`;
  if (body.split('/').includes('..')) return "repository paths never hold '..': the pattern would match nothing";
  return checkGlob(pathPatternBody(pattern));
}

/** A `**` inside a segment (`a**b`): it stays within one folder, unlike GitHub's. */
export function pathGlobWarning(pattern: string): string | undefined {
  const body = pattern.startsWith('!') ? pattern.slice(1) : pattern;
  const segment = segmentsOf(body).find((s) => s.includes('**') && s !== '**' && crossingSegment(s) === s);
  if (segment === undefined) return undefined;
  return `'**' inside '${segment}' matches within one folder, as '*' does; to cross folders, give '**' a segment of its own (e.g. 'a*/**/*b')`;
}

/**
 * Whether the list of patterns, read in order with `!` taking back, takes in `file`; undefined
 * once `deadline` (performance.now()) has passed: the caller cannot decide.
 */
function matchesList(patterns: readonly string[], file: string, deadline: number): boolean | undefined {
  let matched = false;
  for (const pattern of patterns) {
    const negated = pattern.startsWith('!');
    // a pattern that could only confirm what is already decided is not worth a match
    if (matched !== negated) continue;
    if (performance.now() > deadline) return undefined;
    if (globMatcher(pathPatternBody(pattern))(file)) matched = !negated;
  }
  return matched;
}

function isFilterable(file: string): boolean {
  return file.length <= MAX_FILTERED_PATH_LENGTH && file.split('/').every((segment) => segment.length <= MAX_SEGMENT_LENGTH);
}

function filesPhrase(count: number): string {
  return count === 1 ? 'the one changed file' : `the ${count} changed files`;
}

/**
 * Whether a push or pull request that changed `changedFiles` (paths relative to the repository
 * root) runs under the trigger's path filter. No filter, or no trigger of that kind: it runs.
 * When it does not, `why` names the filter. Too many files, an unusual path, or a match that
 * takes too long cannot rule a run out: it runs.
 */
export function pathsAllow(pipeline: Pipeline, event: 'push' | 'pull_request', changedFiles: readonly string[]): { run: boolean; why?: string } {
  const trigger: PathFilter | undefined = event === 'push' ? pipeline.triggers.push : pipeline.triggers.pullRequest;
  const where = event === 'push' ? 'on.push' : 'on.pull_request';
  if (!trigger || changedFiles.length > MAX_FILTERED_FILES) return { run: true };
  const deadline = performance.now() + PATH_FILTER_BUDGET_MS;
  if (trigger.paths) {
    if (changedFiles.length === 0) return { run: false, why: `${where}.paths: no file changed` };
    for (const file of changedFiles) {
      if (!isFilterable(file) || matchesList(trigger.paths, file, deadline) !== false) return { run: true };
    }
    const what = changedFiles.length === 1 ? `${filesPhrase(1)} (${clip(changedFiles[0] ?? '')}) does not match` : `none of ${filesPhrase(changedFiles.length)} match`;
    return { run: false, why: `${where}.paths: ${what}` };
  }
  if (trigger.pathsIgnore) {
    // nothing changed is nothing ignored: an empty commit pushed to re-run CI still runs
    if (changedFiles.length === 0) return { run: true };
    for (const file of changedFiles) {
      if (!isFilterable(file) || matchesList(trigger.pathsIgnore, file, deadline) !== true) return { run: true };
    }
    const what = changedFiles.length === 1 ? `${filesPhrase(1)} (${clip(changedFiles[0] ?? '')}) matches` : `all ${changedFiles.length} changed files match`;
    return { run: false, why: `${where}.paths-ignore: ${what}` };
  }
  return { run: true };
}
