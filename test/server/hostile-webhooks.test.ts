// Webhooks as an attacker sends them: a signed delivery whose clone URL is an option or a local
// path, unsigned deliveries to projects that do or do not exist, huge unsigned bodies, a signed
// body replayed under a new delivery id, and pull requests with option-like branches. Each is the
// exact payload a hostile-input probe used.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { testServer, tempRepo, type TestServer } from './support.js';

let server: TestServer;
const SECRET = 'hostile-secret-123';
const PWNED = path.join(os.tmpdir(), `slipway-pwned-${process.pid}`);
const repo = tempRepo({ 'slipway.yaml': 'version: 1\nname: target\njobs:\n  a:\n    image: busybox:latest\n    steps: [{ run: echo hi }]\n' });

before(async () => {
  server = await testServer();
  for (const name of ['target', 'other']) {
    await server.push(repo, name);
    await server.waitForRun(name, 1);
  }
  assert.equal((await server.api('/api/projects/target/webhook-secret', { method: 'PUT', body: { secret: SECRET } })).status, 200);
});

after(async () => {
  await server.stop();
  repo.remove();
  rmSync(PWNED, { force: true });
});

const NOT_HERE = 'f'.repeat(40);

function push(cloneUrl: string, extra: Record<string, unknown> = {}): Buffer<ArrayBuffer> {
  return Buffer.from(
    JSON.stringify({
      ref: 'refs/heads/main', before: '0'.repeat(40), after: NOT_HERE, deleted: false,
      repository: { name: 'target', full_name: 'team/target', clone_url: cloneUrl, html_url: 'https://github.com/team/target' },
      head_commit: { message: `m ${Math.random()}`, timestamp: new Date().toISOString() }, sender: { login: 'mallory' },
      ...extra,
    }),
  );
}

function deliver(body: Buffer<ArrayBuffer>, options: { project?: string; signed?: boolean; id?: string; headers?: Record<string, string> } = {}): Promise<Response> {
  const signature = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
  return fetch(`${server.url}/hooks/github/${options.project ?? 'target'}`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      'X-GitHub-Event': 'push',
      'X-GitHub-Delivery': options.id ?? `d-${Math.random()}`,
      ...(options.signed === false ? {} : { 'X-Hub-Signature-256': signature }),
      ...options.headers,
    },
    body,
  });
}

async function runCount(project: string): Promise<number> {
  return (await server.api<{ runs: unknown[] }>(`/api/runs?project=${project}`)).body.runs.length;
}

test('a signed delivery whose clone URL is a git option is refused (422) and runs nothing: no command runs on the host', async () => {
  const runs = await runCount('target');
  for (const url of [`--upload-pack=touch ${PWNED};`, `-u touch ${PWNED}`, `ext::sh -c touch% ${PWNED}`]) {
    const res = await deliver(push(url));
    assert.equal(res.status, 422, url);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'WEBHOOK_CLONE_URL_REFUSED');
  }
  assert.equal(await runCount('target'), runs, 'nothing was queued');
  assert.equal(existsSync(PWNED), false);
});

test('a signed delivery whose clone URL is a local path or file:// (another project\'s repository) is refused', async () => {
  const other = path.join(server.data, 'git', 'other.git');
  for (const url of [other, `file://${other}`, `./${path.relative(process.cwd(), other)}`, 'git@github.com:team/target.git']) {
    const res = await deliver(push(url));
    assert.equal(res.status, 422, url);
  }
});

test('a signed delivery whose clone URL is on another host than the forge that signed it is refused', async () => {
  for (const url of ['https://evil.example/team/target.git', 'http://169.254.169.254/latest/meta-data.git', 'https://user:pass@github.com/team/target.git']) {
    const res = await deliver(push(url));
    assert.equal(res.status, 422, url);
  }
  const fine = await deliver(push('https://github.com/team/target.git'));
  assert.equal(fine.status, 202, 'the forge\'s own clone URL is accepted');
});

test('unsigned or badly signed deliveries are 401 whatever the project and whatever the body: nothing tells which projects exist', async () => {
  const answers = await Promise.all([
    deliver(push('https://github.com/team/target.git'), { signed: false }),
    deliver(push('https://github.com/team/target.git'), { signed: false, project: 'no-such-project' }),
    deliver(Buffer.from('this is not json'), { signed: false, project: 'no-such-project' }),
    deliver(Buffer.from('this is not json'), { project: 'no-such-project' }),
    deliver(push('https://github.com/team/target.git'), { project: 'other' }),
    deliver(push('https://github.com/team/target.git'), { headers: { 'X-Hub-Signature-256': `sha256=${'0'.repeat(64)}` } }),
    fetch(`${server.url}/hooks/github`, { method: 'POST', headers: { 'X-GitHub-Event': 'push', 'X-GitHub-Delivery': 'x' }, body: '{}' }),
  ]);
  assert.deepEqual(answers.map((r) => r.status), [401, 401, 401, 401, 401, 401, 401]);
  const bodies = (await Promise.all(answers.slice(0, 2).map((r) => r.text()))).map((text) => text.replace(/no-such-project|target/g, 'P'));
  assert.equal(bodies[0], bodies[1], 'an unknown project is answered like a known one');
});

