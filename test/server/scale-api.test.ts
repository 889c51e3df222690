// POST /api/apps/{app}/environments/{env}/scale against a real server and the real docker target:
// 202 and a rollout of kind scale followed to its end, no new revision, the scale event in the
// history API, an audit entry naming the token; the deploy:ENV scope; 422 for a bad count, 404 for
// an environment never deployed; and `slipway scale` and `history` through the server.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testServer, type TestServer } from './support.js';
import { runCli } from '../support/repo.js';
import { buildImages, IMAGES } from '../deploy-docker/support.js';

type ErrorBody = { error: { code: string; message: string; fields?: Array<{ field: string; message: string }> } };
type ScaleEvent = { from: number; to: number; by: string; outcome: string; revision?: number };
type RolloutBody = { id: string; kind: string; status: string; replicas?: number; scale?: ScaleEvent; endpoint?: string };
type History = { revisions: Array<{ number: number }>; scaleEvents?: ScaleEvent[] };
type Status = { environments: Array<{ environment: string; replicas: { desired: number; ready: number } }> };

const FAST = { replicas: 1, health: { path: '/healthz', interval: '200ms', healthy: 1, unhealthy: 2 }, strategy: { progressDeadline: '20s' } };

describe('the scale API', { timeout: 240_000 }, () => {
  let server: TestServer;
  const work = mkdtempSync(path.join(os.tmpdir(), 'slipway-scale-work-'));
  const cli = (args: string[], token = server.token) => runCli(args, { cwd: work, env: { SLIPWAY_URL: server.url, SLIPWAY_TOKEN: token, SLIPWAY_HOME: path.join(work, 'home'), USER: 'nobody-local' } });
  const scale = (body: unknown, token?: string, env = 'staging') => server.api<RolloutBody & ErrorBody>(`/api/apps/web/environments/${env}/scale`, { method: 'POST', body, ...(token ? { token } : {}) });

  before(async () => {
    [server] = await Promise.all([testServer(), buildImages()]);
    const started = await server.api<RolloutBody>('/api/apps/web/environments/staging/deploy', { method: 'POST', body: { image: IMAGES.v1, ...FAST } });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    assert.equal((await server.rolloutEnded<RolloutBody>(started.body.id)).status, 'healthy');
  });

  after(async () => {
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('scales to 2: 202 with Location, followed to healthy, a scale event and no revision, audited', async () => {
    const res = await fetch(`${server.url}/api/apps/web/environments/staging/scale`, { method: 'POST', headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ replicas: 2 }) });
    const started = { status: res.status, body: (await res.json()) as RolloutBody };
    assert.equal(started.status, 202, JSON.stringify(started.body));
    assert.equal(res.headers.get('location'), `/api/rollouts/${started.body.id}`);
    assert.deepEqual([started.body.kind, started.body.replicas, started.body.status], ['scale', 2, 'in-progress']);
    const done = await server.rolloutEnded<RolloutBody>(started.body.id);
    assert.equal(done.status, 'healthy', JSON.stringify(done));
    assert.deepEqual([done.scale?.from, done.scale?.to, done.scale?.by, done.scale?.revision], [1, 2, 'admin', 1]);
    assert.match(done.endpoint ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);
    const status = await server.api<Status>('/api/status?app=web&environment=staging');
    assert.deepEqual(status.body.environments[0]?.replicas, { desired: 2, ready: 2 });
    const history = await server.api<History>('/api/apps/web/environments/staging/revisions');
    assert.equal(history.body.revisions.length, 1);
    assert.deepEqual(history.body.scaleEvents?.map((e) => [e.from, e.to, e.by, e.outcome]), [[1, 2, 'admin', 'healthy']]);
    assert.equal((await server.api<History>('/api/apps/web/revisions')).body.scaleEvents?.length, 1);
    const audit = await server.store.listAudit({ subject: 'web/staging' });
    assert.ok(audit.some((a) => a.action === 'scale' && a.actor === 'admin' && a.details?.replicas === 2 && a.details?.rollout === started.body.id), JSON.stringify(audit));
  });

  it('needs deploy or deploy:ENV: a deploy:staging token scales staging, not production; a read token nothing', async () => {
    const staging = await server.tokenWith(['deploy:staging'], 'staging-bot');
    const denied = await scale({ replicas: 1 }, staging, 'production');
    assert.equal(denied.status, 403, JSON.stringify(denied.body));
    assert.equal(denied.body.error.message, "the token lacks the 'deploy:production' scope (or 'deploy')");
    const reader = await server.tokenWith(['read'], 'reader');
    assert.equal((await scale({ replicas: 1 }, reader)).status, 403);
    const allowed = await scale({ replicas: 1 }, staging);
    assert.equal(allowed.status, 202, JSON.stringify(allowed.body));
    const done = await server.rolloutEnded<RolloutBody>(allowed.body.id);
    assert.deepEqual([done.status, done.scale?.by, done.scale?.to], ['healthy', 'staging-bot', 1]);
  });

  it('refuses a bad count with 422 naming replicas, and an environment never deployed with 404; nothing changes', async () => {
    for (const body of [{ replicas: -1 }, { replicas: 1001 }, { replicas: 1.5 }, { replicas: 'two' }, {}, { replicas: 2, extra: true }]) {
      const res = await scale(body);
      assert.equal(res.status, 422, `${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'ROLLOUT_INVALID');
      assert.ok(res.body.error.fields?.some((f) => f.field === 'replicas' || f.field === 'extra'), JSON.stringify(res.body));
    }
    const never = await scale({ replicas: 2 }, undefined, 'production');
    assert.equal(never.status, 404, JSON.stringify(never.body));
    assert.equal(never.body.error.code, 'ROLLOUT_NO_REVISION');
    const status = await server.api<Status>('/api/status?app=web&environment=staging');
    assert.equal(status.body.environments[0]?.replicas.desired, 1);
  });

  it('slipway scale and history through the server: the same lines and exit codes as on this machine', async () => {
    const res = await cli(['scale', 'web', '3']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /scaling revision 1 from 1 to 3 replicas/);
    assert.match(res.stdout, /web\/staging: 3 replicas of revision 1 serve \(scaled from 1 by admin\) at http:\/\/127\.0\.0\.1:\d+/);
    const history = await cli(['history', 'web']);
    assert.equal(history.code, 0, history.stderr);
    assert.match(history.stdout, /^staging\s+-\s+replicas 1 → 3\s+scale by admin\s+[\d-]+ [\d:]+\s+healthy/m);
    const bad = await cli(['scale', 'web', '--env', 'production', '2']);
    assert.equal(bad.code, 2, bad.stdout + bad.stderr);
    assert.match(bad.stderr, /never been deployed/);
  });
});
