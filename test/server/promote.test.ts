// Promotion against a real server and the real docker target: staging's current revision — the
// same image reference and config — rolled out to production as a new revision (trigger promote
// from staging#N) that answers on production's own port; refused with the reason from a source
// that is rolled back, failed, missing or still rolling out; 403 without deploy:production; 422
// for bad names and from == to. The CLI promotes through the server and on this machine.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { testServer, type TestServer } from './support.js';
import { runCli } from '../support/repo.js';
import { eventually } from '../support/wait.js';
import { buildImages, IMAGES, removeDeployments } from '../deploy-docker/support.js';

type ErrorBody = { error: { code: string; message: string; fields?: Array<{ field: string; message: string }> } };
type RolloutBody = { id: string; kind: string; status: string; environment: string; image?: string; from?: { environment: string; revision: number }; endpoint?: string; outcome?: { revision: { number: number } } };
type RevisionBody = { number: number; image: string; outcome: string; config: Record<string, unknown>; trigger: { kind: string; by: string; from?: { environment: string; revision: number } } };

const FAST = { health: { path: '/healthz', interval: '200ms', healthy: 1, unhealthy: 2 }, strategy: { maxSurge: 1, maxUnavailable: 0, progressDeadline: '20s' } };
const CLI_FAST = ['--health-path', '/healthz', '--health-interval', '200ms', '--healthy', '1', '--unhealthy', '2', '--progress-deadline', '20s'];

/** A loopback port nothing listens on (any more). */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** The config without the fields bound to an environment. */
function unbound(config: Record<string, unknown>): Record<string, unknown> {
  const { environment: _environment, publish: _publish, ...rest } = config;
  return rest;
}

