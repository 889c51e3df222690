// The server on PostgreSQL (--database postgres://…), end to end: a push runs, webhooks are
// de-duplicated, and two server replicas on one database share the queue without running any
// run twice.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startCluster, type PgCluster } from '../store/pg-cluster.js';
import { forgeRepository, githubPush, testServer, tempRepo, type TestServer } from './support.js';
import { eventually } from '../support/wait.js';
import { spawnServer } from '../support/server-process.js';
import Docker from 'dockerode';

let cluster: PgCluster;
const docker = new Docker();
const execFileAsync = promisify(execFile);
const repo = tempRepo({
  'slipway.yaml': `version: 1
name: shared
jobs:
  hello:
    image: busybox:latest
    steps:
      - run: echo "hello from $SLIPWAY_RUN_ID"
`,
});

before(async () => {
  cluster = await startCluster();
});

after(async () => {
  await cluster.stop();
  repo.remove();
});

test('a server on PostgreSQL runs a pushed pipeline and keeps its logs', async () => {
  const server = await testServer({ config: { database: await cluster.createDatabase() } });
  try {
    await server.push(repo, 'shared');
    const run = await server.waitForRun('shared', 1);
    assert.equal(run.status, 'success', run.reason);
    const logs = await server.api<{ lines: Array<{ line: string }> }>(`/api/runs/${run.id}/logs`);
    assert.ok(logs.body.lines.some((l) => l.line === `hello from ${run.id}`), JSON.stringify(logs.body.lines));
  } finally {
    await server.stop();
  }
});

test('two replicas on one PostgreSQL database: webhooks accepted by either, each run run once', async () => {
  const database = await cluster.createDatabase();
  // replicas share the key that encrypts the database's secrets
  const env = { SLIPWAY_SECRET_KEY: randomBytes(32).toString('base64') };
  const servers: TestServer[] = [];
  let forge: { url: string; close(): Promise<void> } | undefined;
  try {
    servers.push(await testServer({ config: { database }, concurrency: 1, env }));
    servers.push(await testServer({ config: { database }, concurrency: 1, env }));
    const [a, b] = servers as [TestServer, TestServer];
    const secret = 'replicas-secret';
    assert.equal((await a.api('/api/projects', { method: 'POST', body: { name: 'shared' } })).status, 201);
    assert.equal((await a.api('/api/projects/shared/webhook-secret', { method: 'PUT', body: { secret } })).status, 200);
    // the commit is not on the server: each run fetches it from the project's configured remote
    forge = await forgeRepository(repo, 'shared');
    assert.equal((await a.api('/api/projects/shared/remote', { method: 'PUT', body: { url: forge.url } })).status, 200);
    const deliver = async (server: TestServer, id: string, payload: Buffer<ArrayBuffer>) =>
      fetch(`${server.url}/hooks/github/shared`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-GitHub-Event': 'push', 'X-GitHub-Delivery': id, 'X-Hub-Signature-256': `sha256=${createHmac('sha256', secret).update(payload).digest('hex')}` },
        body: payload,
      });
    // six deliveries spread over both replicas, each redelivered to the other one
    for (let i = 0; i < 6; i++) {
      const payload = await githubPush(repo, 'shared', `replicas ${i}`);
      assert.equal((await deliver(servers[i % 2]!, `d-${i}`, payload)).status, 202);
      assert.equal((await deliver(servers[(i + 1) % 2]!, `d-${i}`, payload)).status, 200, 'a redelivery to the other replica is a duplicate');
    }
    const runs = await Promise.all(Array.from({ length: 6 }, (_, i) => a.waitForRun('shared', i + 1)));
    assert.deepEqual(
      runs.map((r) => r.status),
      Array(6).fill('success'),
      JSON.stringify(runs),
    );
    // every run was claimed by exactly one worker: its step printed once
    for (const run of runs) {
      const events = await b.api<{ lines: Array<{ line: string }> }>(`/api/runs/${run.id}/logs`);
      assert.equal(events.body.lines.filter((l) => l.line === `hello from ${run.id}`).length, 1, `run ${run.id} ran once`);
    }
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await forge?.close();
  }
});

test('a replica starting on the database leaves the runs of a live replica running', async () => {
  const database = await cluster.createDatabase();
  const slow = tempRepo({ 'slipway.yaml': 'version: 1\nname: slow\njobs:\n  wait:\n    image: busybox:latest\n    steps:\n      - run: sleep 4; echo done\n' });
  const env = { SLIPWAY_SECRET_KEY: randomBytes(32).toString('base64') };
  const a = await testServer({ config: { database }, concurrency: 1, env });
  let b: TestServer | undefined;
  try {
    await a.push(slow, 'slow');
    await eventually('the run running on replica a', async () => {
      const { body } = await a.api<{ runs: Array<{ status: string }> }>('/api/runs?project=slow');
      return body.runs[0]?.status === 'running';
    });
    // b's recovery at start must not take a's run for one a killed server left behind
    b = await testServer({ config: { database }, concurrency: 1, env });
    const run = await a.waitForRun('slow', 1);
    assert.equal(run.status, 'success', run.reason);
  } finally {
    await Promise.all([a.stop(), b?.stop()]);
    slow.remove();
  }
});

