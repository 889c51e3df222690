// Commit status back to the forge a webhook came from (GitHub, Gitea/Forgejo, GitLab), so the
// commit shows pending, then success or failure with a link to the run. Reporting never fails a run.
// The API URL is the project's setting, so it is checked like any user input that makes the server
// send a request: never to link-local, unspecified or cloud metadata addresses (also through DNS,
// at the moment of connecting), never to where a redirect points. Loopback and private networks
// stay allowed: self-hosted forges live there.
import type { LookupFunction } from 'node:net';
import { outboundHostProblem, refusedAddressKind } from './outbound.js';
import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

export type CommitState = 'pending' | 'success' | 'failure';

export interface CommitStatusTarget {
  provider: 'github' | 'gitea' | 'gitlab';
  /** the API base; GitHub's default is https://api.github.com, Gitea and GitLab need theirs */
  apiUrl?: string;
  token: string;
  /** owner/name (GitLab: the project's full path) */
  repository: string;
}

export interface CommitStatus {
  commit: string;
  state: CommitState;
  description: string;
  targetUrl?: string;
  /** the check's name on the forge; default `slipway` (a preview reports as `slipway/preview`) */
  context?: string;
}

function base(target: CommitStatusTarget): string {
  if (target.apiUrl) return target.apiUrl.replace(/\/+$/, '');
  if (target.provider === 'github') return 'https://api.github.com';
  throw new Error(`${target.provider} commit status needs the API URL of the server`);
}

/** The request each forge documents for creating a commit status. */
export function commitStatusRequest(target: CommitStatusTarget, status: CommitStatus): { url: string; init: RequestInit } {
  const api = base(target);
  const description = status.description.slice(0, 140);
  if (target.provider === 'gitlab') {
    const state = status.state === 'pending' ? 'running' : status.state === 'success' ? 'success' : 'failed';
    const query = new URLSearchParams({ state, name: status.context ?? 'slipway', description, ...(status.targetUrl ? { target_url: status.targetUrl } : {}) });
    return {
      url: `${api}/api/v4/projects/${encodeURIComponent(target.repository)}/statuses/${status.commit}?${query.toString()}`,
      init: { method: 'POST', headers: { 'PRIVATE-TOKEN': target.token } },
    };
  }
  const body = JSON.stringify({ state: status.state, description, context: status.context ?? 'slipway', ...(status.targetUrl ? { target_url: status.targetUrl } : {}) });
  const [owner, name] = target.repository.split('/');
  const path = `/repos/${encodeURIComponent(owner ?? '')}/${encodeURIComponent(name ?? '')}/statuses/${status.commit}`;
  return target.provider === 'github'
    ? { url: `${api}${path}`, init: { method: 'POST', body, headers: { Authorization: `Bearer ${target.token}`, Accept: 'application/vnd.github+json', 'Content-Type': 'application/json' } } }
    : { url: `${api}/api/v1${path}`, init: { method: 'POST', body, headers: { Authorization: `token ${target.token}`, 'Content-Type': 'application/json' } } };
}

/**
 * Why a commit-status API URL is refused (not http(s), credentials in it, a link-local,
 * unspecified or cloud metadata host in any spelling), or undefined when it may be used. Loopback
 * and private addresses are allowed. Names are checked again when a status is sent (DNS).
 */
export function commitStatusApiUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'it must be an absolute http(s) URL, e.g. https://git.example.com';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `it must be an http(s) URL, not ${parsed.protocol}`;
  if (parsed.search !== '' || parsed.hash !== '') return 'it must not have a query or #fragment (the API paths are added to it)';
  if (parsed.username !== '' || parsed.password !== '') return 'it must not carry a user name or password (the token is sent in a header)';
  const problem = outboundHostProblem(parsed.hostname);
  return problem ? `${problem}; commit statuses are not sent there` : undefined;
}

/** Every address a host name resolves to (the system resolver, as connections use it). */
export type LookupAll = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

export interface ReportOptions {
  /** how host names are resolved (tests); default dns.lookup with all addresses */
  lookup?: LookupAll;
  timeoutMs?: number;
}

const lookupAll: LookupAll = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/**
 * The connection's own lookup: resolves once, refuses the name when any of its addresses is
 * refused, and connects only to the addresses checked here, so a name that answers differently a
 * moment later (DNS rebinding) cannot move the request.
 */
function checkedLookup(lookup: LookupAll): LookupFunction {
  return (hostname, options, callback) => {
    lookup(hostname).then(
      (addresses) => {
        const refused = addresses.flatMap((a) => {
          const kind = refusedAddressKind(a.address);
          return kind ? [`${a.address} (${kind})`] : [];
        });
        if (addresses.length === 0) {
          callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 4);
        } else if (refused.length > 0) {
          callback(new Error(`${hostname} resolves to ${refused.join(', ')}; commit statuses are not sent there`), '', 4);
        } else if (options.all) {
          callback(null, addresses);
        } else {
          callback(null, addresses[0]!.address, addresses[0]!.family);
        }
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 4),
    );
  };
}

export async function reportCommitStatus(target: CommitStatusTarget, status: CommitStatus, options: ReportOptions = {}): Promise<void> {
  const { url, init } = commitStatusRequest(target, status);
  const refused = commitStatusApiUrlProblem(url);
  if (refused) throw new Error(`${target.provider} commit status for ${status.commit.slice(0, 7)} not sent: the API URL: ${refused}`);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const { statusCode, location, text } = await send(new URL(url), init, checkedLookup(options.lookup ?? lookupAll), timeoutMs).catch((err: Error) => {
    const why = err.name === 'AbortError' ? `no answer within ${timeoutMs / 1000}s` : err.message;
    throw new Error(`${target.provider} commit status for ${status.commit.slice(0, 7)} not sent: ${why}`);
  });
  if (statusCode >= 300 && statusCode < 400) {
    throw new Error(`${target.provider} answered ${statusCode} to the commit status for ${status.commit.slice(0, 7)}: a redirect${location ? ` to ${location}` : ''}, not followed (set the API URL to where the forge's API is)`);
  }
  if (statusCode < 200 || statusCode >= 300) throw new Error(`${target.provider} answered ${statusCode} to the commit status for ${status.commit.slice(0, 7)}: ${text.slice(0, 200)}`);
}

/** One request over node:http(s), which follows no redirect, with the start of the answer's body. */
function send(url: URL, init: RequestInit, lookup: LookupFunction, timeoutMs: number): Promise<{ statusCode: number; location?: string; text: string }> {
  const body = typeof init.body === 'string' ? init.body : undefined;
  const headers: Record<string, string> = { 'User-Agent': 'slipway', Accept: '*/*', ...(init.headers as Record<string, string>) };
  if (body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(body));
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method ?? 'GET', headers, lookup, signal: AbortSignal.timeout(timeoutMs) }, (res: IncomingMessage) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (piece: string) => {
        // the start is enough for a message; the rest is read and dropped
        if (text.length < 1000) text += piece;
      });
      res.on('end', () => resolve({ statusCode: res.statusCode ?? 0, ...(res.headers.location ? { location: res.headers.location } : {}), text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
