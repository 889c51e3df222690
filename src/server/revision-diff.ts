// What changes between two revisions of an environment: the image (and its digest), the deploy
// block path by path, and the commits between the two, read from the project's repository on this
// server. Commits that cannot be known (no commit, another project, no repository) are said, not failed.
import { stat } from 'node:fs/promises';
import type { CommitSummary, ConfigChange, RevisionDiff } from '../api/schemas.js';
import type { Revision } from '../deploy/index.js';
import { commitsBetween, GitCommandError, hasCommit, isCommitId } from '../git/index.js';
import type { RevisionRecord, Store } from '../store/types.js';
import { repositoryPath } from './repositories.js';

export const MAX_CONFIG_CHANGES = 200;
export const MAX_COMMITS = 200;
/** deeper than any deploy block: below it, a subtree is compared (and shown) whole */
const MAX_DEPTH = 8;
/** rollbacks of rollbacks: a chain longer than this is not followed to its commit */
const MAX_RESTORE_HOPS = 100;

type Side = RevisionDiff['from'];

export interface RevisionDiffContext {
  store: Store;
  /** the projects' bare repositories (the server's git hosting) */
  reposDir: string;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const own = (record: Record<string, unknown>, key: string): unknown => (Object.hasOwn(record, key) ? record[key] : undefined);

function pathTo(parent: string, key: string): string {
  const plain = /^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(key) ? key : undefined;
  if (parent === '') return plain ?? `[${JSON.stringify(key)}]`;
  return plain ? `${parent}.${plain}` : `${parent}[${JSON.stringify(key)}]`;
}

/**
 * Every value that differs between two deploy blocks as {path, from, to} — `from` or `to` left
 * out where the value is not set on that side — sorted by key, at most `limit` of them.
 */
export function diffConfig(from: unknown, to: unknown, limit = MAX_CONFIG_CHANGES): { changes: ConfigChange[]; truncated: boolean } {
  const changes: ConfigChange[] = [];
  let truncated = false;
  const add = (path: string, a: unknown, b: unknown): void => {
    if (changes.length >= limit) truncated = true;
    else changes.push({ path: path || '(config)', ...(a !== undefined ? { from: a } : {}), ...(b !== undefined ? { to: b } : {}) });
  };
  const walk = (a: unknown, b: unknown, path: string, depth: number): void => {
    if (a === b || truncated) return;
    if (depth < MAX_DEPTH && isRecord(a) && isRecord(b)) {
      for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) walk(own(a, key), own(b, key), pathTo(path, key), depth + 1);
    } else if (depth < MAX_DEPTH && Array.isArray(a) && Array.isArray(b)) {
      for (let i = 0; i < Math.max(a.length, b.length); i++) walk(a[i], b[i], `${path}[${i}]`, depth + 1);
    } else if (JSON.stringify(a) !== JSON.stringify(b)) {
      add(path, a, b);
    }
  };
  // the image is compared on its own (imageChanged, digestChanged)
  const { image: _fromImage, ...fromRest } = isRecord(from) ? from : {};
  const { image: _toImage, ...toRest } = isRecord(to) ? to : {};
  walk(fromRest, toRest, '', 0);
  return { changes, truncated };
}

/** The digest an image reference pins (`name@sha256:…`), if it pins one. */
export function digestOf(image: string): string | undefined {
  const at = image.lastIndexOf('@');
  return at >= 0 && /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(image.slice(at + 1)) ? image.slice(at + 1) : undefined;
}

/**
 * The revision whose build `revision` rolls out: itself, or for a rollback the revision it
 * restored (and so on back), which carries the run and commit the rollback itself does not.
 */
function builtBy(revision: Revision, history: readonly Revision[]): Revision {
  let current = revision;
  for (let hops = 0; hops < MAX_RESTORE_HOPS && current.trigger.commit === undefined && current.restoredFrom !== undefined; hops++) {
    const restored = history.find((r) => r.number === current.restoredFrom);
    if (!restored || restored === current) break;
    current = restored;
  }
  return current;
}

/** The project a revision came from: its run's, else what the store recorded for it (API rollouts). */
async function projectOf(store: Store, build: Revision, records: () => Promise<RevisionRecord[]>): Promise<string | undefined> {
  let projectId: string | undefined;
  if (build.trigger.runId !== undefined) projectId = (await store.getRun(build.trigger.runId).catch(() => undefined))?.projectId;
  projectId ??= (await records()).find((r) => r.number === build.number)?.projectId;
  if (projectId === undefined) return undefined;
  return (await store.getProject(projectId).catch(() => undefined))?.name;
}

