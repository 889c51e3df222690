// A real server for tests: `startServer` on an ephemeral loopback port over a fresh data
// directory, and a pushed project whose pipeline the test chooses.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startServer, type RunningServer, type ServerConfig } from '../../src/server/index.js';
import { GitHosting } from '../../src/server/git.js';
import { removeDeployments } from '../deploy-docker/support.js';
import type { Logger } from '../../src/server/logger.js';
import { tempRepo, type TempRepo } from '../support/repo.js';
import { eventually } from '../support/wait.js';

const exec = promisify(execFile);

export interface TestServer extends RunningServer {
  data: string;
  token: string;
  api<T>(p: string, init?: { method?: string; body?: unknown; token?: string; headers?: Record<string, string> }): Promise<{ status: number; body: T }>;
  push(repo: TempRepo, project: string, ref?: string): Promise<void>;
  waitForRun(project: string, number: number, timeoutMs?: number): Promise<{ id: string; status: string; reason?: string; trigger: { commit: string } }>;
  /** a new token with these scopes (named after them unless `name`); its secret */
  tokenWith(scopes: string[], name?: string): Promise<string>;
  /** the rollout `id` once it is no longer in progress */
  rolloutEnded<T extends { status: string }>(id: string, timeoutMs?: number): Promise<T>;
  stop(): Promise<void>;
}

export async function testServer(
  /** `logger` (e.g. `createLogger` over a collecting output) beats `log`, which gets each line as text */
  options: { concurrency?: number; config?: Partial<ServerConfig>; env?: Record<string, string>; log?: (line: string) => void; logger?: Logger } = {},
): Promise<TestServer> {
  const data = mkdtempSync(path.join(os.tmpdir(), 'slipway-server-test-'));
  const running = await startServer(
    { port: 0, host: '127.0.0.1', dataDir: data, concurrency: options.concurrency ?? 2, allowAutoCreate: true, retryInterrupted: false, ...options.config },
    { ...process.env, SLIPWAY_ADMIN_TOKEN: 'test-admin-token-0123456789', ...options.env },
    options.logger ?? options.log ?? (() => undefined),
  );
  const token = 'test-admin-token-0123456789';
  const server: TestServer = {
    ...running,
    data,
    token,
    async api<T>(p: string, init: { method?: string; body?: unknown; token?: string; headers?: Record<string, string> } = {}) {
      const res = await fetch(`${running.url}${p}`, {
        method: init.method ?? 'GET',
        headers: {
          ...(init.token === '' ? {} : { Authorization: `Bearer ${init.token ?? token}` }),
          ...(init.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
          ...init.headers,
        },
        ...(init.body !== undefined ? { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
    },
    async push(repo: TempRepo, project: string, ref = 'main') {
      await exec('git', ['push', '-q', `${running.url.replace('http://', `http://t:${token}@`)}/git/${project}.git`, ref], { cwd: repo.dir });
    },
    async waitForRun(project: string, number: number, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { body } = await server.api<{ runs: Array<{ id: string; number: number; status: string; reason?: string; trigger: { commit: string } }> }>(`/api/runs?project=${project}`);
        // the project may not exist yet (a poll or webhook creates it)
        const run = body.runs?.find((r) => r.number === number);
        if (run && run.status !== 'queued' && run.status !== 'running') return run;
        if (Date.now() > deadline) throw new Error(`run ${number} of ${project} did not finish: ${JSON.stringify(run)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async tokenWith(scopes: string[], name = `t-${scopes.join('-').replace(/[^a-z0-9-]/gi, '_')}`) {
      const created = await server.api<{ secret: string }>('/api/tokens', { method: 'POST', body: { name, scopes } });
      if (created.status !== 201) throw new Error(`token ${name} (${scopes.join(',')}): ${created.status} ${JSON.stringify(created.body)}`);
      return created.body.secret;
    },
    async rolloutEnded<T extends { status: string }>(id: string, timeoutMs = 60_000) {
      return eventually(`rollout ${id} to end`, async () => {
        const res = await server.api<T>(`/api/rollouts/${id}`);
        return res.body.status !== 'in-progress' && res.body;
      }, timeoutMs, 200);
    },
    async stop() {
      await running.close();
      // the deploy agent outlives its server by design (the data plane keeps serving): a test's goes with it
      await removeDeployments(path.join(data, 'deploy'));
      rmSync(data, { recursive: true, force: true });
    },
  };
  return server;
}

/**
 * A forge's repository for tests: `repo` pushed to a git server on loopback that anyone may
 * read, at `url` (http://127.0.0.1:PORT/git/<project>.git) — what a webhook run fetches from.
 * `pushRef` puts a commit of `repo` at any ref there, e.g. a pull request's refs/pull/7/head.
 */
export async function forgeRepository(repo: TempRepo, project: string): Promise<{ url: string; pushRef(rev: string, ref: string): Promise<void>; close(): Promise<void> }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-forge-'));
  const hosting = new GitHosting({
    reposDir: dir,
    authenticate: async () => ({ name: 'anyone', canRead: true, canWrite: true }),
    canCreate: async () => true,
    onPush: async () => [],
  });
  const server = createServer((req, res) => {
    if (!hosting.handle(req, res)) res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/git/${project}.git`;
  await exec('git', ['push', '-q', url.replace('http://', 'http://u:p@'), 'main'], { cwd: repo.dir });
  return {
    url,
    async pushRef(rev: string, ref: string) {
      await exec('git', ['push', '-q', '-f', url.replace('http://', 'http://u:p@'), `${rev}:${ref}`], { cwd: repo.dir });
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A GitHub push delivery of `repo`'s HEAD on main, as the repository `team/<project>` on
 * github.com (or at `cloneUrl`); `message` makes each body different.
 */
export async function githubPush(repo: TempRepo, project: string, message: string, cloneUrl = `https://github.com/team/${project}.git`): Promise<Buffer<ArrayBuffer>> {
  const head = (await exec('git', ['rev-parse', 'HEAD'], { cwd: repo.dir })).stdout.trim();
  return Buffer.from(
    JSON.stringify({
      ref: 'refs/heads/main',
      before: '0'.repeat(40),
      after: head,
      deleted: false,
      repository: { name: project, full_name: `team/${project}`, clone_url: cloneUrl, html_url: `https://github.com/team/${project}` },
      head_commit: { message, timestamp: new Date().toISOString() },
      sender: { login: 'octocat' },
    }),
  );
}

export { tempRepo };
