// Git hosting over smart HTTP with the real git client: push creates the project, the pushed refs
// are reported exactly, clone works, and tokens are enforced.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { GitHosting, ZERO_SHA, type RefUpdate } from '../../src/server/git.js';
import { tempRepo } from '../support/repo.js';

const exec = promisify(execFile);
const TOKENS: Record<string, { canRead: boolean; canWrite: boolean }> = {
  writer: { canRead: true, canWrite: true },
  reader: { canRead: true, canWrite: false },
};

async function startGitServer(
  record: (project: string, updates: RefUpdate[]) => Promise<string[]> = async (_project, updates) => [`slipway: ${updates.length} refs moved`],
): Promise<{ url: string; pushes: Array<{ project: string; updates: RefUpdate[] }>; server: Server; dir: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-git-'));
  const pushes: Array<{ project: string; updates: RefUpdate[] }> = [];
  const hosting = new GitHosting({
    reposDir: dir,
    authenticate: async (req) => {
      const header = req.headers.authorization ?? '';
      if (!header.startsWith('Basic ')) return undefined;
      const password = Buffer.from(header.slice(6), 'base64').toString().split(':').slice(1).join(':');
      const grant = TOKENS[password];
      return grant ? { name: password, ...grant } : undefined;
    },
    canCreate: async (project) => project !== 'forbidden',
    onPush: async (project, updates) => {
      const lines = await record(project, updates);
      pushes.push({ project, updates });
      return lines;
    },
  });
  const server = createServer((req, res) => {
    if (!hosting.handle(req, res)) res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, pushes, server, dir };
}

function git(cwd: string, ...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return exec('git', args, { cwd, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
}

test('git push with a token creates the project and reports every moved ref; clone gets it back', async () => {
  const { url, pushes, server, dir } = await startGitServer();
  const repo = tempRepo({ 'README.md': 'hello\n' });
  try {
    const remote = `${url.replace('http://', 'http://user:writer@')}/git/demo.git`;
    await git(repo.dir, 'push', remote, 'main');
    await git(repo.dir, 'checkout', '-q', '-b', 'feature');
    repo.write('feature.txt', 'f\n');
    repo.commit('feature');
    await git(repo.dir, 'tag', 'v1');
    await git(repo.dir, 'push', remote, 'feature', 'v1');
    await git(repo.dir, 'push', remote, ':feature');
    assert.equal(pushes.length, 3);
    const head = (await git(repo.dir, 'rev-parse', 'main')).stdout.trim();
    assert.deepEqual(pushes[0], { project: 'demo', updates: [{ ref: 'refs/heads/main', before: ZERO_SHA, after: head }] });
    assert.deepEqual(pushes[1]?.updates.map((u) => u.ref).sort(), ['refs/heads/feature', 'refs/tags/v1']);
    assert.equal(pushes[2]?.updates[0]?.after, ZERO_SHA);
    const clone = mkdtempSync(path.join(os.tmpdir(), 'slipway-clone-'));
    await git(clone, 'clone', '-q', `${url.replace('http://', 'http://user:reader@')}/git/demo.git`, 'c');
    assert.equal((await git(path.join(clone, 'c'), 'rev-parse', 'HEAD')).stdout.trim(), head);
    rmSync(clone, { recursive: true, force: true });
  } finally {
    server.close();
    repo.remove();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a push without a token, with a bad one, or with a read-only one is refused and stores nothing', async () => {
  const { url, pushes, server, dir } = await startGitServer();
  const repo = tempRepo({ 'README.md': 'hello\n' });
  try {
    await assert.rejects(git(repo.dir, 'push', `${url}/git/demo.git`, 'main'), /Authentication failed|could not read Username|401/);
    await assert.rejects(git(repo.dir, 'push', `${url.replace('http://', 'http://u:wrong@')}/git/demo.git`, 'main'), /Authentication failed|401/);
    await assert.rejects(git(repo.dir, 'push', `${url.replace('http://', 'http://u:reader@')}/git/demo.git`, 'main'), /403|may not push/);
    await assert.rejects(git(repo.dir, 'push', `${url.replace('http://', 'http://u:writer@')}/git/forbidden.git`, 'main'), /404|no project/);
    await assert.rejects(git(repo.dir, 'push', `${url.replace('http://', 'http://u:writer@')}/git/Bad..Name.git`, 'main'), /400|not a valid project/);
    // names the store refuses are refused here too, by the same rule
    await assert.rejects(git(repo.dir, 'push', `${url.replace('http://', 'http://u:writer@')}/git/a-.git`, 'main'), /400|not valid/);
    await assert.rejects(git(repo.dir, 'push', `${url.replace('http://', 'http://u:writer@')}/git/a%2e%2e.git`, 'main'), /400|not valid/);
    assert.equal(pushes.length, 0);
  } finally {
    server.close();
    repo.remove();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the pusher sees what the server made of the push as remote: lines', async () => {
  const { url, server, dir } = await startGitServer();
  const repo = tempRepo({ 'README.md': 'hello\n' });
  try {
    const pushed = await git(repo.dir, 'push', `${url.replace('http://', 'http://u:writer@')}/git/demo.git`, 'main');
    assert.match(pushed.stderr, /remote: slipway: 1 refs moved/);
  } finally {
    server.close();
    repo.remove();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a push the server cannot record is undone and fails in the pusher terminal, so a push that succeeded always has its runs', async () => {
  let failing = true;
  const { url, pushes, server, dir } = await startGitServer(async () => {
    if (failing) throw new Error('database unavailable');
    return [];
  });
  const repo = tempRepo({ 'README.md': 'hello\n' });
  try {
    const remote = `${url.replace('http://', 'http://u:writer@')}/git/demo.git`;
    await assert.rejects(git(repo.dir, 'push', remote, 'main'), /could not record this push/);
    const refs = await exec('git', ['-C', path.join(dir, 'demo.git'), 'for-each-ref']);
    assert.equal(refs.stdout.trim(), '', 'the refs went back to where they were');
    assert.equal(pushes.length, 0);
    failing = false;
    await git(repo.dir, 'push', remote, 'main');
    assert.equal(pushes.length, 1, 'pushed again, it is recorded');
  } finally {
    server.close();
    repo.remove();
    rmSync(dir, { recursive: true, force: true });
  }
});
