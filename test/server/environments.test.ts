// The Environments API against a real server, its git hosting and the real docker target: the
// diff of two revisions (image, config path by path, the commits between them from the project's
// repository — or why they are not known), hostile and unknown revision numbers, and the rollout
// under way in GET /api/status (an API rollout by its id, a run's deploy job by its run).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, renameSync } from 'node:fs';
import path from 'node:path';
import { testServer, tempRepo, type TestServer } from './support.js';
import { buildImages, IMAGES } from '../deploy-docker/support.js';
import { eventually } from '../support/wait.js';
import type { TempRepo } from '../support/repo.js';

type Commit = { sha: string; subject: string; author: string; timeMs: number };
type Side = { number: number; image: string; digest?: string; commit?: string; project?: string; trigger: { kind: string } };
type Diff = {
  from: Side;
  to: Side;
  imageChanged: boolean;
  digestChanged?: boolean;
  configChanges: Array<{ path: string; from?: unknown; to?: unknown }>;
  commits: Commit[];
  commitsRemoved: Commit[];
  truncated: boolean;
  commitsUnavailable?: string;
};
type ErrorBody = { error: { code: string; message: string; fields?: Array<{ field: string; message: string }> } };
type RolloutBody = { id: string; status: string };
type InProgress = { id?: string; runId?: string; kind: string; by: string; revision?: number; createdAtMs: number };
type StatusBody = { environments: Array<{ app: string; environment: string; rollout?: InProgress; replicaList?: Array<{ name: string; revision: number; state: string }> }> };

const FAST = { replicas: 1, port: 8080, health: { path: '/healthz', interval: '200ms', healthy: 1, unhealthy: 2 }, strategy: { progressDeadline: '20s' } };

function pipeline(app: string, image: string, replicas: number, progressDeadline = '20s'): string {
  return `version: 1
name: ${app}
jobs:
  release:
    deploy:
      environment: staging
      image: ${image}
      replicas: ${replicas}
      port: 8080
      health: { path: /healthz, interval: 200ms, healthy: 1, unhealthy: 2 }
      strategy: { progressDeadline: ${progressDeadline} }
`;
}

const head = (repo: TempRepo): string => execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repo.dir, encoding: 'utf8' }).trim();

