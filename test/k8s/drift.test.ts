// Drift on the kubernetes target, against the double by default or a real cluster with KUBECONFIG:
// status lists the fields of the live Deployment and Service that someone changed by hand
// (`kubectl scale`, `kubectl set env`, `kubectl set image`, `kubectl patch`) against what the
// current revision renders, and a sync puts them back without adding a revision.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import type { EnvironmentStatus } from '../../src/deploy/index.js';
import { DockerDeployTarget } from '../../src/deploy/docker/index.js';
import { runCli } from '../support/repo.js';
import { deployRequest, deploySpec, freshTarget } from './deploy-support.js';
import { images, kubectl, openCluster, type TestCluster } from './support.js';

describe('kubernetes target: drift and sync', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await openCluster();
  });
  after(async () => {
    await cluster.close();
  });

  const syncRequest = (lines: string[] = []) => ({ app: 'web', environment: 'production', by: 'alice', signal: AbortSignal.timeout(170_000), onProgress: (line: string) => lines.push(line) });
  const driftOf = async (t: Awaited<ReturnType<typeof freshTarget>>): Promise<NonNullable<EnvironmentStatus['drift']>> => {
    const [status] = await t.status('web', 'production');
    assert.ok(status?.drift, JSON.stringify(status));
    return status.drift;
  };
  const run = async (args: string[]): Promise<void> => {
    const r = await kubectl(cluster.kubeconfigPath, args);
    assert.equal(r.code, 0, r.stderr);
  };

  test('kubectl scale shows as spec.replicas drift; a sync puts the count back without a new revision, and a slipway scale is no drift', async () => {
    const ns = await cluster.createNamespace('drift-scale');
    const t = await freshTarget(cluster);
    const first = await t.deploy(deployRequest('web', deploySpec(ns), images.healthy));
    assert.equal(first.outcome, 'healthy', first.reason);
    assert.deepEqual(await driftOf(t), { revision: 1, fields: [] });

    await run(['-n', ns, 'scale', 'deployment/web-production', '--replicas=4']);
    const drift = await driftOf(t);
    assert.deepEqual(drift.fields.map((f) => [f.object, f.path, f.live, f.revision, f.message]), [['deployment/web-production', 'spec.replicas', 4, 2, 'spec.replicas: 4 (revision says 2)']]);

    const lines: string[] = [];
    const synced = await t.sync(syncRequest(lines));
    assert.equal(synced.outcome, 'healthy', synced.reason);
    assert.equal(synced.revision.number, 1);
    assert.deepEqual(synced.sync?.corrected.map((f) => f.path), ['spec.replicas']);
    assert.ok(lines.some((l) => /put back deployment\/web-production: spec\.replicas/.test(l)), lines.join('\n'));
    assert.equal((await t.history('web', 'production')).length, 1, 'no new revision');
    const apps = cluster.kubeConfig().makeApiClient(AppsV1Api);
    assert.equal((await apps.readNamespacedDeployment({ name: 'web-production', namespace: ns })).spec?.replicas, 2);
    assert.deepEqual((await driftOf(t)).fields, []);

    // a count Slipway set is what the environment should run; a hand change from it is drift again
    const scaled = await t.scale({ ...syncRequest(), replicas: 3 });
    assert.equal(scaled.outcome, 'healthy', scaled.reason);
    assert.deepEqual((await driftOf(t)).fields, []);
    await run(['-n', ns, 'scale', 'deployment/web-production', '--replicas=1']);
    assert.deepEqual((await driftOf(t)).fields.map((f) => f.message), ['spec.replicas: 1 (slipway scale set 3)']);
    const back = await t.sync(syncRequest());
    assert.equal(back.outcome, 'healthy', back.reason);
    assert.equal((await apps.readNamespacedDeployment({ name: 'web-production', namespace: ns })).spec?.replicas, 3);
    // a sync with nothing drifted still applies the revision (it is not a no-op) and says so
    const again: string[] = [];
    const clean = await t.sync(syncRequest(again));
    assert.equal(clean.outcome, 'healthy', clean.reason);
    assert.deepEqual(clean.sync?.corrected, []);
    assert.ok(again.some((l) => /applied Deployment\/web-production/.test(l)), again.join('\n'));
  });

  test('kubectl set env, set image and a patched Service show as drift without the variable\'s value; a sync removes the variable and restores image and Service', async () => {
    const ns = await cluster.createNamespace('drift-env');
    const t = await freshTarget(cluster);
    const first = await t.deploy(deployRequest('web', deploySpec(ns), images.healthy));
    assert.equal(first.outcome, 'healthy', first.reason);

    await run(['-n', ns, 'set', 'env', 'deployment/web-production', 'DEBUG=s3cret-value']);
    await run(['-n', ns, 'set', 'image', 'deployment/web-production', `app=${images.healthyNext}`]);
    await run(['-n', ns, 'patch', 'service', 'web-production', '--type=merge', '-p', '{"spec":{"selector":{"tier":"canary"}}}']);
    const drift = await driftOf(t);
    const messages = drift.fields.map((f) => f.message).sort();
    assert.deepEqual(messages, [
      'spec.selector: app.kubernetes.io/instance=web-production,app.kubernetes.io/name=web,tier=canary (revision says app.kubernetes.io/instance=web-production,app.kubernetes.io/name=web)',
      `spec.template.spec.containers[app].env[DEBUG]: set (not in the revision)`,
      `spec.template.spec.containers[app].image: ${images.healthyNext} (revision says ${images.healthy})`,
    ]);
    assert.ok(!JSON.stringify(drift).includes('s3cret'), 'a variable\'s value is never shown');

    const synced = await t.sync(syncRequest());
    assert.equal(synced.outcome, 'healthy', synced.reason);
    assert.equal(synced.sync?.corrected.length, 3);
    const apps = cluster.kubeConfig().makeApiClient(AppsV1Api);
    const container = (await apps.readNamespacedDeployment({ name: 'web-production', namespace: ns })).spec?.template.spec?.containers[0];
    assert.equal(container?.image, images.healthy);
    assert.equal(container?.env, undefined);
    const service = await cluster.kubeConfig().makeApiClient(CoreV1Api).readNamespacedService({ name: 'web-production', namespace: ns });
    assert.deepEqual(service.spec?.selector, { 'app.kubernetes.io/instance': 'web-production', 'app.kubernetes.io/name': 'web' });
    assert.deepEqual((await driftOf(t)).fields, []);
    assert.equal((await t.history('web', 'production')).length, 1);
  });

  test('with a HorizontalPodAutoscaler the replica count is its own and no drift; its bounds changed by hand are', async () => {
    const ns = await cluster.createNamespace('drift-hpa');
    const t = await freshTarget(cluster);
    const autoscale = { min: 1, max: 4, targetCPU: 70, cooldown: { upMs: 15_000, downMs: 300_000 } };
    const first = await t.deploy(deployRequest('web', deploySpec(ns, { replicas: 1, autoscale }), images.healthy));
    assert.equal(first.outcome, 'healthy', first.reason);
    await run(['-n', ns, 'scale', 'deployment/web-production', '--replicas=3']);
    await run(['-n', ns, 'patch', 'hpa', 'web-production', '--type=merge', '-p', '{"spec":{"maxReplicas":9}}']);
    assert.deepEqual((await driftOf(t)).fields.map((f) => f.message), ['spec.maxReplicas: 9 (revision says 4)']);
    const synced = await t.sync(syncRequest());
    assert.equal(synced.outcome, 'healthy', synced.reason);
    assert.deepEqual((await driftOf(t)).fields, []);
    // the count the autoscaler (here: kubectl) set stays
    assert.equal((await cluster.kubeConfig().makeApiClient(AppsV1Api).readNamespacedDeployment({ name: 'web-production', namespace: ns })).spec?.replicas, 3);
  });

  test('a deleted Service is drift, and a sync makes it again; an environment never deployed cannot be synced', async () => {
    const ns = await cluster.createNamespace('drift-missing');
    const t = await freshTarget(cluster);
    await assert.rejects(t.sync(syncRequest()), (err: unknown) => (err as { code?: string }).code === 'ROLLOUT_NO_REVISION');
    const first = await t.deploy(deployRequest('web', deploySpec(ns), images.healthy));
    assert.equal(first.outcome, 'healthy', first.reason);
    await run(['-n', ns, 'delete', 'service', 'web-production']);
    assert.deepEqual((await driftOf(t)).fields.map((f) => f.message), [`service/web-production: missing from namespace ${ns} (the revision has it)`]);
    assert.equal((await t.sync(syncRequest())).outcome, 'healthy');
    assert.deepEqual((await driftOf(t)).fields, []);
  });

  test('slipway status shows drift (and --json lists it) and slipway deploy --sync puts it back', { timeout: 180_000 }, async () => {
    const ns = await cluster.createNamespace('drift-cli');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-k8s-drift-cli-'));
    const env = { KUBECONFIG: cluster.kubeconfigPath, SLIPWAY_HOME: path.join(dir, 'home') };
    try {
      writeFileSync(
        path.join(dir, 'slipway.yaml'),
        `version: 1\nname: web\njobs:\n  deploy:\n    deploy:\n      environment: staging\n      target: kubernetes\n      image: ${images.healthy}\n      replicas: 2\n      port: 80\n      health: { path: /, interval: 1s }\n      kubernetes: { namespace: ${ns} }\n`,
      );
      const first = await runCli(['deploy', 'staging'], { cwd: dir, env });
      assert.equal(first.code, 0, first.stdout + first.stderr);
      await run(['-n', ns, 'scale', 'deployment/web-staging', '--replicas=3']);
      const json = await runCli(['status', 'web', '--env', 'staging', '--json'], { cwd: dir, env });
      assert.equal(json.code, 0, json.stderr);
      const [status] = JSON.parse(json.stdout) as EnvironmentStatus[];
      assert.deepEqual(status?.drift?.fields.map((f) => f.message), ['spec.replicas: 3 (revision says 2)']);
      const table = await runCli(['status', 'web', '--env', 'staging'], { cwd: dir, env });
      assert.match(table.stdout, /web\/staging has drifted from revision 1:\n\s+deployment\/web-staging spec\.replicas: 3 \(revision says 2\)/);
      assert.match(table.stdout, /slipway deploy staging --app web --sync/);

      const refused = await runCli(['deploy', 'staging', '--sync', '--image', images.healthyNext], { cwd: dir, env });
      assert.equal(refused.code, 2, refused.stdout + refused.stderr);
      const synced = await runCli(['deploy', 'staging', '--sync'], { cwd: dir, env });
      assert.equal(synced.code, 0, synced.stdout + synced.stderr);
      assert.match(synced.stdout, /web\/staging: revision 1 .* applied again; put back deployment\/web-staging spec\.replicas/);
      const clean = await runCli(['status', 'web', '--env', 'staging', '--json'], { cwd: dir, env });
      assert.deepEqual((JSON.parse(clean.stdout) as EnvironmentStatus[])[0]?.drift?.fields, []);
      const history = await runCli(['history', 'web', '--env', 'staging'], { cwd: dir, env });
      assert.doesNotMatch(history.stdout, /^2\s/m, 'a sync adds no revision');
    } finally {
      await new DockerDeployTarget({ dataDir: path.join(dir, 'home', 'deploy') }).client.shutdown(true).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
