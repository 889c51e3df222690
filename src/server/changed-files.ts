// The files a push or a pull request changed, for `paths` / `paths-ignore`: between the commit
// before and after a push (a new branch: against the default branch), or between where a pull
// request's branch left its base and its head. Undefined when that cannot be told here (a commit
// not in the repository, a diff too large): the run then goes ahead, as an undecided filter does.
import { gitMaybe, hasCommit, isCommitId } from '../git/index.js';
import { MAX_FILTERED_FILES } from '../spec/index.js';

/** a diff's names, NUL-separated: MAX_FILTERED_FILES paths of at most 1024 bytes, and some room */
const DIFF_LIMIT_BYTES = 16 * 1024 * 1024;

async function namesChanged(repo: string, from: string, to: string): Promise<string[] | undefined> {
  // both are full commit ids checked above; --end-of-options keeps them from reading as flags
  const out = await gitMaybe(['diff', '--name-only', '-z', '--no-renames', '--end-of-options', from, to, '--'], { cwd: repo, maxBufferBytes: DIFF_LIMIT_BYTES }).catch(() => undefined);
  if (out === undefined) return undefined;
  const names = out.split('\0').filter(Boolean);
  return names.length > MAX_FILTERED_FILES ? undefined : names;
}

const isCommitIn = async (repo: string, commit: string): Promise<boolean> => isCommitId(commit) && hasCommit(repo, commit);

/** The tip of a branch of the repository, or undefined. */
async function branchTip(repo: string, branch: string): Promise<string | undefined> {
  const tip = (await gitMaybe(['rev-parse', '--verify', '--quiet', '--end-of-options', `refs/heads/${branch}^{commit}`], { cwd: repo }))?.trim();
  return tip && isCommitId(tip) ? tip : undefined;
}

/** The default branch's tip (what HEAD names), or undefined. */
async function defaultTip(repo: string): Promise<string | undefined> {
  const tip = (await gitMaybe(['rev-parse', '--verify', '--quiet', 'HEAD^{commit}'], { cwd: repo }))?.trim();
  return tip && isCommitId(tip) ? tip : undefined;
}

/** What a push of `after` over `before` changed; a new branch (before all zeros) against the default branch. */
export async function filesChangedByPush(repo: string, before: string, after: string): Promise<string[] | undefined> {
  if (!(await isCommitIn(repo, after))) return undefined;
  const from = /^0+$/.test(before) ? await defaultTip(repo) : before;
  if (from === undefined || from === after || !(await isCommitIn(repo, from))) return undefined;
  return namesChanged(repo, from, after);
}

/** What a pull request changes: from where its head left `baseBranch` to its head. */
export async function filesChangedByPullRequest(repo: string, baseBranch: string, head: string): Promise<string[] | undefined> {
  if (!(await isCommitIn(repo, head))) return undefined;
  const base = await branchTip(repo, baseBranch);
  if (base === undefined) return undefined;
  const forkPoint = (await gitMaybe(['merge-base', '--end-of-options', base, head], { cwd: repo }))?.trim();
  if (!forkPoint || !isCommitId(forkPoint)) return undefined;
  return namesChanged(repo, forkPoint, head);
}
