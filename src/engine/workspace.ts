// The Workspace a run starts from: the content of the pipeline's folder in a git work tree
// (tracked files and untracked ones git does not ignore, as they are on disk, uncommitted changes
// included), packed once into a tar that every job's sandbox unpacks.
import { spawn } from 'node:child_process';
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { git as runGit } from '../git/index.js';

export interface SourceSnapshot {
  /** the folder the workspace was taken from */
  dir: string;
  /** the tar every job unpacks into its workspace */
  tarPath: string;
  commit: string;
  branch: string;
  /** true when the work tree differs from the commit */
  isDirty: boolean;
  isGit: boolean;
  /** the `origin` remote, for the image's source label */
  remoteUrl?: string;
}

export class WorkspaceError extends Error {
  readonly code = 'WORKSPACE_FAILED';
}

/** git in the user's own work tree: their config (safe.directory, …) applies. */
function git(dir: string, args: string[]): Promise<string> {
  return runGit(args, { cwd: dir, isolated: false, maxBufferBytes: 256 * 1024 * 1024 });
}

export async function isGitWorkTree(dir: string): Promise<boolean> {
  try {
    return (await git(dir, ['rev-parse', '--is-inside-work-tree'])).trim() === 'true';
  } catch {
    return false;
  }
}

export async function snapshotWorkspace(dir: string, tarPath: string): Promise<SourceSnapshot> {
  if (!(await isGitWorkTree(dir))) {
    throw new WorkspaceError(`${dir} is not in a git work tree; slipway run takes the workspace from git (run 'git init' first)`);
  }
  const commit = await git(dir, ['rev-parse', '--verify', '-q', 'HEAD']).then((s) => s.trim()).catch(() => '0'.repeat(40));
  const branch = await git(dir, ['symbolic-ref', '--short', '-q', 'HEAD'])
    .then((s) => s.trim())
    .catch(() => 'HEAD');
  const status = await git(dir, ['status', '--porcelain', '--', '.']).catch(() => '');
  const listed = (await git(dir, ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--deduplicate', '--', '.']))
    .split('\0')
    .filter((f) => f.length > 0);
  // tracked files deleted in the work tree are listed by git but are not there to pack
  const present: string[] = [];
  for (const file of listed) {
    try {
      const stat = await lstat(path.join(dir, file));
      if (!stat.isDirectory()) present.push(file);
    } catch {
      // deleted in the work tree
    }
  }
  await packFiles(dir, present, tarPath);
  const remoteUrl = await git(dir, ['remote', 'get-url', 'origin']).then((s) => s.trim()).catch(() => '');
  return { dir, tarPath, commit, branch, isDirty: status.trim().length > 0, isGit: true, ...(remoteUrl ? { remoteUrl } : {}) };
}

function packFiles(dir: string, files: string[], tarPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const tar = spawn('tar', ['-c', '-f', tarPath, '--null', '--no-recursion', '-T', '-'], {
      cwd: dir,
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    tar.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    tar.on('error', reject);
    tar.on('close', (code) => (code === 0 ? resolve() : reject(new WorkspaceError(`packing the workspace failed: ${stderr.trim()}`))));
    tar.stdin.end(files.map((f) => `${f}\0`).join(''));
  });
}
