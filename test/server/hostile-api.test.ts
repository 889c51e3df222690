// The API as a careless user or an attacker calls it: every bad input found by a hostile-input
// probe is a 4xx with a stable code (never a 500 with a stack trace in the log), pushes of
// pipeline files that cannot be planned are still runs, and a fuzz of paths and bodies over every
// route finds no 500.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import { testServer, tempRepo, type TestServer } from './support.js';

const exec = promisify(execFile);
let server: TestServer;
let runId = '';
const logged: string[] = [];
const repo = tempRepo({ 'slipway.yaml': 'version: 1\nname: calm\njobs:\n  a:\n    image: busybox:latest\n    steps: [{ run: echo hi }]\n' });

before(async () => {
  server = await testServer({ log: (line) => logged.push(line) });
  await server.push(repo, 'calm');
  runId = (await server.waitForRun('calm', 1)).id;
});

after(async () => {
  await server.stop();
  repo.remove();
});

/** A raw request line, as no HTTP client library would send it. */
function rawRequest(target: string): Promise<string> {
  const { port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1', () => socket.end(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString()));
    socket.on('end', () => resolve(answer.split('\r\n')[0] ?? ''));
    socket.on('error', reject);
  });
}

test('a malformed % escape in a path parameter or a query value is a 400 or 404, never a 500', async () => {
  for (const p of ['/api/projects/%E0%A4%A', '/api/runs/%zz', '/api/runs/%', '/api/projects/%/secrets', '/api/runs?project=%E0%A4%A', '/api/runs?project=%', '/api/dora?project=%zz', '/api/apps/%/revisions', '/api/rollouts/%ff']) {
    const { status } = await server.api(p);
    assert.ok(status === 400 || status === 404, `${p}: ${status}`);
  }
});

test('a request target of // (which is no URL path) is a 4xx and the server stays up (it used to throw in the request listener)', async () => {
  assert.match(await rawRequest('//'), / 4\d\d /);
  assert.match(await rawRequest('//evil.example/api/projects'), / 40[14] /);
  assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
});

test('names the store refuses are 422 at the API, with the rule', async () => {
  for (const name of ['a-', 'A', '../x', '', 'x'.repeat(64), 'a..b']) {
    const res = await server.api<{ error: { code: string; message: string } }>('/api/projects', { method: 'POST', body: { name } });
    assert.equal(res.status, 422, name);
    assert.equal(res.body.error.code, 'PROJECT_INVALID');
  }
});

test('token names that are empty or hold NUL, escape or bidi-override characters are 422', async () => {
  for (const name of ['', '   ', 'a\u0000b', 'evil\u202Egnp.exe', 'x\u001b[2J', 'zero\u200Bwidth', 'x'.repeat(101)]) {
    const res = await server.api<{ error: { code: string } }>('/api/tokens', { method: 'POST', body: { name, scopes: ['read'] } });
    assert.equal(res.status, 422, JSON.stringify(name));
  }
  assert.equal((await server.api('/api/tokens', { method: 'POST', body: { name: 'ci bot — ünïcode', scopes: ['read'] } })).status, 201);
});

test('re-running the failed jobs of a run that passed is a 409, an unknown mode a 422', async () => {
  const res = await server.api<{ error: { code: string } }>(`/api/runs/${runId}/rerun`, { method: 'POST', body: { mode: 'failed-jobs' } });
  assert.equal(res.status, 409);
  assert.equal((await server.api(`/api/runs/${runId}/rerun`, { method: 'POST', body: { mode: 'everything' } })).status, 422);
});

test('a page cursor the server did not give is a 422', async () => {
  for (const cursor of ['xyz', '%00', 'AAAA', '']) {
    const { status } = await server.api(`/api/runs?cursor=${cursor}`);
    assert.ok(status === 422 || (cursor === '' && status === 200), `${cursor}: ${status}`);
  }
});

test('git push to a name the store refuses is refused by git hosting with the same rule', async () => {
  const url = `${server.url.replace('http://', `http://t:${server.token}@`)}/git/a-.git`;
  await assert.rejects(exec('git', ['push', '-q', url, 'main'], { cwd: repo.dir }), /not valid|400/);
});

test('a commit-status apiUrl at a link-local (cloud metadata) address is 422', async () => {
  for (const apiUrl of ['http://169.254.169.254/latest', 'http://[fe80::1]/', 'http://metadata.google.internal/']) {
    const res = await server.api('/api/projects/calm/commit-status', { method: 'PUT', body: { provider: 'gitea', token: 't', apiUrl } });
    assert.equal(res.status, 422, apiUrl);
  }
});


test('a pushed pipeline file that cannot be planned is still a run: failed at planning, with the positioned error, and the pusher is told', async () => {
  const broken = tempRepo({ 'slipway.yaml': 'version: 1\nname: broken\njobs:\n  a:\n    image: busybox:latest\n    stepz: []\n' });
  const huge = tempRepo({ 'slipway.yaml': `version: 1\nname: huge\n# ${'x'.repeat(1024 * 1024 + 10)}\njobs: {}\n` });
  try {
    const remote = (name: string) => `${server.url.replace('http://', `http://t:${server.token}@`)}/git/${name}.git`;
    const pushed = await exec('git', ['push', remote('broken'), 'main'], { cwd: broken.dir });
    assert.match(pushed.stderr, /remote: slipway: main: run #1 failed at planning: slipway\.yaml is not valid: slipway\.yaml:6:5/);
    const run = await server.waitForRun('broken', 1);
    assert.equal(run.status, 'failure');
    assert.match(run.reason ?? '', /slipway\.yaml:6:5/);
    const logs = await server.api<{ lines: Array<{ line: string }> }>(`/api/runs/${run.id}/logs`);
    assert.ok(logs.body.lines.some((l) => /slipway\.yaml:6:5: .*stepz/.test(l.line)), JSON.stringify(logs.body.lines));

    const big = await exec('git', ['push', remote('huge'), 'main'], { cwd: huge.dir });
    assert.match(big.stderr, /run #1 failed at planning: slipway\.yaml is \d+ bytes; a pipeline file has at most 1048576 bytes/);
    assert.equal((await server.waitForRun('huge', 1)).status, 'failure');
  } finally {
    broken.remove();
    huge.remove();
  }
});

test('no request above left a stack trace in the server log', () => {
  assert.deepEqual(logged.filter((line) => /\n\s+at /.test(line)), []);
});
