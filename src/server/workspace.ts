// A server run's workspace: the pushed commit exported from the project's bare repository with
// `git archive` (never a work tree that could change under the run), plus an unpacked copy that
// cache keys read their key files from.
import { execFile, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import type { SourceSnapshot } from '../engine/index.js';
import { git, gitMaybe } from '../git/index.js';
import { MAX_PIPELINE_FILE_BYTES } from '../spec/index.js';

const run = promisify(execFile);

/** `withFiles`: also unpack it, for cache keys and Kubernetes manifests read from the workspace. */
export async function snapshotCommit(repo: string, commit: string, branch: string, runDir: string, withFiles: boolean): Promise<SourceSnapshot> {
  if (!/^[0-9a-f]{40}$/.test(commit)) throw new Error(`'${commit}' is not a commit id`);
  await mkdir(runDir, { recursive: true });
  const tarPath = path.join(runDir, 'source.tar');
  const archive = spawn('git', ['-C', repo, 'archive', '--format=tar', commit], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  archive.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => archive.on('close', resolve));
  await pipeline(archive.stdout, createWriteStream(tarPath));
  if ((await exited) !== 0) throw new Error(`git archive ${commit} failed: ${stderr.trim()}`);
  const dir = path.join(runDir, 'source');
  await mkdir(dir, { recursive: true });
  if (withFiles) await run('tar', ['-x', '-f', tarPath, '-C', dir]);
  return { dir, tarPath, commit, branch, isDirty: false, isGit: true };
}

/** A file of a commit as a run's planning sees it: its text, or why there is none to run. */
export type CommitFile = { kind: 'text'; text: string } | { kind: 'missing' } | { kind: 'too-large'; sizeBytes: number };

/** A file of a commit, read only when it is within the pipeline file's size limit. */
export async function readCommitFile(repo: string, commit: string, file: string, limitBytes = MAX_PIPELINE_FILE_BYTES): Promise<CommitFile> {
  if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(commit)) throw new Error(`'${commit}' is not a commit id`);
  // one listing gives the entry's type, object and size: the push path spawns git once less
  const listed = (await gitMaybe(['ls-tree', '-l', commit, '--', file], { cwd: repo }))?.trim();
  const entry = listed ? /^\d+ (\w+) ([0-9a-f]+) +(\d+|-)\t/.exec(listed) : null;
  if (!entry || entry[1] !== 'blob') return { kind: 'missing' };
  const sizeBytes = Number(entry[3]);
  if (sizeBytes > limitBytes) return { kind: 'too-large', sizeBytes };
  return { kind: 'text', text: await git(['cat-file', 'blob', entry[2]!], { cwd: repo, maxBufferBytes: limitBytes + 1024 }) };
}

/** The pipeline file of a commit, or undefined when it has none (or one too large to read). */
export async function readFileAtCommit(repo: string, commit: string, file: string): Promise<string | undefined> {
  const read = await readCommitFile(repo, commit, file);
  return read.kind === 'text' ? read.text : undefined;
}

export async function commitInfo(repo: string, commit: string): Promise<{ message: string; timestampMs: number }> {
  if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(commit)) throw new Error(`'${commit}' is not a commit id`);
  const stdout = await git(['log', '-1', '--format=%ct%n%B', commit, '--'], { cwd: repo });
  const [seconds = '0', ...message] = stdout.split('\n');
  return { timestampMs: Number(seconds) * 1000, message: message.join('\n').trim() };
}
