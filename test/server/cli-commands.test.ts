// The everyday commands of a gh / glab user, against a real server through the typed client:
// `slipway runs`, `project create | list`, `secret set | list | rm` (value from stdin, never an
// argument), and `slipway webhook`, whose printed URL and secret a forge can deliver to at once.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { runCli, tempRepo } from '../support/repo.js';
import { githubPush, testServer, type TestServer } from './support.js';

let server: TestServer;
let env: Record<string, string>;
const repo = tempRepo({ 'slipway.yaml': 'version: 1\nname: shop\njobs:\n  a:\n    image: busybox:latest\n    steps: [{ run: echo hi }]\n' });

before(async () => {
  server = await testServer();
  env = { SLIPWAY_URL: server.url, SLIPWAY_TOKEN: server.token };
  await server.push(repo, 'shop');
  await server.waitForRun('shop', 1);
});

after(async () => {
  await server.stop();
  repo.remove();
});

test('slipway runs lists the runs with project, status, branch and commit; filters and --json work; a bad status is exit 2', async () => {
  const listed = await runCli(['runs'], { cwd: repo.dir, env });
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /^ID\s+PROJECT\s+#\s+STATUS\s+BRANCH\s+COMMIT/m);
  assert.match(listed.stdout, /\sshop\s+1\s+success\s+main\s+[0-9a-f]{7}\s/);
  const json = await runCli(['runs', '--project', 'shop', '--status', 'success', '--json'], { cwd: repo.dir, env });
  assert.equal((JSON.parse(json.stdout) as Array<{ status: string }>)[0]?.status, 'success');
  const none = await runCli(['runs', '--status', 'failure'], { cwd: repo.dir, env });
  assert.match(none.stdout, /no runs/);
  const bad = await runCli(['runs', '--status', 'green'], { cwd: repo.dir, env });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--status is one of/);
});

test('slipway project create and list; an invalid name is the server\'s 422, exit 2', async () => {
  const created = await runCli(['project', 'create', 'billing'], { cwd: repo.dir, env });
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, /project billing created; push to http:\/\/127\.0\.0\.1:\d+\/git\/billing\.git/);
  const listed = await runCli(['project', 'list'], { cwd: repo.dir, env });
  assert.match(listed.stdout, /^billing\s/m);
  assert.match(listed.stdout, /^shop\s/m);
  const bad = await runCli(['project', 'create', 'Bad-'], { cwd: repo.dir, env });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /422: project name "Bad-" is not valid/);
});

test('slipway secret set reads the value from stdin (never an argument), list shows names only, rm removes it', async () => {
  const set = await runCli(['secret', 'set', 'API_TOKEN'], { cwd: repo.dir, env, input: 's3cr3t-value\n' });
  assert.equal(set.code, 0, set.stderr);
  assert.match(set.stdout, /secret API_TOKEN of shop set/);
  const listed = await runCli(['secret', 'list'], { cwd: repo.dir, env });
  assert.equal(listed.stdout, 'API_TOKEN\n');
  assert.doesNotMatch(listed.stdout, /s3cr3t/);
  const asArgument = await runCli(['secret', 'set', 'API_TOKEN', 'the-value'], { cwd: repo.dir, env });
  assert.equal(asArgument.code, 2);
  assert.match(asArgument.stderr, /never taken as an argument/);
  const empty = await runCli(['secret', 'set', 'OTHER'], { cwd: repo.dir, env, input: '' });
  assert.equal(empty.code, 2);
  const removed = await runCli(['secret', 'rm', 'API_TOKEN', '--project', 'shop'], { cwd: repo.dir, env });
  assert.equal(removed.code, 0, removed.stderr);
  assert.equal((await runCli(['secret', 'list', '--json'], { cwd: repo.dir, env })).stdout.trim(), '[]');
  const missing = await runCli(['secret', 'rm', 'API_TOKEN'], { cwd: repo.dir, env });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /404/);
});

test('slipway webhook sets a new secret and prints the URL a forge delivers to; a delivery signed with it is accepted', async () => {
  const printed = await runCli(['webhook', 'shop', '--json'], { cwd: repo.dir, env });
  assert.equal(printed.code, 0, printed.stderr);
  const hook = JSON.parse(printed.stdout) as { url: string; secret: string; contentType: string };
  assert.equal(hook.url, `${server.url}/hooks/github/shop`);
  assert.equal(hook.contentType, 'application/json');
  const payload = await githubPush(repo, 'shop', 'through slipway webhook');
  const delivered = await fetch(hook.url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-GitHub-Event': 'push', 'X-GitHub-Delivery': 'w-1', 'X-Hub-Signature-256': `sha256=${createHmac('sha256', hook.secret).update(payload).digest('hex')}` },
    body: payload,
  });
  assert.equal(delivered.status, 202);
  const text = await runCli(['webhook', 'shop', '--provider', 'gitlab'], { cwd: repo.dir, env });
  assert.match(text.stdout, /In GitLab: Settings → Webhooks/);
  assert.match(text.stdout, /URL\s+http:\/\/127\.0\.0\.1:\d+\/hooks\/gitlab\/shop/);
  const stale = await fetch(hook.url, {
    method: 'POST',
    headers: { 'X-GitHub-Event': 'push', 'X-GitHub-Delivery': 'w-2', 'X-Hub-Signature-256': `sha256=${createHmac('sha256', hook.secret).update(payload).digest('hex')}` },
    body: payload,
  });
  assert.equal(stale.status, 401, 'the rotated secret no longer works');
});