describe('the environments API: revision diffs and the rollout under way', { timeout: 300_000 }, () => {
  let server: TestServer;
  // both projects deploy the app "web" (a deploy's app is its pipeline's name)
  const shop = tempRepo({ 'slipway.yaml': pipeline('web', IMAGES.v1, 1), 'README.md': 'shop\n' });
  const other = tempRepo({ 'slipway.yaml': pipeline('web', IMAGES.v2, 1) });
  const commits: string[] = [];
  const diff = (query: string, token?: string) => server.api<Diff & ErrorBody>(`/api/apps/web/environments/staging/revisions/diff?${query}`, token ? { token } : {});

  before(async () => {
    [server] = await Promise.all([testServer(), buildImages()]);
  });

  after(async () => {
    await server.stop();
    shop.remove();
    other.remove();
  });

  it('a run deploys revision 1 from commit 1; a push of two more commits deploys revision 2', async () => {
    commits.push(head(shop));
    await server.push(shop, 'shop');
    assert.equal((await server.waitForRun('shop', 1)).status, 'success');

    shop.write('README.md', 'shop, second\n');
    shop.commit('second: the readme');
    commits.push(head(shop));
    shop.write('slipway.yaml', pipeline('web', IMAGES.v2, 2));
    shop.commit('third: v2 on two replicas');
    commits.push(head(shop));
    await server.push(shop, 'shop');
    assert.equal((await server.waitForRun('shop', 2)).status, 'success');
  });

  it('the diff of 1 → 2 names both images, the config changes path by path and the commits between them, newest first', async () => {
    const reader = await server.tokenWith(['read']);
    const res = await diff('from=1&to=2', reader);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const d = res.body;
    assert.equal(d.from.image, IMAGES.v1);
    assert.equal(d.to.image, IMAGES.v2);
    assert.equal(d.imageChanged, true);
    assert.equal(d.digestChanged, undefined, 'tags pin no digest');
    assert.equal(d.from.commit, commits[0]);
    assert.equal(d.to.commit, commits[2]);
    assert.equal(d.from.project, 'shop');
    assert.deepEqual(d.configChanges, [{ path: 'replicas', from: 1, to: 2 }]);
    assert.deepEqual(d.commits.map((c) => [c.sha, c.subject, c.author]), [
      [commits[2], 'third: v2 on two replicas', 'Slipway Test'],
      [commits[1], 'second: the readme', 'Slipway Test'],
    ]);
    assert.ok(d.commits.every((c) => Math.abs(c.timeMs - Date.now()) < 3_600_000), 'author times in ms');
    assert.deepEqual(d.commitsRemoved, []);
    assert.equal(d.truncated, false);
    assert.equal(d.commitsUnavailable, undefined);
  });

  it('a rollback to 1 carries revision 1’s commit, so 2 → 4 lists the commits it takes away; an API deploy has none, and says so', async () => {
    const deployed = await server.api<RolloutBody>('/api/apps/web/environments/staging/deploy', { method: 'POST', body: { ...FAST, image: IMAGES.v3 } });
    assert.equal((await server.rolloutEnded<RolloutBody>(deployed.body.id)).status, 'healthy');
    const back = await server.api<RolloutBody>('/api/apps/web/environments/staging/rollback', { method: 'POST', body: { to: 1 } });
    assert.equal(back.status, 202, JSON.stringify(back.body));
    assert.equal((await server.rolloutEnded<RolloutBody>(back.body.id)).status, 'healthy');

    const going = (await diff('from=2&to=4')).body;
    assert.equal(going.to.trigger.kind, 'rollback');
    assert.equal(going.to.commit, commits[0]);
    assert.deepEqual(going.commits, []);
    assert.deepEqual(going.commitsRemoved.map((c) => c.subject), ['third: v2 on two replicas', 'second: the readme']);
    assert.deepEqual(going.configChanges, [{ path: 'replicas', from: 2, to: 1 }]);

    const api = (await diff('from=2&to=3')).body;
    assert.equal(api.imageChanged, true);
    assert.deepEqual(api.commits, []);
    assert.match(api.commitsUnavailable ?? '', /^revision 3 has no known commit \(deploy by admin\)/);
    assert.ok(api.configChanges.some((c) => c.path === 'replicas' && c.from === 2 && c.to === 1), JSON.stringify(api.configChanges));
    assert.ok(!api.configChanges.some((c) => c.path === 'image'), 'the image is compared on its own');

    const same = (await diff('from=1&to=4')).body;
    assert.equal(same.imageChanged, false);
    assert.deepEqual([same.commits, same.commitsRemoved, same.configChanges], [[], [], []]);
  });

  it('says why the commits are unknown when the repository is gone or the revisions come from different projects', async () => {
    const repo = path.join(server.data, 'git', 'shop.git');
    renameSync(repo, `${repo}.away`);
    try {
      assert.match((await diff('from=1&to=2')).body.commitsUnavailable ?? '', /^project shop has no repository on this server$/);
    } finally {
      renameSync(`${repo}.away`, repo);
    }
    await server.push(other, 'other');
    assert.equal((await server.waitForRun('other', 1)).status, 'success');
    const across = await diff('from=4&to=5');
    assert.equal(across.status, 200, JSON.stringify(across.body));
    assert.equal(across.body.to.project, 'other');
    assert.match(across.body.commitsUnavailable ?? '', /^revision 4 comes from project shop and revision 5 from project other/);
  });

  it('refuses a hostile or malformed from/to with 422 naming the field, and an unknown revision or environment with 404', async () => {
    for (const hostile of ['--output=/tmp/slipway-diff-hostile', '0', '-1', '1e3', '1.5', '01', ' 1', '1;id', '99999999999', '', 'HEAD', '%00']) {
      const res = await diff(`from=${encodeURIComponent(hostile)}&to=2`);
      assert.equal(res.status, 422, `${hostile}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'DIFF_INVALID');
      assert.deepEqual(res.body.error.fields, [{ field: 'from', message: 'a revision number (1 or more)' }]);
    }
    assert.equal(existsSync('/tmp/slipway-diff-hostile'), false);
    const twice = await diff('from=1&from=2&to=2');
    assert.equal(twice.status, 422, JSON.stringify(twice.body));
    const missing = await diff('from=1');
    assert.equal(missing.status, 422);
    assert.deepEqual(missing.body.error.fields, [{ field: 'to', message: 'required' }]);

    const unknown = await diff('from=1&to=99');
    assert.equal(unknown.status, 404, JSON.stringify(unknown.body));
    assert.equal(unknown.body.error.code, 'REVISION_NOT_FOUND');
    assert.match(unknown.body.error.message, /web\/staging has no revision 99 \(it has 1 to 5\)/);
    const never = await server.api<ErrorBody>('/api/apps/web/environments/nowhere/revisions/diff?from=1&to=2');
    assert.equal(never.status, 404);
    assert.match(never.body.error.message, /never deployed/);
    const badName = await server.api<ErrorBody>('/api/apps/-web/environments/staging/revisions/diff?from=1&to=2');
    assert.equal(badName.status, 422);
    assert.equal((await server.api('/api/apps/web/environments/staging/revisions/diff?from=1&to=2', { token: '' })).status, 401);
  });

  it('GET /api/status names the rollout under way: an API rollout by its id, a run’s deploy job by its run', async () => {
    const started = await server.api<RolloutBody>('/api/apps/web/environments/staging/deploy', { method: 'POST', body: { ...FAST, image: IMAGES.silent } });
    assert.equal(started.status, 202);
    try {
      const status = (await server.api<StatusBody>('/api/status?app=web&environment=staging')).body.environments[0];
      assert.equal(status?.rollout?.id, started.body.id);
      assert.equal(status?.rollout?.kind, 'deploy');
      assert.equal(status?.rollout?.by, 'admin');
      assert.ok(status?.replicaList?.some((r) => r.state === 'healthy'), JSON.stringify(status?.replicaList));
    } finally {
      assert.equal((await server.api(`/api/rollouts/${started.body.id}/cancel`, { method: 'POST' })).status, 202);
      await server.rolloutEnded(started.body.id);
    }
    assert.equal((await server.api<StatusBody>('/api/status?app=web&environment=staging')).body.environments[0]?.rollout, undefined, 'none once it ended');

    // a run's deploy job that waits for a replica that never listens, until its deadline
    shop.write('slipway.yaml', pipeline('web', IMAGES.silent, 1, '8s'));
    shop.commit('silent');
    await server.push(shop, 'shop');
    const rollout = await eventually('the run’s rollout in the status', async () => (await server.api<StatusBody>('/api/status?app=web&environment=staging')).body.environments[0]?.rollout, 30_000, 200);
    assert.equal(rollout.kind, 'pipeline');
    assert.equal(rollout.id, undefined);
    assert.match(rollout.by, /^commit [0-9a-f]{7}$/);
    const run = await server.waitForRun('shop', 3);
    assert.equal(rollout.runId, run.id);
    const revisions = (await server.api<{ revisions: Array<{ number: number; trigger: { runId?: string } }> }>('/api/apps/web/environments/staging/revisions')).body.revisions;
    assert.equal(rollout.revision, revisions.find((r) => r.trigger.runId === run.id)?.number);
  });
});
