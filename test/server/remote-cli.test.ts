// The CLI against a real `slipway server` process, as a user with SLIPWAY_URL / SLIPWAY_TOKEN drives
// it: deploy, status, history, rollback through the API (same output and exit codes as on this
// machine), scopes, `run --remote`, `cancel`, and bad API bodies refused with 422.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { spawnServer, type ServerProcess } from '../support/server-process.js';
import { runCli, spawnCli, tempRepo, type TempRepo } from '../support/repo.js';
import { eventually } from '../support/wait.js';
import { buildImages, IMAGES, removeDeployments } from '../deploy-docker/support.js';

const exec = promisify(execFile);
const ADMIN = 'remote-cli-admin-token-0123456789';
const FAST = ['--health-path', '/healthz', '--health-interval', '200ms', '--healthy', '1', '--unhealthy', '2', '--progress-deadline', '20s'];

/** A loopback port nothing listens on (any more). */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

const pipeline = (name: string, script: string): string => `version: 1
name: ${name}
on: {}
jobs:
  work:
    image: busybox:latest
    steps:
      - run: ${script}
`;

describe('the CLI against a server (SLIPWAY_URL)', { timeout: 300_000 }, () => {
  const data = mkdtempSync(path.join(os.tmpdir(), 'slipway-remote-cli-'));
  const work = mkdtempSync(path.join(os.tmpdir(), 'slipway-remote-cli-work-'));
  let server: ServerProcess;
  let url = '';
  let repo: TempRepo;
  const env = (token = ADMIN): Record<string, string> => ({ SLIPWAY_URL: url, SLIPWAY_TOKEN: token, SLIPWAY_HOME: path.join(work, 'home') });
  const slipway = (args: string[], options: { token?: string; cwd?: string; env?: Record<string, string> } = {}) =>
    runCli(args, { cwd: options.cwd ?? work, env: { ...env(options.token), ...options.env } });
  const api = async <T>(p: string, init: { method?: string; body?: unknown; token?: string } = {}): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${url}${p}`, {
      method: init.method ?? 'GET',
      headers: { Authorization: `Bearer ${init.token ?? ADMIN}`, ...(init.body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
      ...(init.body !== undefined ? { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  };

  before(async () => {
    server = spawnServer(data, { adminToken: ADMIN, concurrency: 2, env: { SLIPWAY_HOME: path.join(data, 'home') } });
    [url] = await Promise.all([server.url, buildImages()]);
    // a project whose pipeline runs only when asked (on: {}), with a passing main branch
    repo = tempRepo({ 'slipway.yaml': pipeline('remote-app', 'echo all good') });
    await exec('git', ['push', '-q', `${url.replace('http://', `http://t:${ADMIN}@`)}/git/remote-app.git`, 'main'], { cwd: repo.dir });
  });

  after(async () => {
    await server?.stop();
    await removeDeployments(path.join(data, 'deploy'));
    repo?.remove();
    rmSync(data, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it('deploys through the server with progress lines, then status and history show the revision', async () => {
    const res = await slipway(['deploy', 'staging', '--app', 'web', '--image', IMAGES.v1, ...FAST]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^\d\d:\d\d:\d\d rolling out revision 1: 1 × /m);
    const healthy = /web\/staging: revision 1 \(\S+:v1\) is healthy at (http:\/\/127\.0\.0\.1:\d+)/.exec(res.stdout);
    assert.ok(healthy?.[1], res.stdout);
    assert.equal(await (await fetch(`${healthy[1]}/`)).text(), 'hello from hello-web v1\n');

    const status = await slipway(['status']);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^APP\s+ENV\s+REV\s+IMAGE\s+HEALTH\s+READY\s+ENDPOINT\s+LAST/);
    assert.match(status.stdout, /^web\s+staging\s+1\s+\S+:v1\s+healthy\s+1\/1\s+http:\/\/127\.0\.0\.1:\d+/m);
    const json = await slipway(['status', 'web', '--json']);
    assert.equal((JSON.parse(json.stdout) as Array<{ current: { number: number } }>)[0]?.current.number, 1);

    const history = await slipway(['history', 'web']);
    assert.equal(history.code, 0, history.stderr);
    assert.match(history.stdout, /^ENV\s+REV\s+IMAGE\s+TRIGGER\s+WHEN\s+OUTCOME\s+REASON/);
    assert.match(history.stdout, /^staging\s+1\s+\S+:v1\s+deploy by admin\s+[\d-]+ [\d:]+\s+healthy/m);
    // --local still means this machine, which deployed nothing
    assert.match((await slipway(['history', 'web', '--local'])).stdout, /no revisions of web/);
  });

  it('rolls back through the server to the previous healthy revision', async () => {
    const second = await slipway(['deploy', 'staging', '--app', 'web', '--image', IMAGES.v2, ...FAST]);
    assert.equal(second.code, 0, second.stderr);
    const res = await slipway(['rollback', 'web']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /rolling back to revision 1/);
    assert.match(res.stdout, /web\/staging: revision 3 \(\S+:v1\) is healthy at http:\/\/127\.0\.0\.1:\d+/);
    const history = await slipway(['history', 'web', '--env', 'staging']);
    assert.match(history.stdout, /^3\s+\S+:v1\s+rollback by admin \(of 1\)\s+[\d-]+ [\d:]+\s+healthy/m);
    // the API's own view of the environment, and its store (DORA) counted the rollouts
    const revisions = await api<{ revisions: Array<{ number: number; trigger: { kind: string } }> }>('/api/apps/web/environments/staging/revisions');
    assert.deepEqual(revisions.body.revisions.map((r) => [r.number, r.trigger.kind]), [[1, 'deploy'], [2, 'deploy'], [3, 'rollback']]);
    const dora = await api<{ deployments: number }>('/api/dora?environment=staging&days=1');
    assert.equal(dora.body.deployments, 3, JSON.stringify(dora.body));

    const missing = await slipway(['rollback', 'web', '--to', '99']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /has no revision 99 \(ROLLOUT_NO_REVISION\)/);
    const never = await slipway(['rollback', 'nothing-here']);
    assert.equal(never.code, 2);
    assert.match(never.stderr, /app 'nothing-here' has no deployed environment/);
  });

  it('exits 1 with the failing check when the new image is unhealthy, and the old revision keeps serving', async () => {
    const res = await slipway(['deploy', 'staging', '--app', 'web', '--image', IMAGES.unhealthy, ...FAST]);
    assert.equal(res.code, 1, res.stdout);
    assert.match(res.stderr, /web\/staging: revision 4 \(\S+:unhealthy\) failed and was rolled back/);
    assert.match(res.stderr, /healthz/);
    const status = await slipway(['status', 'web']);
    assert.match(status.stdout, /^web\s+staging\s+3\s+\S+:v1\s+healthy/m);
    const history = await slipway(['history', 'web', '--env', 'staging']);
    assert.match(history.stdout, /^4\s+\S+:unhealthy\s+deploy by admin\s+[\d-]+ [\d:]+\s+rolled-back\s+\S/m);
  });

  it('cancels a rollout in progress through the API and with Ctrl-C: the serving revision is restored', async () => {
    type RolloutBody = { id: string; status: string; cancelledBy?: string; outcome?: { reason?: string }; lines: Array<{ line: string }> };
    // an image that starts but never listens: without a cancel the rollout would wait out its 20 s deadline
    const started = await api<RolloutBody>('/api/apps/web/environments/staging/deploy', {
      method: 'POST',
      body: { image: IMAGES.silent, port: 8080, health: { path: '/healthz', interval: '200ms', healthy: 1, unhealthy: 2 }, strategy: { progressDeadline: '20s' } },
    });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const id = started.body.id;
    await eventually('the new replica to start', async () => (await api<RolloutBody>(`/api/rollouts/${id}`)).body.lines.some((l) => /started, waiting for its health check/.test(l.line)), 30_000);
    const cancelled = await api<RolloutBody>(`/api/rollouts/${id}/cancel`, { method: 'POST' });
    assert.equal(cancelled.status, 202, JSON.stringify(cancelled.body));
    assert.equal(cancelled.body.cancelledBy, 'admin');
    let ended: RolloutBody | undefined;
    await eventually('the cancelled rollout to end', async () => {
      ended = (await api<RolloutBody>(`/api/rollouts/${id}`)).body;
      return ended.status !== 'in-progress';
    }, 15_000);
    assert.equal(ended?.status, 'rolled-back', JSON.stringify(ended));
    assert.match(ended?.outcome?.reason ?? '', /was cancelled/);
    assert.ok(ended?.lines.some((l) => l.line === 'cancelled by admin'), JSON.stringify(ended?.lines));
    const again = await api<{ error: { code: string } }>(`/api/rollouts/${id}/cancel`, { method: 'POST' });
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'ROLLOUT_NOT_CANCELLABLE');
    assert.equal((await api<{ error: { code: string } }>('/api/rollouts/ro_nosuch/cancel', { method: 'POST' })).body.error.code, 'ROLLOUT_NOT_FOUND');
    const status = await slipway(['status', 'web']);
    assert.match(status.stdout, /^web\s+staging\s+3\s+\S+:v1\s+healthy/m);

    // Ctrl-C on a remote deploy sends the same cancel and follows the rollout to its outcome
    const cli = spawnCli(['deploy', 'staging', '--app', 'web', '--image', IMAGES.silent, ...FAST], { cwd: work, env: env() });
    await cli.waitFor(/started, waiting for its health check/, 30_000);
    cli.child.kill('SIGINT');
    const res = await cli.done;
    assert.equal(res.code, 1, res.stdout + res.stderr);
    assert.match(res.stderr, /^cancelling rollout ro_\S+ on the server \(again to stop following\)/m);
    assert.match(res.stdout, /cancelled by admin/);
    assert.match(res.stderr, /failed and was rolled back/);
    assert.match((await slipway(['status', 'web'])).stdout, /^web\s+staging\s+3\s+\S+:v1\s+healthy/m);
  });

  it('token create, list and revoke: a read token is shown once, listed, and refused once revoked', async () => {
    const created = await slipway(['token', 'create', '--scopes', 'read', '--name', 'dashboard', '--json']);
    assert.equal(created.code, 0, created.stderr);
    const made = JSON.parse(created.stdout) as { id: string; secret: string; scopes: string[] };
    assert.deepEqual(made.scopes, ['read']);
    assert.equal((await api('/api/runs', { token: made.secret })).status, 200);
    const listed = await slipway(['token', 'list']);
    assert.match(listed.stdout, /^ID\s+NAME\s+SCOPES/);
    assert.match(listed.stdout, new RegExp(`^${made.id}\\s+dashboard\\s+read\\s`, 'm'));
    assert.ok(!listed.stdout.includes(made.secret), 'the list never shows a secret');
    assert.equal((await slipway(['token', 'revoke', made.id])).code, 0);
    assert.equal((await api('/api/runs', { token: made.secret })).status, 401);
    // bad input is refused before anything is asked of the server; a reader cannot make tokens
    const badScope = await slipway(['token', 'create', '--scopes', 'root']);
    assert.equal(badScope.code, 2);
    assert.match(badScope.stderr, /unknown scope 'root'/);
    const reader = JSON.parse((await slipway(['token', 'create', '--scopes', 'read', '--json'])).stdout) as { secret: string };
    const denied = await slipway(['token', 'create', '--scopes', 'admin'], { token: reader.secret });
    assert.equal(denied.code, 2);
    assert.match(denied.stderr, /403: the token lacks the 'admin' scope/);
  });

  it('refuses a token without the deploy scope (403, exit 2) and says why', async () => {
    const created = await api<{ secret: string }>('/api/tokens', { method: 'POST', body: { name: 'viewer', scopes: ['read'] } });
    assert.equal(created.status, 201);
    const res = await slipway(['deploy', 'staging', '--app', 'web', '--image', IMAGES.v2], { token: created.body.secret });
    assert.equal(res.code, 2);
    assert.match(res.stderr, /^slipway deploy: 403: the token lacks the 'deploy' scope/m);
    const rollback = await slipway(['rollback', 'web', '--env', 'staging'], { token: created.body.secret });
    assert.equal(rollback.code, 2);
    assert.match(rollback.stderr, /403: the token lacks the 'deploy' scope/);
    // reading is what the token may do
    assert.equal((await slipway(['status', 'web'], { token: created.body.secret })).code, 0);
    const direct = await api<{ error: { code: string } }>('/api/apps/web/environments/staging/deploy', { method: 'POST', token: created.body.secret, body: { image: IMAGES.v2 } });
    assert.equal(direct.status, 403);
    assert.equal(direct.body.error.code, 'AUTH_SCOPE');
  });

  it('refuses bad deploy, rollback and run bodies with 422 naming each field, and changes nothing', async () => {
    const deploy = (body: unknown) => api<{ error: { code: string; message: string } }>('/api/apps/fresh/environments/prod/deploy', { method: 'POST', body });
    const cases: Array<[unknown, RegExp]> = [
      [{}, /image: required/],
      [{ image: 'web:1', replica: 2 }, /replica: unknown field/],
      [{ image: 'web:1', replicas: 0 }, /replicas: a whole number from 1 to 1000, not 0/],
      [{ image: 'web:1', health: { interval: '5' } }, /health\.interval: a positive duration/],
      [{ image: 'web:1', health: { path: '/healthz', cmd: 'true' } }, /choose one of path, tcp, cmd/],
      [{ image: 'web:1', target: 'nomad' }, /target: "docker" or "kubernetes"/],
      [{ image: 'web:1', kubernetes: { manifests: 'k8s/' } }, /kubernetes\.manifests: not accepted here/],
      [{ image: 'has space', port: 'http' }, /image: an image reference without spaces.*port: a whole number/],
    ];
    for (const [body, message] of cases) {
      const res = await deploy(body);
      assert.equal(res.status, 422, JSON.stringify(body));
      assert.equal(res.body.error.code, 'ROLLOUT_INVALID');
      assert.match(res.body.error.message, message);
    }
    assert.equal((await deploy('[1, 2]')).status, 400);
    assert.equal((await deploy('{not json')).status, 400);
    assert.equal((await api('/api/apps/bad%20name/environments/prod/deploy', { method: 'POST', body: { image: 'web:1' } })).status, 422);
    const rollback = await api<{ error: { code: string; message: string } }>('/api/apps/web/environments/staging/rollback', { method: 'POST', body: { to: 'two' } });
    assert.equal(rollback.status, 422);
    assert.match(rollback.body.error.message, /to: a revision number/);
    const neverDeployed = await api<{ error: { code: string } }>('/api/apps/fresh/environments/prod/rollback', { method: 'POST', body: {} });
    assert.equal(neverDeployed.status, 404);
    assert.equal(neverDeployed.body.error.code, 'ROLLOUT_NO_REVISION');
    const run = await api<{ error: { code: string } }>('/api/projects/remote-app/runs', { method: 'POST', body: { branch: 'main', force: true } });
    assert.equal(run.status, 422);
    const noBranch = await api<{ error: { code: string; message: string } }>('/api/projects/remote-app/runs', { method: 'POST', body: { branch: 'nope' } });
    assert.equal(noBranch.status, 422);
    assert.match(noBranch.body.error.message, /has no branch 'nope' \(branches: main\)/);
    // nothing was deployed and no run was queued
    assert.deepEqual((await api<{ revisions: unknown[] }>('/api/apps/fresh/revisions')).body.revisions, []);
    assert.deepEqual((await api<{ runs: unknown[] }>('/api/runs?project=remote-app')).body.runs, []);
    // the CLI says the same and exits 2
    const cli = await slipway(['deploy', 'prod', '--app', 'fresh', '--image', 'web:1', '--health-path', '/a', '--health-cmd', 'true']);
    assert.equal(cli.code, 2);
    assert.match(cli.stderr, /^slipway deploy: 422: invalid deploy request: health: path and cmd given/m);
  });

  it('run --remote starts the pushed pipeline on the server and exits 0, or 1 when it fails', async () => {
    const passed = await slipway(['run', '--remote'], { cwd: repo.dir });
    assert.equal(passed.code, 0, passed.stderr);
    assert.match(passed.stderr, /^run \S+ \(#1\) of remote-app on http:\/\/127\.0\.0\.1:\d+: main@[0-9a-f]{7}/m);
    assert.match(passed.stdout, /^\[work\] all good$/m);
    assert.match(passed.stderr, /^run \S+ success$/m);

    await exec('git', ['checkout', '-q', '-b', 'broken'], { cwd: repo.dir });
    repo.write('slipway.yaml', pipeline('remote-app', 'echo about to fail && exit 3'));
    repo.commit('broken');
    await exec('git', ['push', '-q', `${url.replace('http://', `http://t:${ADMIN}@`)}/git/remote-app.git`, 'broken'], { cwd: repo.dir });
    const failed = await slipway(['run', '--remote'], { cwd: repo.dir });
    assert.equal(failed.code, 1, failed.stderr);
    assert.match(failed.stdout, /^\[work\] about to fail$/m);
    assert.match(failed.stderr, /^run \S+ failure$/m);
    // a run of the main branch named explicitly, and flags that only mean something locally
    assert.equal((await slipway(['run', '--remote', '--branch', 'main'], { cwd: repo.dir })).code, 0);
    const local = await slipway(['run', '--remote', '--job', 'work'], { cwd: repo.dir });
    assert.equal(local.code, 2);
    assert.match(local.stderr, /--job cannot be used with --remote/);
  });

  it('cancel stops a running run on the server and removes its containers', async () => {
    repo.write('slipway.yaml', pipeline('remote-app', 'echo started && sleep 300'));
    repo.commit('slow');
    await exec('git', ['push', '-q', `${url.replace('http://', `http://t:${ADMIN}@`)}/git/remote-app.git`, 'broken:slow'], { cwd: repo.dir });
    const started = await api<{ id: string }>('/api/projects/remote-app/runs', { method: 'POST', body: { branch: 'slow' } });
    assert.equal(started.status, 201);
    const runId = started.body.id;
    await eventually('the step to start', async () => (await api<{ lines: Array<{ line: string }> }>(`/api/runs/${runId}/logs`)).body.lines.some((l) => l.line === 'started'), 60_000);

    const res = await slipway(['cancel', runId]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, new RegExp(`^run ${runId} cancelled`, 'm'));
    assert.equal((await api<{ status: string }>(`/api/runs/${runId}`)).body.status, 'cancelled');
    const { stdout } = await exec('docker', ['ps', '-aq', '--filter', `label=io.slipway.run=${runId}`]);
    assert.equal(stdout.trim(), '', 'the run left no container');

    const again = await slipway(['cancel', runId]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^slipway cancel: 409: run \S+ is cancelled/m);
    assert.equal((await slipway(['cancel', 'no-such-run'])).code, 1);
  });

  it('names SLIPWAY_URL when the server cannot be reached, and every command keeps its help', async () => {
    const closed = await closedPort();
    const down = await slipway(['status'], { env: { SLIPWAY_URL: `http://127.0.0.1:${closed}` } });
    assert.equal(down.code, 1);
    assert.match(down.stderr, new RegExp(`^slipway status: cannot reach the server at http://127\\.0\\.0\\.1:${closed} \\(SLIPWAY_URL\\): connection refused`, 'm'));
    const noToken = await slipway(['history', 'web'], { env: { SLIPWAY_TOKEN: '' } });
    assert.equal(noToken.code, 2);
    assert.match(noToken.stderr, /SLIPWAY_TOKEN is not set/);
    assert.equal((await slipway(['status', '--remote', '--data', work])).code, 2);
    for (const command of ['deploy', 'rollback', 'history', 'status', 'cancel', 'logs', 'run', 'token']) {
      const help = await slipway([command, '--help']);
      assert.equal(help.code, 0, command);
      assert.match(help.stdout, new RegExp(`^usage: slipway ${command}`));
    }
    const usage = await slipway(['cancel']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /takes one run id, got 0/);
  });
});