test('a replica killed while another runs: the survivor sees its heartbeat stop, interrupts its run and removes its container', { timeout: 120_000 }, async () => {
  const database = await cluster.createDatabase();
  const token = 'test-admin-token-0123456789';
  const env = { SLIPWAY_SECRET_KEY: randomBytes(32).toString('base64') };
  const sleepy = tempRepo({ 'slipway.yaml': 'version: 1\nname: sleepy\njobs:\n  nap:\n    image: busybox:latest\n    steps:\n      - run: echo napping; sleep 300\n' });
  const data = mkdtempSync(path.join(os.tmpdir(), 'slipway-replica-a-'));
  // replica a is a process of its own, so that it can die the way a machine does: at once, saying nothing
  const a = spawnServer(data, { adminToken: token, concurrency: 1, env, args: ['--database', database, '--replica-timeout', '2s'] });
  let b: TestServer | undefined;
  try {
    const url = await a.url;
    const headers = { Authorization: `Bearer ${token}` };
    await execFileAsync('git', ['push', '-q', `${url.replace('http://', `http://t:${token}@`)}/git/sleepy.git`, 'main'], { cwd: sleepy.dir });
    const run = await eventually('the step running on replica a', async () => {
      const { runs } = (await (await fetch(`${url}/api/runs?project=sleepy`, { headers })).json()) as { runs: Array<{ id: string; status: string }> };
      const detail = runs[0] && ((await (await fetch(`${url}/api/runs/${runs[0].id}`, { headers })).json()) as { id: string; jobs: Array<{ steps: Array<{ status: string }> }> });
      return detail && detail.jobs[0]?.steps[0]?.status === 'running' && detail;
    }, 60_000);
    const labelled = JSON.stringify({ label: [`io.slipway.run=${run.id}`] });
    assert.ok((await docker.listContainers({ all: true, filters: labelled })).length > 0, 'the run has a container');
    // b starts while a is alive: its start-up recovery leaves a's run alone
    b = await testServer({ config: { database, replicaTimeoutMs: 2000 }, concurrency: 1, env });
    assert.equal((await b.api<{ status: string }>(`/api/runs/${run.id}`)).body.status, 'running');
    a.child.kill('SIGKILL');
    const interrupted = await eventually('replica b to take the run as interrupted', async () => {
      const r = (await b!.api<{ status: string; reason?: string }>(`/api/runs/${run.id}`)).body;
      return r.status !== 'running' && r;
    }, 30_000);
    assert.equal(interrupted.status, 'interrupted');
    assert.match(interrupted.reason ?? '', /server replica running it \(.+\) stopped answering/);
    await eventually('its container to be removed', async () => (await docker.listContainers({ all: true, filters: labelled })).length === 0, 30_000);
  } finally {
    await a.stop();
    await b?.stop();
    sleepy.remove();
    rmSync(data, { recursive: true, force: true });
  }
});

test('two replicas on PostgreSQL approving the same waiting job at once: one wins, the job runs once', async () => {
  const database = await cluster.createDatabase();
  const env = { SLIPWAY_SECRET_KEY: randomBytes(32).toString('base64') };
  const gated = tempRepo({
    'slipway.yaml': `version: 1
name: gated
jobs:
  ship:
    when: manual
    image: busybox:latest
    steps:
      - run: echo "shipped by $SLIPWAY_RUN_ID"
`,
  });
  const servers: TestServer[] = [];
  try {
    // the pushed commit lives in the first replica's repositories: the second only answers the API
    servers.push(await testServer({ config: { database }, concurrency: 1, env }));
    servers.push(await testServer({ config: { database }, concurrency: 0, env }));
    const [a, b] = servers as [TestServer, TestServer];
    await a.push(gated, 'gated');
    const run = await a.waitForRun('gated', 1);
    assert.equal(run.status, 'waiting', run.reason);
    const answers = await Promise.all([a, b, a, b].map((s) => s.api(`/api/runs/${run.id}/jobs/ship/approve`, { method: 'POST' })));
    assert.deepEqual(answers.map((r) => r.status).sort(), [200, 409, 409, 409]);
    const done = await eventually('the approved run to finish', async () => {
      const r = (await b.api<{ status: string }>(`/api/runs/${run.id}`)).body;
      return r.status === 'success' && r;
    });
    assert.ok(done);
    const lines = (await b.api<{ lines: Array<{ line: string }> }>(`/api/runs/${run.id}/logs`)).body.lines.filter((l) => l.line === `shipped by ${run.id}`);
    assert.equal(lines.length, 1, 'the approved job ran once');
  } finally {
    for (const s of servers) await s.stop();
    gated.remove();
  }
});
