// The server's API as clients use it: token scopes, runs and their logs, SSE with resume, the
// logs command, webhooks with signatures and de-duplication, bad input refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import http from 'node:http';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { runCli, tempRepo } from '../support/repo.js';
import { githubPush, testServer, type TestServer } from './support.js';

const exec = promisify(execFile);
let server: TestServer;
let runId = '';
const repo = tempRepo({
  'slipway.yaml': `version: 1
name: chatty
jobs:
  talk:
    image: busybox:latest
    steps:
      - run: for i in $(seq 1 300); do echo "line $i"; done
`,
});

before(async () => {
  server = await testServer();
  await server.push(repo, 'chatty');
  const run = await server.waitForRun('chatty', 1);
  assert.equal(run.status, 'success', run.reason);
  runId = run.id;
});

after(async () => {
  await server.stop();
  repo.remove();
});

test('the API needs a token, and a token only its scopes', async () => {
  assert.equal((await server.api('/api/runs', { token: '' })).status, 401);
  assert.equal((await server.api('/api/runs', { token: 'wrong-token-value' })).status, 401);
  const created = await server.api<{ secret: string; scopes: string[] }>('/api/tokens', { method: 'POST', body: { name: 'viewer', scopes: ['read'] } });
  assert.equal(created.status, 201);
  const reader = created.body.secret;
  assert.equal((await server.api('/api/runs', { token: reader })).status, 200);
  const denied = await server.api<{ error: { code: string } }>('/api/tokens', { method: 'POST', token: reader, body: { name: 'x', scopes: ['admin'] } });
  assert.equal(denied.status, 403);
  assert.equal(denied.body.error.code, 'AUTH_SCOPE');
  assert.equal((await server.api(`/api/runs/${runId}/cancel`, { method: 'POST', token: reader })).status, 403);
  const openapi = await server.api<{ openapi: string; paths: Record<string, unknown> }>('/api/openapi.json', { token: '' });
  assert.equal(openapi.body.openapi, '3.1.0');
  assert.ok(openapi.body.paths['/api/runs/{id}/logs']);
});

test('bad input gets a clear JSON error and changes nothing', async () => {
  const badJson = await server.api<{ error: { code: string } }>('/api/tokens', { method: 'POST', body: '{not json' });
  assert.equal(badJson.status, 400);
  assert.equal(badJson.body.error.code, 'REQUEST_INVALID_JSON');
  const badScope = await server.api<{ error: { code: string } }>('/api/tokens', { method: 'POST', body: { name: 'x', scopes: ['root'] } });
  assert.equal(badScope.status, 422);
  const huge = await server.api<{ error: { code: string } }>('/api/projects', { method: 'POST', body: { name: 'x'.repeat(2 * 1024 * 1024) } });
  assert.equal(huge.status, 413);
  assert.equal((await server.api('/api/runs?status=bogus')).status, 422);
  assert.equal((await server.api('/api/runs/nope')).status, 404);
  assert.equal((await server.api('/api/nothing-here')).status, 404);
  const tokens = await server.api<{ tokens: Array<{ name: string }> }>('/api/tokens');
  assert.ok(!tokens.body.tokens.some((t) => t.name === 'x'));
});

test('a run has its jobs, steps and logs; SSE resumes after Last-Event-ID and ends with the run', async () => {
  const detail = await server.api<{ status: string; jobs: Array<{ name: string; status: string; steps: Array<{ status: string; exitCode?: number }> }> }>(`/api/runs/${runId}`);
  assert.equal(detail.body.jobs[0]?.name, 'talk');
  assert.equal(detail.body.jobs[0]?.steps[0]?.exitCode, 0);
  const logs = await server.api<{ lines: Array<{ seq: number; line: string }> }>(`/api/runs/${runId}/logs`);
  const line100 = logs.body.lines.find((l) => l.line === 'line 100');
  assert.ok(line100, 'the step output is stored');
  const res = await fetch(`${server.url}/api/runs/${runId}/logs`, {
    headers: { Authorization: `Bearer ${server.token}`, Accept: 'text/event-stream', 'Last-Event-ID': String(line100.seq) },
  });
  const text = await res.text();
  const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
  assert.equal(ids[0], line100.seq + 1, 'resumes right after the last seen line');
  assert.match(text, /data: \{[^\n]*"line":"line 101"/);
  assert.doesNotMatch(text, /"line":"line 100"/);
  assert.match(text, /event: end\ndata: \{"status":"success"\}/);
});

test('slipway logs prints a run from the server, and -f follows it to the end', async () => {
  const env = { SLIPWAY_URL: server.url, SLIPWAY_TOKEN: server.token };
  const plain = await runCli(['logs', runId], { cwd: repo.dir, env });
  assert.equal(plain.code, 0, plain.stderr);
  assert.match(plain.stdout, /\[talk\] line 300/);
  const followed = await runCli(['logs', runId, '-f'], { cwd: repo.dir, env });
  assert.equal(followed.code, 0, followed.stderr);
  assert.match(followed.stdout, /\[talk\] line 1\n/);
  assert.match(followed.stderr, /success/);
  const missing = await runCli(['logs', 'nope'], { cwd: repo.dir, env });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /404/);
});

