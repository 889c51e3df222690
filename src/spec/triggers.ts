// `on.push` and `on.pull_request` past what the schema checks (path filters that cannot work),
// their compiled form, and what the server asks of a Pipeline's pull request trigger.
import { clip, type DiagnosticList } from './diagnostics.js';
import { defaults, MAX_TRIGGER_PATTERNS } from './defaults.js';
import { matchesAny } from './globs.js';
import type { PathFilter, Pipeline, Triggers } from './model.js';
import { checkPathGlob, pathGlobWarning } from './path-filters.js';
import type { RawPipeline } from './schema.js';
import type { YamlSource } from './yaml-source.js';

const FILTERED = [
  { key: 'push', runs: 'no push would run' },
  { key: 'pull_request', runs: 'no pull request would run' },
] as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The rules of `paths` / `paths-ignore` that span a list: one of the two, not only `!` patterns. */
export function checkTriggerFilters(src: YamlSource, diags: DiagnosticList): void {
  const raw: unknown = src.toJS();
  const on = isRecord(raw) && isRecord(raw.on) ? raw.on : undefined;
  if (!on) return;
  for (const { key, runs } of FILTERED) {
    const trigger = on[key];
    if (!isRecord(trigger)) continue;
    if (trigger.paths !== undefined && trigger['paths-ignore'] !== undefined) {
      diags.error(
        'SPEC_VALUE',
        `'on.${key}' has both 'paths' and 'paths-ignore': use one; to leave files out of paths, list them after the others as '!pattern'`,
        src.keyAt(['on', key, 'paths-ignore']),
      );
    }
    for (const filter of ['paths', 'paths-ignore'] as const) {
      const list = trigger[filter];
      // an empty, too long or mistyped list has its error from the schema walk already
      if (!Array.isArray(list) || list.length === 0 || list.length > MAX_TRIGGER_PATTERNS) continue;
      list.forEach((pattern: unknown, index) => {
        if (typeof pattern !== 'string' || checkPathGlob(pattern) !== undefined) return;
        const warning = pathGlobWarning(pattern);
        if (warning) diags.warning('SPEC_GLOB', `pattern '${clip(pattern)}' in 'on.${key}.${filter}': ${warning}`, src.valueAt(['on', key, filter, index]));
      });
      if (!list.every((pattern) => typeof pattern === 'string' && pattern.startsWith('!'))) continue;
      const effect = filter === 'paths' ? `nothing matches, so ${runs}; list the files that count first (e.g. 'src/**')` : 'nothing is ignored; list the files to ignore first';
      diags.error('SPEC_VALUE', `'on.${key}.${filter}' has only '!' patterns, which take back what the patterns before them matched: ${effect}`, src.valueAt(['on', key, filter]));
    }
  }
}

function compilePathFilter(raw: { paths?: string[]; 'paths-ignore'?: string[] }): PathFilter {
  return { ...(raw.paths ? { paths: raw.paths } : {}), ...(raw['paths-ignore'] ? { pathsIgnore: raw['paths-ignore'] } : {}) };
}

/** `on.push` compiled; `on: { push: }` (null) is every branch. */
export function compilePushTrigger(raw: NonNullable<RawPipeline['on']>['push']): NonNullable<Triggers['push']> {
  const push = raw ?? {};
  return { ...(push.branches ? { branches: push.branches } : {}), ...(push.tags ? { tags: push.tags } : {}), ...compilePathFilter(push) };
}

/** `on.pull_request` compiled, or undefined when the file has none; `pull_request:` (null) is every base branch. */
export function compilePullRequestTrigger(on: RawPipeline['on']): Triggers['pullRequest'] {
  if (on === undefined || !Object.hasOwn(on, 'pull_request')) return undefined;
  const pr = on.pull_request ?? {};
  return {
    ...(pr.branches ? { branches: pr.branches } : {}),
    ...compilePathFilter(pr),
    cancelInProgress: pr['cancel-in-progress'] ?? defaults.pullRequest.cancelInProgress,
  };
}

/** Whether a pull request into `baseBranch` starts a run; false when the file has no `on.pull_request`. */
export function isPullRequestTriggered(pipeline: Pipeline, baseBranch: string): boolean {
  const trigger = pipeline.triggers.pullRequest;
  if (!trigger) return false;
  return trigger.branches === undefined || matchesAny(trigger.branches, baseBranch);
}

/**
 * Whether a newer push to a pull request cancels its older run that is still going
 * (`on.pull_request.cancel-in-progress`, on unless the file turns it off).
 */
export function pullRequestConcurrency(pipeline: Pipeline): boolean {
  return pipeline.triggers.pullRequest?.cancelInProgress ?? defaults.pullRequest.cancelInProgress;
}
