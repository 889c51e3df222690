// Git hosting over smart HTTP at /git/<project>.git, spoken by git's own `git http-backend`
// behind our authentication. A push is observed by comparing the repository's refs before and
// after the receive-pack request (serialised per repository), so the server learns exactly which
// branches and tags moved without trusting anything the client says.
import { spawn } from 'node:child_process';
import { execFile } from 'node:child_process';
import { mkdir, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const ZERO_SHA = '0'.repeat(40);
const PROJECT = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const ROUTE = /^\/git\/([^/]+)\.git\/(info\/refs|git-upload-pack|git-receive-pack)$/;

export interface RefUpdate {
  ref: string;
  /** ZERO_SHA when the ref was created */
  before: string;
  /** ZERO_SHA when the ref was deleted */
  after: string;
}

export type GitService = 'upload-pack' | 'receive-pack';

export interface GitHostingOptions {
  reposDir: string;
  /** who the request is; undefined → 401. `canWrite` is checked for receive-pack. */
  authenticate(req: IncomingMessage): Promise<{ name: string; canRead: boolean; canWrite: boolean } | undefined>;
  /** whether a push may create a project that does not exist yet */
  canCreate(project: string, who: string): Promise<boolean>;
  /** called after a push was stored; errors are the caller's to report */
  onPush(project: string, updates: RefUpdate[], who: string): Promise<void>;
  log?: (message: string) => void;
}

export function isValidProjectName(name: string): boolean {
  return PROJECT.test(name) && !name.includes('..');
}

export function repositoryPath(reposDir: string, project: string): string {
  return path.join(reposDir, `${project}.git`);
}

async function exists(dir: string): Promise<boolean> {
  return stat(dir).then(
    () => true,
    () => false,
  );
}

export async function createBareRepository(reposDir: string, project: string): Promise<string> {
  const dir = repositoryPath(reposDir, project);
  await mkdir(reposDir, { recursive: true });
  await run('git', ['init', '-q', '--bare', '-b', 'main', dir]);
  await run('git', ['-C', dir, 'config', 'http.receivepack', 'true']);
  return dir;
}

export async function readRefs(repo: string): Promise<Map<string, string>> {
  const { stdout } = await run('git', ['-C', repo, 'for-each-ref', '--format=%(objectname) %(refname)'], { maxBuffer: 64 * 1024 * 1024 });
  const refs = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const [sha, ref] = line.split(' ');
    if (sha && ref) refs.set(ref, sha);
  }
  return refs;
}

export function diffRefs(before: Map<string, string>, after: Map<string, string>): RefUpdate[] {
  const updates: RefUpdate[] = [];
  for (const [ref, sha] of after) if (before.get(ref) !== sha) updates.push({ ref, before: before.get(ref) ?? ZERO_SHA, after: sha });
  for (const [ref, sha] of before) if (!after.has(ref)) updates.push({ ref, before: sha, after: ZERO_SHA });
  return updates;
}

function deny(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers });
  res.end(`${message}\n`);
}

export class GitHosting {
  private readonly locks = new Map<string, Promise<void>>();

  constructor(private readonly options: GitHostingOptions) {}