test('webhooks: a bad or missing signature is 401 and stores nothing; a good one queues a run once; a redelivery does not run twice', async () => {
  const secret = 'webhook-secret-123';
  assert.equal((await server.api('/api/projects/chatty/webhook-secret', { method: 'PUT', body: { secret } })).status, 200);
  const payload = await githubPush(repo, 'chatty', 'from a webhook');
  const deliver = (headers: Record<string, string>) =>
    fetch(`${server.url}/hooks/github/chatty`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-GitHub-Event': 'push', ...headers }, body: payload });
  const before = (await server.api<{ runs: unknown[] }>('/api/runs?project=chatty')).body.runs.length;
  assert.equal((await deliver({ 'X-GitHub-Delivery': 'd-1' })).status, 401);
  assert.equal((await deliver({ 'X-GitHub-Delivery': 'd-1', 'X-Hub-Signature-256': 'sha256=' + '0'.repeat(64) })).status, 401);
  assert.equal((await server.api<{ runs: unknown[] }>('/api/runs?project=chatty')).body.runs.length, before);
  const signature = `sha256=${createHmac('sha256', secret).update(payload).digest('hex')}`;
  const accepted = await deliver({ 'X-GitHub-Delivery': 'd-1', 'X-Hub-Signature-256': signature });
  assert.equal(accepted.status, 202);
  const again = await deliver({ 'X-GitHub-Delivery': 'd-1', 'X-Hub-Signature-256': signature });
  assert.equal(again.status, 200);
  assert.equal(((await again.json()) as { duplicate: boolean }).duplicate, true);
  const run = await server.waitForRun('chatty', before + 1);
  assert.equal(run.status, 'success', run.reason);
  assert.equal((await server.api<{ runs: unknown[] }>('/api/runs?project=chatty')).body.runs.length, before + 1);
  const ping = await fetch(`${server.url}/hooks/github?project=chatty`, {
    method: 'POST',
    headers: { 'X-GitHub-Event': 'ping', 'X-GitHub-Delivery': 'p-1', 'X-Hub-Signature-256': `sha256=${createHmac('sha256', secret).update('{}').digest('hex')}` },
    body: '{}',
  });
  assert.equal(ping.status, 200);
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(metrics, /slipway_webhook_deliveries_total\{[^}]*outcome="duplicate"[^}]*\} 1/);
  assert.match(metrics, /slipway_runs\{status="success"\} \d+/);
  assert.match(metrics, /slipway_step_duration_seconds_count\{outcome="success"\} [1-9]\d*/);
  assert.match(metrics, /slipway_step_duration_seconds_bucket\{outcome="success",le="\+Inf"\} [1-9]\d*/);
  assert.match(metrics, /# TYPE slipway_rollouts_total counter/);
});

test('commit status: a webhook run reports pending, then success, to the forge API with the project token', async () => {
  const received: Array<{ url: string; auth: string; body: { state: string; context: string; target_url?: string } }> = [];
  const forge = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      received.push({ url: req.url ?? '', auth: req.headers.authorization ?? '', body: JSON.parse(body) as { state: string; context: string } });
      res.writeHead(201, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => forge.listen(0, '127.0.0.1', resolve));
  const apiUrl = `http://127.0.0.1:${(forge.address() as { port: number }).port}`;
  try {
    assert.equal((await server.api('/api/projects/chatty/commit-status', { method: 'PUT', body: { provider: 'gitea', token: 't' } })).status, 422, 'gitea needs its API URL');
    assert.equal((await server.api('/api/projects/chatty/commit-status', { method: 'PUT', body: { provider: 'github', token: 'forge-token', apiUrl } })).status, 200);
    const secret = 'webhook-secret-123';
    const head = (await exec('git', ['rev-parse', 'HEAD'], { cwd: repo.dir })).stdout.trim();
    const payload = Buffer.from(
      JSON.stringify({
        ref: 'refs/heads/main', before: '0'.repeat(40), after: head, deleted: false,
        repository: { name: 'chatty', full_name: 'team/chatty', clone_url: `${apiUrl}/team/chatty.git` },
        head_commit: { message: 'status please', timestamp: new Date().toISOString() }, sender: { login: 'octocat' },
      }),
    );
    const before = (await server.api<{ runs: unknown[] }>('/api/runs?project=chatty')).body.runs.length;
    const res = await fetch(`${server.url}/hooks/github?project=chatty`, {
      method: 'POST',
      headers: { 'X-GitHub-Event': 'push', 'X-GitHub-Delivery': 'status-1', 'X-Hub-Signature-256': `sha256=${createHmac('sha256', secret).update(payload).digest('hex')}` },
      body: payload,
    });
    assert.equal(res.status, 202);
    const run = await server.waitForRun('chatty', before + 1);
    assert.equal(run.status, 'success', run.reason);
    assert.deepEqual(received.map((r) => [r.url, r.body.state, r.body.context]), [
      [`/repos/team/chatty/statuses/${head}`, 'pending', 'slipway'],
      [`/repos/team/chatty/statuses/${head}`, 'success', 'slipway'],
    ]);
    assert.ok(received.every((r) => r.auth === 'Bearer forge-token'));
    assert.match(received[1]?.body.target_url ?? '', new RegExp(`/api/runs/${run.id}$`));
  } finally {
    forge.close();
  }
});
