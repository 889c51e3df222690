// Where a run keeps what outlives one job: artifacts handed to the jobs that need them (per run)
// and caches shared between runs of a project, keyed by the hash of the job's key files.
//
//   <home>/runs/<run>/source.tar                      the workspace snapshot
//   <home>/runs/<run>/artifacts/<job>/<n>.tar          one tar per artifact path
//   <home>/cache/<project>/<job>/<key>/<n>.tar         one tar per cached path
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import os from 'node:os';
import path from 'node:path';

export function slipwayHome(env: NodeJS.ProcessEnv): string {
  return env.SLIPWAY_HOME ?? path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'slipway');
}

function safeSegment(name: string): string {
  return name.replace(/[^a-zA-Z0-9_.-]/g, '_');
}

/**
 * A job's folder name. Matrix jobs are named `test (os=a b)` and their values may hold spaces and
 * punctuation, so two names can differ only where safeSegment replaces (`test (os=a_b)`): such a
 * name gets a hash of itself appended, and each job keeps a folder of its own.
 */
function jobSegment(job: string): string {
  const safe = safeSegment(job);
  return safe === job ? safe : `${safe}-${createHash('sha256').update(job).digest('hex').slice(0, 12)}`;
}

/** A workspace-relative path without leading ./ or trailing / (and never escaping upwards). */
export function normalizeWorkspacePath(p: string): string {
  const normal = path.posix.normalize(p.replace(/\/+$/, '')).replace(/^\.\/+/, '');
  if (normal.startsWith('..') || path.posix.isAbsolute(normal)) {
    throw new Error(`path '${p}' leaves the workspace`);
  }
  return normal === '' ? '.' : normal;
}

/** The folder into which a tar of `p` (whose entries start with p's last segment) unpacks. */
export function parentOf(p: string): string {
  const dir = path.posix.dirname(normalizeWorkspacePath(p));
  return dir === '' ? '.' : dir;
}

/** The folder that holds one folder per run (named by its id). */
export function runsRoot(home: string): string {
  return path.join(home, 'runs');
}

export class RunStorage {
  readonly runDir: string;

  constructor(
    readonly home: string,
    readonly runId: string,
  ) {
    this.runDir = path.join(runsRoot(home), safeSegment(runId));
  }

  async prepare(): Promise<void> {
    await mkdir(this.runDir, { recursive: true });
  }

  get sourceTarPath(): string {
    return path.join(this.runDir, 'source.tar');
  }

  /** Where a job's artifact tars are: `<n>.tar` for its n-th artifact path. */
  artifactDir(job: string): string {
    return path.join(this.runDir, 'artifacts', jobSegment(job));
  }

  artifactPath(job: string, index: number): string {
    return path.join(this.artifactDir(job), `${index}.tar`);
  }

  cacheDir(project: string, job: string, key: string): string {
    return path.join(this.home, 'cache', safeSegment(project), jobSegment(job), key);
  }

  /** Writes a tar stream to `target` through a temporary file, so a half-written tar is never used. */
  async save(tar: NodeJS.ReadableStream, target: string): Promise<number> {
    await mkdir(path.dirname(target), { recursive: true });
    const temp = `${target}.${process.pid}.${Date.now()}.tmp`;
    try {
      await pipeline(tar, createWriteStream(temp));
      await rename(temp, target);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
    return (await stat(target)).size;
  }

  async open(file: string): Promise<NodeJS.ReadableStream | undefined> {
    try {
      await stat(file);
    } catch {
      return undefined;
    }
    return createReadStream(file);
  }

  /** Removes what only this run needed (source and artifacts); caches stay. */
  async cleanup(): Promise<void> {
    await rm(this.runDir, { recursive: true, force: true });
  }
}

/** The cache key: a hash of the job, its cached paths and the content of its key files. */
export async function cacheKey(workspaceDir: string, job: string, keyFiles: string[], paths: string[]): Promise<string> {
  const hash = createHash('sha256');
  hash.update(`job\0${job}\0paths\0${paths.join('\0')}\0`);
  for (const file of keyFiles) {
    hash.update(`file\0${file}\0`);
    try {
      hash.update(await readFile(path.join(workspaceDir, normalizeWorkspacePath(file))));
    } catch {
      hash.update('\0missing\0');
    }
  }
  return hash.digest('hex').slice(0, 32);
}
