// Git hosting over smart HTTP at /git/<project>.git, spoken by git's own `git http-backend`
// behind our authentication. A push is observed by comparing the repository's refs before and
// after the receive-pack request (serialised per repository), so the server learns exactly which
// branches and tags moved without trusting anything the client says.
import { spawn } from 'node:child_process';
import { mkdir, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { git, gitEnvironment } from '../git/index.js';
import { projectNameProblem } from '../store/index.js';
import { requestUrl } from '../http/index.js';
import { ARCHIVE_ROUTE, serveCheckout, type CheckoutTokens } from './checkout.js';
import { repositoryPath } from './repositories.js';

export const ZERO_SHA = '0'.repeat(40);
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
  /**
   * Called after a push was stored, before git hears that it is done; the lines it returns are
   * shown to the pusher (`remote: …`). When it throws, the push is undone and the pusher told.
   */
  onPush(project: string, updates: RefUpdate[], who: string): Promise<string[]>;
  /** job checkouts (GET …/archive/COMMIT.tar) with their own short-lived tokens */
  checkouts?: CheckoutTokens;
  log?: (message: string) => void;
}

async function exists(dir: string): Promise<boolean> {
  return stat(dir).then(
    () => true,
    () => false,
  );
}

/** The project's bare repository, made when it is not there yet (a first push, webhook or poll). */
export async function ensureBareRepository(reposDir: string, project: string): Promise<string> {
  const dir = repositoryPath(reposDir, project);
  return (await exists(dir)) ? dir : createBareRepository(reposDir, project);
}

export async function createBareRepository(reposDir: string, project: string): Promise<string> {
  const dir = repositoryPath(reposDir, project);
  await mkdir(reposDir, { recursive: true });
  await git(['init', '-q', '--bare', '-b', 'main', '--', dir]);
  await git(['config', 'http.receivepack', 'true'], { cwd: dir });
  return dir;
}

export async function readRefs(repo: string): Promise<Map<string, string>> {
  const stdout = await git(['for-each-ref', '--format=%(objectname) %(refname)'], { cwd: repo, maxBufferBytes: 64 * 1024 * 1024 });
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

/** A pkt-line of a side-band stream: band 2 is progress git shows as `remote: …`, band 3 an error. */
function sidebandPacket(band: 2 | 3, text: string): Buffer {
  const payload = Buffer.concat([Buffer.from([band]), Buffer.from(`${text.replace(/[\r\n]+/g, ' ').slice(0, 1000)}\n`, 'utf8')]);
  return Buffer.concat([Buffer.from((payload.length + 4).toString(16).padStart(4, '0'), 'latin1'), payload]);
}

function deny(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers });
  res.end(`${message}\n`);
}

export class GitHosting {
  private readonly locks = new Map<string, Promise<void>>();

  constructor(private readonly options: GitHostingOptions) {}

