// Token scopes per environment against a real server and the real docker target: a deploy:staging
// token deploys and rolls back staging and nothing else (403 on production's deploy, rollback and
// a production rollout's cancel), reads but does not run or administer; bad deploy:ENV scopes are
// 422 on the API and exit 2 in the CLI before the server is asked.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testServer, type TestServer } from './support.js';
import { runCli } from '../support/repo.js';
import { buildImages, IMAGES } from '../deploy-docker/support.js';

type ErrorBody = { error: { code: string; message: string; fields?: Array<{ field: string; message: string }> } };
type RolloutBody = { id: string; kind: string; status: string; environment: string; outcome?: { revision: { number: number; image: string } } };

const FAST = { replicas: 1, health: { path: '/healthz', interval: '200ms', healthy: 1, unhealthy: 2 }, strategy: { progressDeadline: '20s' } };

describe('token scopes per environment (deploy:ENV)', { timeout: 240_000 }, () => {
  let server: TestServer;
  const work = mkdtempSync(path.join(os.tmpdir(), 'slipway-scopes-work-'));
  let staging = '';
  const cli = (args: string[], token = server.token) => runCli(args, { cwd: work, env: { SLIPWAY_URL: server.url, SLIPWAY_TOKEN: token, SLIPWAY_HOME: path.join(work, 'home') } });

  const ended = (id: string): Promise<RolloutBody> => server.rolloutEnded<RolloutBody>(id);

  before(async () => {
    [server] = await Promise.all([testServer(), buildImages()]);
    staging = await server.tokenWith(['deploy:staging'], 'staging-bot');
  });

  after(async () => {
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('a deploy:staging token deploys and rolls back staging', async () => {
    for (const image of [IMAGES.v1, IMAGES.v2]) {
      const started = await server.api<RolloutBody>('/api/apps/web/environments/staging/deploy', { method: 'POST', token: staging, body: { image, ...FAST } });
      assert.equal(started.status, 202, JSON.stringify(started.body));
      assert.equal((await ended(started.body.id)).status, 'healthy');
    }
    const back = await server.api<RolloutBody>('/api/apps/web/environments/staging/rollback', { method: 'POST', token: staging, body: {} });
    assert.equal(back.status, 202, JSON.stringify(back.body));
    const done = await ended(back.body.id);
    assert.equal(done.status, 'healthy');
    assert.equal(done.outcome?.revision.image, IMAGES.v1);
    // the audit log and the revision name the token
    const revisions = await server.api<{ revisions: Array<{ number: number; trigger: { kind: string; by: string } }> }>('/api/apps/web/environments/staging/revisions');
    assert.deepEqual(revisions.body.revisions.map((r) => [r.number, r.trigger.kind, r.trigger.by]), [[1, 'deploy', 'staging-bot'], [2, 'deploy', 'staging-bot'], [3, 'rollback', 'staging-bot']]);
  });

  it("gets 403 naming deploy:production on production's deploy, rollback and a production rollout's cancel", async () => {
    const deny = (res: { status: number; body: unknown }, environment = 'production'): void => {
      assert.equal(res.status, 403, JSON.stringify(res.body));
      assert.equal((res.body as ErrorBody).error.code, 'AUTH_SCOPE');
      assert.equal((res.body as ErrorBody).error.message, `the token lacks the 'deploy:${environment}' scope (or 'deploy')`);
    };
    deny(await server.api('/api/apps/web/environments/production/deploy', { method: 'POST', token: staging, body: { image: IMAGES.v1, ...FAST } }));
    deny(await server.api('/api/apps/web/environments/production/rollback', { method: 'POST', token: staging, body: {} }));
    // an environment is another only when its whole name differs
    deny(await server.api('/api/apps/web/environments/staging2/deploy', { method: 'POST', token: staging, body: { image: IMAGES.v1, ...FAST } }), 'staging2');

    // a production rollout that waits (the image never listens) is not the staging token's to cancel
    const slow = await server.api<RolloutBody>('/api/apps/web/environments/production/deploy', { method: 'POST', body: { image: IMAGES.silent, ...FAST } });
    assert.equal(slow.status, 202, JSON.stringify(slow.body));
    try {
      deny(await server.api(`/api/rollouts/${slow.body.id}/cancel`, { method: 'POST', token: staging }));
      assert.equal((await server.api<RolloutBody>(`/api/rollouts/${slow.body.id}`)).body.status, 'in-progress');
    } finally {
      assert.equal((await server.api(`/api/rollouts/${slow.body.id}/cancel`, { method: 'POST' })).status, 202);
    }
    assert.notEqual((await ended(slow.body.id)).status, 'healthy');
    // nothing of production changed by the staging token: only the admin's cancelled rollout is there
    const production = await server.api<{ revisions: Array<{ trigger: { by: string } }> }>('/api/apps/web/environments/production/revisions');
    assert.deepEqual(production.body.revisions.map((r) => r.trigger.by), ['admin']);
  });

  it('reads like any token, but neither runs nor administers', async () => {
    assert.equal((await server.api('/api/status', { token: staging })).status, 200);
    assert.equal((await server.api('/api/runs', { token: staging })).status, 200);
    const run = await server.api<ErrorBody>('/api/projects/nothing/runs', { method: 'POST', token: staging, body: {} });
    assert.equal(run.status, 403);
    assert.match(run.body.error.message, /'run' scope/);
    const tokens = await server.api<ErrorBody>('/api/tokens', { token: staging });
    assert.equal(tokens.status, 403);
    assert.equal((await server.api('/api/tokens', { method: 'POST', token: staging, body: { name: 'x', scopes: ['deploy'] } })).status, 403);
    // a token with no deploy scope at all is stopped at the gate, before its body is read
    const reader = await server.tokenWith(['read'], 'reader');
    const gate = await server.api<ErrorBody>('/api/apps/web/environments/staging/deploy', { method: 'POST', token: reader, body: '{not json' });
    assert.equal(gate.status, 403);
    assert.equal(gate.body.error.message, "the token lacks the 'deploy' scope (or a 'deploy:ENV' one)");
  });

  it('POST /api/tokens takes deploy:ENV scopes and refuses bad ones with 422, creating nothing', async () => {
    const created = await server.api<{ scopes: string[] }>('/api/tokens', { method: 'POST', body: { name: 'two-envs', scopes: ['deploy:qa', 'read', 'deploy:eu.prod-1', 'deploy:qa'] } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual(created.body.scopes, ['read', 'deploy:eu.prod-1', 'deploy:qa']);
    for (const scopes of [['deploy:'], ['deploy:../x'], ['deploy:a b'], ['read', 'deploy:a/b'], [`deploy:${'x'.repeat(64)}`], ['deploy:*'], ['deploys'], Array.from({ length: 33 }, (_, i) => `deploy:e${i}`)]) {
      const res = await server.api<ErrorBody>('/api/tokens', { method: 'POST', body: { name: 'bad-scope', scopes } });
      assert.equal(res.status, 422, `${JSON.stringify(scopes)}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'TOKEN_INVALID');
      assert.match(res.body.error.message, /scopes/);
    }
    const list = await server.api<{ tokens: Array<{ name: string }> }>('/api/tokens');
    assert.ok(!list.body.tokens.some((t) => t.name === 'bad-scope'));
  });

  it('slipway token create --scopes deploy:production,read, and list shows it; bad scopes exit 2', async () => {
    const created = await cli(['token', 'create', '--scopes', 'deploy:production,read', '--name', 'prod-bot']);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /^token \S+ \(prod-bot; read, deploy:production\), shown once:\n {2}slw_\S+\n$/);
    const list = await cli(['token', 'list']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^\S+\s+prod-bot\s+read,deploy:production\s+slw_/m);
    for (const scopes of ['deploy:', 'deploy:../x', 'deploy:a b', 'read,deploy:x/y']) {
      const res = await cli(['token', 'create', '--scopes', scopes, '--name', 'bad-cli']);
      assert.equal(res.code, 2, `${scopes}: ${res.stdout}${res.stderr}`);
      assert.match(res.stderr, /^slipway token: unknown scope '.+': scopes are read, run, deploy, admin and deploy:ENV/);
    }
    const many = await cli(['token', 'create', '--scopes', Array.from({ length: 33 }, (_, i) => `deploy:e${i}`).join(','), '--name', 'bad-cli']);
    assert.equal(many.code, 2);
    assert.match(many.stderr, /at most 32 scopes, not 33/);
    const after = await server.api<{ tokens: Array<{ name: string }> }>('/api/tokens');
    assert.ok(!after.body.tokens.some((t) => t.name === 'bad-cli'));
    // the new token works as a deploy:production token (403 elsewhere), through the CLI too
    const secret = created.stdout.split('\n')[1]?.trim() ?? '';
    const denied = await cli(['rollback', 'web', '--env', 'staging'], secret);
    assert.equal(denied.code, 2, denied.stderr);
    assert.match(denied.stderr, /^slipway rollback: 403: the token lacks the 'deploy:staging' scope \(or 'deploy'\)/);
  });
});