async function isDirectory(dir: string): Promise<boolean> {
  return stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

interface Commits {
  commits: CommitSummary[];
  commitsRemoved: CommitSummary[];
  truncated: boolean;
  commitsUnavailable?: string;
}

const unavailable = (why: string): Commits => ({ commits: [], commitsRemoved: [], truncated: false, commitsUnavailable: why });

async function commitsOf(ctx: RevisionDiffContext, from: Side, to: Side): Promise<Commits> {
  const fromCommit = from.commit;
  const toCommit = to.commit;
  if (fromCommit === undefined || toCommit === undefined) {
    const side = fromCommit === undefined ? from : to;
    return unavailable(`revision ${side.number} has no known commit (${side.trigger.kind} by ${side.trigger.by}): only what a run rolled out, and rollbacks and promotions of it, carry one`);
  }
  const sides = [
    [from, fromCommit],
    [to, toCommit],
  ] as const;
  for (const [side, commit] of sides) if (!isCommitId(commit)) return unavailable(`revision ${side.number}'s commit is not a full commit id`);
  const project = from.project;
  if (project === undefined || to.project === undefined) return unavailable(`the project revision ${project === undefined ? from.number : to.number} was built from is not known`);
  if (project !== to.project) return unavailable(`revision ${from.number} comes from project ${project} and revision ${to.number} from project ${to.project}: their commits are not in one history`);
  if (fromCommit === toCommit) return { commits: [], commitsRemoved: [], truncated: false };
  const repo = repositoryPath(ctx.reposDir, project);
  if (!(await isDirectory(repo))) return unavailable(`project ${project} has no repository on this server`);
  for (const [side, commit] of sides) {
    if (!(await hasCommit(repo, commit))) return unavailable(`commit ${commit.slice(0, 12)} of revision ${side.number} is not in project ${project}'s repository (its history was rewritten, or the commit was never pushed here)`);
  }
  try {
    const [added, removed] = await Promise.all([commitsBetween(repo, fromCommit, toCommit, MAX_COMMITS), commitsBetween(repo, toCommit, fromCommit, MAX_COMMITS)]);
    return { commits: added.commits, commitsRemoved: removed.commits, truncated: added.truncated || removed.truncated };
  } catch (err) {
    // a repository git cannot walk (in time) leaves the rest of the diff standing; git's own words may name server paths
    if (err instanceof GitCommandError) return unavailable(`project ${project}'s history could not be read`);
    throw err;
  }
}

/**
 * The diff of revisions `fromNumber` → `toNumber` of an environment whose history (oldest first)
 * is `history`, or the number of the one that is not in it.
 */
export async function diffRevisions(
  ctx: RevisionDiffContext,
  history: readonly Revision[],
  fromNumber: number,
  toNumber: number,
): Promise<{ diff: RevisionDiff } | { missing: number }> {
  const from = history.find((r) => r.number === fromNumber);
  if (!from) return { missing: fromNumber };
  const to = history.find((r) => r.number === toNumber);
  if (!to) return { missing: toNumber };
  let records: Promise<RevisionRecord[]> | undefined;
  // the store's records are read once, and only when a revision has no run to ask
  const recordsOnce = (): Promise<RevisionRecord[]> => (records ??= ctx.store.listRevisions({ app: from.app, environment: from.environment, limit: 1000 }).catch(() => []));
  const side = async (revision: Revision): Promise<Side> => {
    const build = builtBy(revision, history);
    const digest = digestOf(revision.image);
    const project = await projectOf(ctx.store, build, recordsOnce);
    return {
      number: revision.number,
      image: revision.image,
      ...(digest !== undefined ? { digest } : {}),
      outcome: revision.outcome,
      createdAt: revision.createdAt,
      trigger: revision.trigger,
      ...(build.trigger.commit !== undefined ? { commit: build.trigger.commit } : {}),
      ...(project !== undefined ? { project } : {}),
    };
  };
  const [a, b] = await Promise.all([side(from), side(to)]);
  const config = diffConfig(from.config, to.config);
  const commits = await commitsOf(ctx, a, b);
  return {
    diff: {
      app: from.app,
      environment: from.environment,
      from: a,
      to: b,
      imageChanged: a.image !== b.image,
      ...(a.digest !== undefined && b.digest !== undefined ? { digestChanged: a.digest !== b.digest } : {}),
      configChanges: config.changes,
      ...(config.truncated ? { configTruncated: true } : {}),
      ...commits,
    },
  };
}