  /** Serves the request if it is a git one (/git/…); false otherwise. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!url.pathname.startsWith('/git/')) return false;
    this.serve(req, res, url).catch((err: unknown) => {
      this.options.log?.(`git: ${(err as Error).stack ?? String(err)}`);
      if (!res.headersSent) deny(res, 500, 'internal error');
      else res.destroy();
    });
    return true;
  }

  private async serve(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const match = ROUTE.exec(url.pathname);
    if (!match) return deny(res, 404, 'not a git repository path: use /git/<project>.git');
    const project = match[1] ?? '';
    const endpoint = match[2] ?? '';
    if (!isValidProjectName(project)) return deny(res, 400, `'${project}' is not a valid project name (a-z, 0-9, . _ -; at most 63)`);
    const service: GitService | undefined =
      endpoint === 'info/refs'
        ? url.searchParams.get('service') === 'git-receive-pack'
          ? 'receive-pack'
          : url.searchParams.get('service') === 'git-upload-pack'
            ? 'upload-pack'
            : undefined
        : endpoint === 'git-receive-pack'
          ? 'receive-pack'
          : 'upload-pack';
    if (!service) return deny(res, 403, 'only the smart HTTP protocol is served (git 1.6.6 or newer)');
    if ((endpoint === 'info/refs' && req.method !== 'GET') || (endpoint !== 'info/refs' && req.method !== 'POST')) {
      return deny(res, 405, 'method not allowed');
    }

    const who = await this.options.authenticate(req);
    if (!who) return deny(res, 401, 'authentication required: use a Slipway token as the password', { 'WWW-Authenticate': 'Basic realm="slipway"' });
    if (!who.canRead || (service === 'receive-pack' && !who.canWrite)) {
      return deny(res, 403, `the token may not ${service === 'receive-pack' ? 'push to' : 'read'} ${project}`);
    }

    const repo = repositoryPath(this.options.reposDir, project);
    if (!(await exists(repo))) {
      if (service !== 'receive-pack' || !(await this.options.canCreate(project, who.name))) {
        return deny(res, 404, `no project ${project}`);
      }
      await this.serialised(project, async () => {
        if (!(await exists(repo))) await createBareRepository(this.options.reposDir, project);
      });
    }

    if (service === 'receive-pack' && endpoint === 'git-receive-pack') {
      // the response ends only once the push is recorded, so that a push git reports as done
      // has its runs queued already
      try {
        let updates: RefUpdate[] = [];
        await this.serialised(project, async () => {
          const before = await readRefs(repo);
          await this.backend(req, res, url, project, who.name, false);
          updates = diffRefs(before, await readRefs(repo));
        });
        if (updates.length > 0) await this.options.onPush(project, updates, who.name);
      } finally {
        res.end();
      }
      return;
    }
    await this.backend(req, res, url, project, who.name, true);
  }

  /** Runs one request through `git http-backend` (CGI) and relays its answer. */
  private backend(req: IncomingMessage, res: ServerResponse, url: URL, project: string, user: string, endResponse: boolean): Promise<void> {
    const pathInfo = url.pathname.slice('/git'.length);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      GIT_PROJECT_ROOT: this.options.reposDir,
      GIT_HTTP_EXPORT_ALL: '1',
      PATH_INFO: pathInfo,
      REQUEST_METHOD: req.method ?? 'GET',
      QUERY_STRING: url.search.replace(/^\?/, ''),
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      REMOTE_USER: user,
      REMOTE_ADDR: req.socket.remoteAddress ?? '',
      GIT_HTTP_MAX_REQUEST_BUFFER: '100M',
      ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: String(req.headers['content-encoding']) } : {}),
      ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
      ...(req.headers['content-length'] ? { CONTENT_LENGTH: String(req.headers['content-length']) } : {}),
    };
    return new Promise((resolve, reject) => {
      const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      req.pipe(child.stdin);
      child.stdin.on('error', () => undefined);
      let head = Buffer.alloc(0);
      let headersDone = false;
      child.stdout.on('data', (chunk: Buffer) => {
        if (headersDone) {
          if (!res.write(chunk)) {
            child.stdout.pause();
            res.once('drain', () => child.stdout.resume());
          }
          return;
        }
        head = Buffer.concat([head, chunk]);
        let end = head.indexOf('\r\n\r\n');
        let sep = 4;
        if (end === -1) {
          end = head.indexOf('\n\n');
          sep = 2;
        }
        if (end === -1) return;
        headersDone = true;
        let status = 200;
        const headers: Record<string, string> = {};
        for (const line of head.subarray(0, end).toString('latin1').split(/\r?\n/)) {
          const colon = line.indexOf(':');
          if (colon <= 0) continue;
          const name = line.slice(0, colon).trim();
          const value = line.slice(colon + 1).trim();
          if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 200;
          else headers[name] = value;
        }
        res.writeHead(status, headers);
        const rest = head.subarray(end + sep);
        if (rest.length > 0) res.write(rest);
      });
      child.on('error', reject);
      child.on('close', (code) => {
        if (!headersDone) {
          this.options.log?.(`git http-backend for ${project} failed (${code}): ${stderr.trim()}`);
          if (!res.headersSent) deny(res, 500, 'git failed');
        } else if (endResponse) {
          res.end();
        }
        resolve();
      });
    });
  }

  private async serialised(project: string, work: () => Promise<void>): Promise<void> {
    const previous = this.locks.get(project) ?? Promise.resolve();
    const current = previous.then(work, work);
    const settled = current.catch(() => undefined);
    this.locks.set(project, settled);
    try {
      await current;
    } finally {
      if (this.locks.get(project) === settled) this.locks.delete(project);
    }
  }
}
