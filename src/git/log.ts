// Reading a repository's history for people: is a commit there, and which commits lie between two.
// Only full commit ids reach git, after `--end-of-options`, so no value can be read as an option.
import { git, gitMaybe } from './command.js';

export interface CommitSummary {
  sha: string;
  subject: string;
  author: string;
  /** the author date */
  timeMs: number;
}

/** A full commit id: SHA-1 (40 hex digits) or SHA-256 (64); the only form these functions take. */
export function isCommitId(value: string): boolean {
  return /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(value);
}

function checkCommitId(value: string): void {
  if (!isCommitId(value)) throw new Error(`not a full commit id: ${JSON.stringify(value.slice(0, 80))}`);
}

/** Whether `sha` names a commit of the repository at `repo` (false for a missing or non-commit object). */
export async function hasCommit(repo: string, sha: string): Promise<boolean> {
  checkCommitId(sha);
  const out = await gitMaybe(['rev-parse', '--verify', '--quiet', '--end-of-options', `${sha}^{commit}`], { cwd: repo, timeoutMs: 10_000 });
  return out !== undefined && out.trim() === sha;
}

/**
 * The commits reachable from `tip` but not from `base` (`base..tip`), newest first, at most
 * `limit`; `truncated` when there are more. Both must be commits of the repository (hasCommit).
 */
export async function commitsBetween(repo: string, base: string, tip: string, limit: number): Promise<{ commits: CommitSummary[]; truncated: boolean }> {
  checkCommitId(base);
  checkCommitId(tip);
  const max = Math.max(1, Math.min(Math.trunc(limit), 10_000));
  // %s is the subject on one line and an author name holds no newline or NUL: lines and NULs split safely
  const out = await git(['log', '--no-color', `--max-count=${max + 1}`, '--format=%H%x00%at%x00%an%x00%s', '--end-of-options', `${base}..${tip}`, '--'], {
    cwd: repo,
    timeoutMs: 15_000,
    maxBufferBytes: 8 * 1024 * 1024,
  });
  const commits: CommitSummary[] = [];
  for (const line of out.split('\n')) {
    const [sha, at, author, subject] = line.split('\u0000');
    if (!sha || at === undefined || author === undefined || subject === undefined) continue;
    commits.push({ sha, subject, author, timeMs: Number(at) * 1000 });
  }
  return { commits: commits.slice(0, max), truncated: commits.length > max };
}
