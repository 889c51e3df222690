// Checkouts for jobs that run away from the server (Pods): a short-lived capability to download
// one commit of one project as a tar from the server's git hosting, and the route that serves it.
// The capability is an HMAC of (project, commit, expiry) under a key of its own derived from the
// server's secret key (src/http/signed.ts), so it needs no table, every replica on the same key
// accepts it, and it cannot be stretched to another commit, another project or a later time.
import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { isSignatureOf, purposeKey, signatureOf } from '../http/index.js';
import { projectNameProblem } from '../store/index.js';
import { repositoryPath } from './repositories.js';

/** long enough for a Pod to be scheduled and its init container to start; a checkout is one GET */
export const CHECKOUT_TOKEN_LIFETIME_MS = 15 * 60_000;
const PREFIX = 'slwc_';
export const ARCHIVE_ROUTE = /^\/git\/([^/]+)\.git\/archive\/([0-9a-f]{40})\.tar$/;

export class CheckoutTokens {
  private readonly key: Buffer;

  constructor(
    secretKey: Buffer,
    private readonly lifetimeMs = CHECKOUT_TOKEN_LIFETIME_MS,
    private readonly now: () => number = Date.now,
  ) {
    this.key = purposeKey(secretKey, 'slipway checkout token v1');
  }

  mint(project: string, commit: string): string {
    const expires = this.now() + this.lifetimeMs;
    return `${PREFIX}${expires.toString(36)}.${signatureOf(this.key, signed(project, commit, expires))}`;
  }

  /** Whether `token` lets its bearer download `commit` of `project` now. */
  verify(token: string, project: string, commit: string): boolean {
    const match = /^slwc_([0-9a-z]{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!match) return false;
    const expires = parseInt(match[1] ?? '', 36);
    if (!Number.isSafeInteger(expires) || expires < this.now()) return false;
    return isSignatureOf(this.key, signed(project, commit, expires), match[2] ?? '');
  }
}

/** What a checkout token signs: the project and commit are not in the token, the request names them. */
function signed(project: string, commit: string, expires: number): string {
  return `${project}\0${commit}\0${expires}`;
}

/** The URL a job's checkout downloads from, under `baseUrl` (how Pods reach this server). */
export function checkoutUrl(baseUrl: string, project: string, commit: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/git/${encodeURIComponent(project)}.git/archive/${commit}.tar`;
}

function refuse(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...(status === 401 ? { 'WWW-Authenticate': 'Bearer realm="slipway checkout"' } : {}) });
  res.end(`${message}\n`);
}

/**
 * GET /git/PROJECT.git/archive/COMMIT.tar with `Authorization: Bearer <checkout token>`: the
 * commit as `git archive` makes it. Only the path and the token are read from the request.
 */
export async function serveCheckout(req: IncomingMessage, res: ServerResponse, match: RegExpExecArray, reposDir: string, tokens: CheckoutTokens): Promise<void> {
  const project = match[1] ?? '';
  const commit = match[2] ?? '';
  if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 405, 'a checkout is a GET');
  if (projectNameProblem(project)) return refuse(res, 404, 'no such checkout');
  const header = req.headers.authorization ?? '';
  const token = header.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : '';
  // the same answer for a wrong, expired or foreign token: nothing to learn from trying
  if (!tokens.verify(token, project, commit)) return refuse(res, 401, 'a checkout needs the job\'s checkout token, unexpired, for this project and commit');
  const repo = repositoryPath(reposDir, project);
  if (!(await stat(repo).then(() => true, () => false))) return refuse(res, 404, 'no such checkout');
  const archive = spawn('git', ['-C', repo, 'archive', '--format=tar', commit, '--'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  archive.stderr.on('data', (d: Buffer) => (stderr += d.toString().slice(0, 4000)));
  const first = await new Promise<Buffer | undefined>((resolve) => {
    archive.stdout.once('data', (chunk: Buffer) => resolve(chunk));
    archive.once('close', () => resolve(undefined));
  });
  if (!first) return refuse(res, 404, `no such commit (${stderr.trim().split('\n')[0] ?? ''})`);
  archive.stdout.pause();
  res.writeHead(200, { 'Content-Type': 'application/x-tar', 'Cache-Control': 'no-store' });
  if (req.method === 'HEAD') {
    archive.kill();
    return void res.end();
  }
  res.write(first);
  await pipeline(archive.stdout, res).catch(() => res.destroy());
}