describe('promotion through the server (POST /api/apps/APP/promote, slipway promote)', { timeout: 300_000 }, () => {
  let server: TestServer;
  const work = mkdtempSync(path.join(os.tmpdir(), 'slipway-promote-work-'));
  let prodBot = '';
  let stagingBot = '';
  let productionPort = 0;
  const cli = (args: string[], token = server.token) => runCli(args, { cwd: work, env: { SLIPWAY_URL: server.url, SLIPWAY_TOKEN: token, SLIPWAY_HOME: path.join(work, 'home') } });
  const ended = (id: string): Promise<RolloutBody> => server.rolloutEnded<RolloutBody>(id);
  const deploy = async (environment: string, body: Record<string, unknown>): Promise<RolloutBody> => {
    const started = await server.api<RolloutBody>(`/api/apps/web/environments/${environment}/deploy`, { method: 'POST', body: { ...FAST, ...body } });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    return ended(started.body.id);
  };
  const revisionsOf = async (environment: string): Promise<RevisionBody[]> =>
    (await server.api<{ revisions: RevisionBody[] }>(`/api/apps/web/environments/${environment}/revisions`)).body.revisions;
  const promote = (body: unknown, token = server.token, app = 'web') => server.api<RolloutBody & ErrorBody>(`/api/apps/${app}/promote`, { method: 'POST', token, body });

  before(async () => {
    [server] = await Promise.all([testServer(), buildImages()]);
    [prodBot, stagingBot, productionPort] = await Promise.all([server.tokenWith(['deploy:production'], 'prod-bot'), server.tokenWith(['deploy:staging'], 'staging-bot'), freePort()]);
  });

  after(async () => {
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it("rolls staging's current image and config out to production as a new revision (promote from staging#1) on production's port", async () => {
    assert.equal((await deploy('staging', { image: IMAGES.v1, replicas: 2, port: 8080 })).status, 'healthy');
    assert.equal((await deploy('production', { image: IMAGES.v2, replicas: 1, publish: productionPort, health: { path: '/', interval: '300ms', healthy: 1, unhealthy: 3 } })).status, 'healthy');
    assert.equal(await (await fetch(`http://127.0.0.1:${productionPort}/`)).text(), 'hello from hello-web v2\n');

    // a token that may deploy to production only is enough
    const started = await promote({ from: 'staging', to: 'production' }, prodBot);
    assert.equal(started.status, 202, JSON.stringify(started.body));
    assert.equal(started.body.kind, 'promote');
    assert.equal(started.body.environment, 'production');
    assert.equal(started.body.image, IMAGES.v1);
    assert.deepEqual(started.body.from, { environment: 'staging', revision: 1 });
    const done = await ended(started.body.id);
    assert.equal(done.status, 'healthy', JSON.stringify(done));
    assert.equal(done.endpoint, `http://127.0.0.1:${productionPort}`);
    assert.equal(await (await fetch(`http://127.0.0.1:${productionPort}/`)).text(), 'hello from hello-web v1\n');

    const source = (await revisionsOf('staging'))[0]!;
    const promoted = (await revisionsOf('production')).at(-1)!;
    assert.equal(promoted.number, 2);
    assert.equal(promoted.outcome, 'healthy');
    assert.equal(promoted.image, source.image);
    assert.deepEqual(promoted.trigger, { by: 'prod-bot', kind: 'promote', from: { environment: 'staging', revision: 1 } });
    // the same config (2 replicas, staging's health check and strategy), production's own port
    assert.deepEqual(unbound(promoted.config), unbound(source.config));
    assert.equal(promoted.config.replicas, 2);
    assert.deepEqual(promoted.config.health, source.config.health);
    assert.equal(promoted.config.environment, 'production');
    assert.equal(promoted.config.publish, productionPort);

    const history = await cli(['history', 'web', '--env', 'production']);
    assert.equal(history.code, 0, history.stderr);
    assert.match(history.stdout, /^2\s+\S+:v1\s+promote from staging#1 by prod-bot\s+[\d-]+ [\d:]+\s+healthy/m);
    const audit = await server.store.listAudit({ subject: 'web/production' });
    assert.ok(audit.some((e) => e.action === 'promote' && e.actor === 'prod-bot'), JSON.stringify(audit));
  });

  it('slipway promote follows the rollout; an environment with no revision yet gets a port of its own', async () => {
    const res = await cli(['promote', 'web', '--from', 'staging', '--to', 'qa']);
    assert.equal(res.code, 0, res.stdout + res.stderr);
    assert.match(res.stdout, /promoting web\/staging revision 1 \(\S+:v1\) to qa/);
    assert.match(res.stdout, /qa gets a proxy port of its own/);
    const healthy = /web\/qa: revision 1 \(\S+:v1\) is healthy at http:\/\/127\.0\.0\.1:(\d+)/.exec(res.stdout);
    assert.ok(healthy?.[1], res.stdout);
    assert.notEqual(Number(healthy[1]), productionPort);
    assert.equal(await (await fetch(`http://127.0.0.1:${healthy[1]}/`)).text(), 'hello from hello-web v1\n');
    const qa = (await revisionsOf('qa'))[0]!;
    assert.equal(qa.config.publish, undefined);
    assert.equal(qa.trigger.kind, 'promote');

    const noFollow = await cli(['promote', 'web', '--from', 'staging', '--to', 'qa', '--no-follow']);
    assert.equal(noFollow.code, 0, noFollow.stderr);
    const id = /rollout (ro_\w+)/.exec(noFollow.stdout)?.[1];
    assert.ok(id, noFollow.stdout);
    // qa already runs staging#1's image and config: promoting it again changes nothing
    assert.equal((await ended(id)).status, 'unchanged');
  });

  it('403 without deploy:production (or deploy); 422 for bad names and from == to; nothing rolls out', async () => {
    const denied = await promote({ from: 'staging', to: 'production' }, stagingBot);
    assert.equal(denied.status, 403);
    assert.equal(denied.body.error.message, "the token lacks the 'deploy:production' scope (or 'deploy')");
    const reader = await server.tokenWith(['read'], 'reader');
    assert.equal((await promote({ from: 'staging', to: 'production' }, reader)).status, 403);
    const cliDenied = await cli(['promote', 'web', '--from', 'staging', '--to', 'production'], stagingBot);
    assert.equal(cliDenied.code, 2);
    assert.match(cliDenied.stderr, /^slipway promote: 403: the token lacks the 'deploy:production' scope/);

    const invalid = async (body: unknown, field: string, app = 'web'): Promise<void> => {
      const res = await promote(body, server.token, app);
      assert.equal(res.status, 422, `${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'ROLLOUT_INVALID');
      assert.ok(res.body.error.fields?.some((f) => f.field === field), JSON.stringify(res.body));
    };
    await invalid({ from: 'staging', to: 'staging' }, 'to');
    await invalid({ from: '../x', to: 'production' }, 'from');
    await invalid({ from: 'staging', to: 'a b' }, 'to');
    await invalid({ from: 'staging', to: '' }, 'to');
    await invalid({ from: 'staging' }, 'to');
    await invalid({ from: 'staging', to: 'production', image: 'evil:latest' }, 'image');
    await invalid({ from: 'staging', to: 7 }, 'to');
    await invalid({ from: 'staging', to: 'production' }, 'app', 'a%20b');
    for (const args of [['--from', 'staging', '--to', 'staging'], ['--from', 'staging'], ['--from', '../x', '--to', 'production']]) {
      const res = await cli(['promote', 'web', ...args]);
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`);
    }
    assert.equal((await revisionsOf('production')).length, 2);
  });

  it('refuses (409 PROMOTE_SOURCE_UNHEALTHY, with the reason) from a rolled-back, failed, missing or still rolling source', async () => {
    const refused = async (from: string, reason: RegExp): Promise<void> => {
      const res = await promote({ from, to: 'production' });
      assert.equal(res.status, 409, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'PROMOTE_SOURCE_UNHEALTHY');
      assert.match(res.body.error.message, reason);
    };
    // staging's newest rollout failed and was rolled back: revision 1 serves again, but it is not what was last tested there
    assert.equal((await deploy('staging', { image: IMAGES.unhealthy, replicas: 2 })).status, 'rolled-back');
    await refused('staging', /^the newest revision of web\/staging, 2, rolled-back: .+; staging serves revision 1 again/);
    const cliRefused = await cli(['promote', 'web', '--from', 'staging', '--to', 'production']);
    assert.equal(cliRefused.code, 1, cliRefused.stdout);
    assert.match(cliRefused.stderr, /^slipway promote: 409: the newest revision of web\/staging, 2, rolled-back/);

    // the first rollout of an environment failed: it serves nothing
    assert.equal((await deploy('broken', { image: IMAGES.unhealthy, replicas: 1 })).status, 'failed');
    await refused('broken', /^web\/broken serves no revision: its newest, revision 1, failed/);
    await refused('nowhere', /^web\/nowhere has never been deployed: there is nothing to promote$/);

    // a rollout under way (an image that never listens) is not promoted before it ends
    const slow = await server.api<RolloutBody>('/api/apps/web/environments/staging/deploy', { method: 'POST', body: { ...FAST, image: IMAGES.silent, replicas: 1 } });
    assert.equal(slow.status, 202);
    try {
      await eventually('the rollout to be recorded', async () => (await revisionsOf('staging')).at(-1)?.outcome === 'in-progress');
      await refused('staging', /^web\/staging is being rolled out \(revision 3\); promote once it is healthy$/);
    } finally {
      await server.api(`/api/rollouts/${slow.body.id}/cancel`, { method: 'POST' });
      await ended(slow.body.id);
    }
    // production still serves the promoted revision, untouched by the refusals
    assert.equal((await revisionsOf('production')).length, 2);
    assert.equal(await (await fetch(`http://127.0.0.1:${productionPort}/`)).text(), 'hello from hello-web v1\n');
  });
});

describe('slipway promote on this machine (--local)', { timeout: 180_000 }, () => {
  const work = mkdtempSync(path.join(os.tmpdir(), 'slipway-promote-local-'));
  const data = path.join(work, 'deploy');
  const cli = (args: string[]) => runCli(args, { cwd: work, env: { SLIPWAY_HOME: path.join(work, 'home'), SLIPWAY_URL: '' } });

  before(() => buildImages());

  after(async () => {
    await removeDeployments(data);
    rmSync(work, { recursive: true, force: true });
  });

  it("promotes this machine's staging to production with the same image and config", async () => {
    const staging = await cli(['deploy', 'staging', '--app', 'local-web', '--image', IMAGES.v2, '--replicas', '2', '--data', data, ...CLI_FAST]);
    assert.equal(staging.code, 0, staging.stderr);
    const res = await cli(['promote', 'local-web', '--from', 'staging', '--to', 'production', '--data', data]);
    assert.equal(res.code, 0, res.stdout + res.stderr);
    const healthy = /local-web\/production: revision 1 \(\S+:v2\) is healthy at (http:\/\/127\.0\.0\.1:\d+)/.exec(res.stdout);
    assert.ok(healthy?.[1], res.stdout);
    assert.equal(await (await fetch(`${healthy[1]}/`)).text(), 'hello from hello-web v2\n');
    const history = await cli(['history', 'local-web', '--env', 'production', '--data', data, '--json']);
    const [revision] = JSON.parse(history.stdout) as RevisionBody[];
    assert.deepEqual(revision?.trigger.from, { environment: 'staging', revision: 1 });
    assert.equal(revision?.config.replicas, 2);
    const same = await cli(['promote', 'local-web', '--from', 'production', '--to', 'production', '--data', data]);
    assert.equal(same.code, 2);
    assert.match(same.stderr, /must differ/);
  });
});