test('an unsigned delivery is answered before its body is read: a 24 MB unsigned body costs the server nothing', async () => {
  const url = new URL(`${server.url}/hooks/github/target`);
  const status = await new Promise<number>((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'Content-Length': String(24 * 1024 * 1024), 'X-GitHub-Event': 'push', 'X-GitHub-Delivery': 'big' } });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    // only the headers and a little of the body: the answer must not wait for the rest
    req.write(Buffer.alloc(64 * 1024));
  });
  assert.equal(status, 401);
});

test('a signed body replayed under a new delivery id runs once', async () => {
  const body = push('https://github.com/team/target.git');
  const runs = await runCount('target');
  assert.equal((await deliver(body, { id: 'first' })).status, 202);
  const replay = await deliver(body, { id: 'forged-fresh-id' });
  assert.equal(replay.status, 200);
  assert.equal(((await replay.json()) as { duplicate: boolean }).duplicate, true);
  assert.equal(await runCount('target'), runs + 1);
});

test('a ref that git would read as something else is refused', async () => {
  for (const ref of ['refs/heads/a:refs/heads/b', 'refs/heads/..', 'refs/heads/x.lock', 'refs/heads/@{-1}']) {
    const res = await deliver(push('https://github.com/team/target.git', { ref }));
    assert.equal(res.status, 400, ref);
  }
});

function pullRequest(change: (pr: { number: unknown; pull_request: { number: unknown; head: Record<string, unknown>; base: Record<string, unknown> }; repository: Record<string, unknown> }) => void): Buffer<ArrayBuffer> {
  const repository = { name: 'target', full_name: 'team/target', clone_url: 'https://github.com/team/target.git', html_url: 'https://github.com/team/target' };
  const payload = {
    action: 'opened',
    number: 5,
    pull_request: {
      number: 5, title: `t ${Math.random()}`, html_url: 'https://github.com/team/target/pull/5', merged: false,
      head: { ref: 'feature', sha: NOT_HERE, repo: repository },
      base: { ref: 'main', sha: NOT_HERE, repo: repository },
    },
    repository,
    sender: { login: 'mallory' },
  };
  change(payload);
  return Buffer.from(JSON.stringify(payload));
}

test('a signed pull request delivery with a bad commit id, an out-of-range number or an option-like branch is 400 and stores nothing', async () => {
  const runs = await runCount('target');
  const bodies = [
    pullRequest((p) => (p.pull_request.head.sha = 'HEAD~1')),
    pullRequest((p) => ((p.number = 2 ** 53), (p.pull_request.number = 2 ** 53))),
    pullRequest((p) => ((p.number = -5), (p.pull_request.number = -5))),
    pullRequest((p) => (p.pull_request.head.ref = `--upload-pack=touch ${PWNED}`)),
    pullRequest((p) => (p.pull_request.base.ref = 'main:refs/heads/x')),
    pullRequest((p) => ((p.pull_request as Record<string, unknown>).html_url = 'javascript:alert(1)')),
  ];
  for (const body of bodies) {
    const res = await deliver(body, { headers: { 'X-GitHub-Event': 'pull_request' } });
    assert.equal(res.status, 400, body.toString().slice(0, 300));
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'WEBHOOK_PAYLOAD_INVALID');
  }
  assert.equal(await runCount('target'), runs, 'nothing was queued');
  assert.equal(existsSync(PWNED), false);
});

test("a signed pull request delivery whose base repository's clone URL is not on the forge is refused (422); the head's is never fetched from", async () => {
  const runs = await runCount('target');
  const elsewhere = await deliver(pullRequest((p) => (p.repository.clone_url = 'https://evil.example/team/target.git')), { headers: { 'X-GitHub-Event': 'pull_request' } });
  assert.equal(elsewhere.status, 422);
  assert.equal(await runCount('target'), runs);
  const fork = await deliver(pullRequest((p) => (p.pull_request.head.repo = { full_name: 'mallory/target', clone_url: `ext::sh -c touch% ${PWNED}` })), { headers: { 'X-GitHub-Event': 'pull_request' } });
  assert.equal(fork.status, 202, 'the fork is named, not fetched from');
  const id = ((await fork.json()) as { runs: string[] }).runs[0]!;
  const run = await server.api<{ pipeline: { remote: string; ref: string }; trigger: { pullRequest: { fork: boolean } } }>(`/api/runs/${id}`);
  assert.equal(run.body.trigger.pullRequest.fork, true);
  assert.deepEqual([run.body.pipeline.remote, run.body.pipeline.ref], ['https://github.com/team/target.git', 'refs/pull/5/head']);
  assert.equal(existsSync(PWNED), false);
});