  /** Serves the request if it is a git one (/git/…); false otherwise. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL | undefined = requestUrl(req)): boolean {
    if (!url?.pathname.startsWith('/git/')) return false;
    this.serve(req, res, url).catch((err: unknown) => {
      this.options.log?.(`git: ${(err as Error).stack ?? String(err)}`);
      if (!res.headersSent) deny(res, 500, 'internal error');
      else res.destroy();
    });
    return true;
  }

  private async serve(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const checkout = this.options.checkouts ? ARCHIVE_ROUTE.exec(url.pathname) : null;
    if (checkout && this.options.checkouts) return serveCheckout(req, res, checkout, this.options.reposDir, this.options.checkouts);
    const match = ROUTE.exec(url.pathname);
    if (!match) return deny(res, 404, 'not a git repository path: use /git/<project>.git');
    const project = match[1] ?? '';
    const endpoint = match[2] ?? '';
    const problem = projectNameProblem(project);
    if (problem) return deny(res, 400, problem);
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
        await ensureBareRepository(this.options.reposDir, project);
      });
    }

    if (service === 'receive-pack' && endpoint === 'git-receive-pack') {
      // the response ends only once the push is recorded, so that a push git reports as done
      // has its runs queued already
      let ending: Buffer | undefined;
      try {
        await this.serialised(project, async () => {
          const before = await readRefs(repo);
          const relayed = await this.backend(req, res, url, project, who.name, false);
          const updates = diffRefs(before, await readRefs(repo));
          const messages = await this.recordPush(repo, project, updates, who.name);
          ending = relayed.sideband ? Buffer.concat([...messages.map((m) => sidebandPacket(m.band, m.text)), relayed.tail]) : relayed.tail;
        });
      } finally {
        if (!res.writableEnded) res.end(ending);
      }
      return;
    }
    await this.backend(req, res, url, project, who.name, true);
  }

  /**
   * Tells the caller of the push; lines for the pusher come back. When that fails the refs go
   * back to where they were and the pusher gets an error: a push git reports as done always has
   * its runs.
   */
  private async recordPush(repo: string, project: string, updates: RefUpdate[], who: string): Promise<Array<{ band: 2 | 3; text: string }>> {
    if (updates.length === 0) return [];
    try {
      return (await this.options.onPush(project, updates, who)).map((text) => ({ band: 2 as const, text }));
    } catch (err) {
      this.options.log?.(`push to ${project} not recorded, undone: ${(err as Error).stack ?? String(err)}`);
      for (const update of updates) {
        const args = update.before === ZERO_SHA ? ['update-ref', '-d', '--', update.ref, update.after] : ['update-ref', '--', update.ref, update.before, update.after];
        await git(args, { cwd: repo }).catch((undo: unknown) => this.options.log?.(`push to ${project}: ${update.ref} not restored: ${(undo as Error).message}`));
      }
      return [{ band: 3, text: `slipway could not record this push (${(err as Error).message.slice(0, 200)}); nothing was changed, push again` }];
    }
  }

  /**
   * Runs one request through `git http-backend` (CGI) and relays its answer. With `endResponse`
   * false the last four bytes are held back and returned (the flush packet that ends a push's
   * side-band stream), so that messages can still be put in front of them.
   */
  private backend(req: IncomingMessage, res: ServerResponse, url: URL, project: string, user: string, endResponse: true): Promise<void>;
  private backend(req: IncomingMessage, res: ServerResponse, url: URL, project: string, user: string, endResponse: false): Promise<{ tail: Buffer; sideband: boolean }>;
  private backend(req: IncomingMessage, res: ServerResponse, url: URL, project: string, user: string, endResponse: boolean): Promise<void | { tail: Buffer; sideband: boolean }> {
    const pathInfo = url.pathname.slice('/git'.length);
    const env: NodeJS.ProcessEnv = {
      ...gitEnvironment(),
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
      // the body so far held back (at most 4 bytes), and the fifth byte of the body: a band number
      // when the client asked for side-band
      let held = Buffer.alloc(0);
      let firstBytes = Buffer.alloc(0);
      const relay = (data: Buffer): void => {
        if (firstBytes.length < 5) firstBytes = Buffer.concat([firstBytes, data.subarray(0, 5 - firstBytes.length)]);
        let out = data;
        if (!endResponse) {
          const all = Buffer.concat([held, data]);
          held = all.subarray(Math.max(0, all.length - 4));
          out = all.subarray(0, all.length - held.length);
        }
        if (out.length > 0 && !res.write(out)) {
          child.stdout.pause();
          res.once('drain', () => child.stdout.resume());
        }
      };
      child.stdout.on('data', (chunk: Buffer) => {
        if (headersDone) return relay(chunk);
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
        if (rest.length > 0) relay(rest);
      });
      child.on('error', reject);
      child.on('close', (code) => {
        if (!headersDone) {
          this.options.log?.(`git http-backend for ${project} failed (${code}): ${stderr.trim()}`);
          if (!res.headersSent) deny(res, 500, 'git failed');
        } else if (endResponse) {
          res.end();
        }
        const band = firstBytes[4];
        resolve(endResponse ? undefined : { tail: held, sideband: held.toString('latin1') === '0000' && band !== undefined && band >= 1 && band <= 3 });
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
