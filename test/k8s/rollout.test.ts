// The kubernetes target's rollouts, against the double by default or a real cluster with KUBECONFIG:
// healthy rollouts, a never-ready image rolled back at the deadline, a crash loop, manual rollback,
// and kubectl seeing the same revisions Slipway reports.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AppsV1Api } from '@kubernetes/client-node';
import { deployRequest, deploySpec, freshTarget, rollbackRequest } from './deploy-support.js';
import { images, kubectl, openCluster, type TestCluster } from './support.js';

describe('kubernetes target rollouts', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await openCluster();
  });
  after(async () => {
    await cluster.close();
  });

  const target = () => freshTarget(cluster);

  test('a healthy rollout applies a Deployment and Service and reports revision 1 healthy, as kubectl sees it', async () => {
    const ns = await cluster.createNamespace('healthy');
    const t = await target();
    const lines: string[] = [];
    const outcome = await t.deploy(deployRequest('web', deploySpec(ns), images.healthy, lines));
    assert.equal(outcome.outcome, 'healthy', outcome.reason);
    assert.equal(outcome.revision.number, 1);
    assert.equal(outcome.revision.outcome, 'healthy');
    assert.ok(lines.some((l) => /applied Deployment\/web-production/.test(l)), lines.join('\n'));
    assert.ok(lines.some((l) => /\d\/2 updated, \d available/.test(l)), lines.join('\n'));

    const apps = cluster.kubeConfig().makeApiClient(AppsV1Api);
    const d = await apps.readNamespacedDeployment({ name: 'web-production', namespace: ns });
    const c = d.spec?.template?.spec?.containers[0];
    assert.equal(c?.image, images.healthy);
    assert.equal(c?.ports?.[0]?.containerPort, 80);
    assert.equal(c?.readinessProbe?.httpGet?.path, '/');
    assert.equal(c?.readinessProbe?.failureThreshold, 3);
    assert.equal(d.spec?.progressDeadlineSeconds, 120);
    assert.equal(d.spec?.strategy?.rollingUpdate?.maxUnavailable, 0);
    assert.equal(d.metadata?.labels?.['app.kubernetes.io/managed-by'], 'slipway');
    assert.match(d.metadata?.annotations?.['kubernetes.io/change-cause'] ?? '', /commit a1b2c3d4e5f6, run 42/);
    assert.ok(d.metadata?.managedFields?.some((f) => f.manager === 'slipway' && f.operation === 'Apply'));

    const status = await kubectl(cluster.kubeconfigPath, ['-n', ns, 'rollout', 'status', 'deployment/web-production', '--timeout=5s']);
    assert.equal(status.code, 0, status.stderr);
    const svc = await kubectl(cluster.kubeconfigPath, ['-n', ns, 'get', 'service', 'web-production', '-o', 'jsonpath={.spec.ports[0].targetPort}']);
    assert.equal(svc.stdout, '80');

    const [env] = await t.status('web', 'production');
    assert.equal(env?.current?.number, 1);
    assert.deepEqual(env?.replicas, { desired: 2, ready: 2, updated: 2 });
    assert.match(env?.message ?? '', /successfully rolled out/);
  });

  test("removing an environment (a pull request's preview) deletes its Deployment and Service; status no longer lists it, its history stays", async () => {
    const ns = await cluster.createNamespace('removed');
    const t = await target();
    const spec = deploySpec(ns, { environment: 'pr-7', replicas: 1 });
    assert.equal((await t.deploy(deployRequest('web', spec, images.healthy))).outcome, 'healthy');
    assert.equal(await t.remove('web', 'pr-7'), true);
    const deployments = await kubectl(cluster.kubeconfigPath, ['-n', ns, 'get', 'deployments,services', '-l', 'slipway.dev/environment=pr-7', '-o', 'name']);
    assert.equal(deployments.stdout.trim(), '', deployments.stderr);
    assert.deepEqual(await t.status('web', 'pr-7'), []);
    assert.deepEqual((await t.history('web', 'pr-7')).map((r) => r.number), [1]);
    assert.equal(await t.remove('web', 'pr-7'), false, 'nothing left to remove');
    assert.equal((await t.deploy(deployRequest('web', spec, images.healthy))).outcome, 'healthy', 'a later deploy brings it back');
    assert.equal((await t.status('web', 'pr-7')).length, 1);
  });

  test('an image that never becomes ready is rolled back at the progress deadline, with the pull error and events as the reason', async () => {
    const ns = await cluster.createNamespace('stuck');
    const t = await target();
    assert.equal((await t.deploy(deployRequest('web', deploySpec(ns), images.healthy))).outcome, 'healthy');
    const lines: string[] = [];
    const started = Date.now();
    const outcome = await t.deploy(deployRequest('web', deploySpec(ns, {}, { progressDeadlineMs: 6000 }), images.neverPulls, lines));
    assert.equal(outcome.outcome, 'rolled-back', outcome.reason);
    // condition times have whole seconds, so the controller may call it up to a second early
    assert.ok(Date.now() - started >= 5000, `not before the deadline (${Date.now() - started} ms)`);
    assert.match(outcome.reason ?? '', /ROLLOUT_PROGRESS_DEADLINE/);
    assert.match(outcome.reason ?? '', /exceeded its progress deadline/);
    assert.match(outcome.reason ?? '', /ImagePullBackOff|ErrImagePull/);
    assert.match(outcome.reason ?? '', /events: .*(Failed|BackOff)/s);
    assert.match(outcome.reason ?? '', /rolled back deployment "web-production" to revision 1/);
    assert.equal(outcome.revision.outcome, 'rolled-back');

    const apps = cluster.kubeConfig().makeApiClient(AppsV1Api);
    const d = await apps.readNamespacedDeployment({ name: 'web-production', namespace: ns });
    assert.equal(d.spec?.template?.spec?.containers[0]?.image, images.healthy);
    assert.equal(d.metadata?.annotations?.['deployment.kubernetes.io/revision'], '3');
    const history = await t.history('web', 'production');
    assert.deepEqual(history.map((r) => [r.number, r.outcome]), [[1, 'healthy'], [2, 'rolled-back']]);
    const [env] = await t.status('web', 'production');
    assert.equal(env?.current?.number, 1);
  });

  test('a crash-looping new version fails before the deadline and is rolled back, naming the crash loop', async () => {
    const ns = await cluster.createNamespace('crash');
    const t = await target();
    assert.equal((await t.deploy(deployRequest('web', deploySpec(ns), images.healthy))).outcome, 'healthy');
    const started = Date.now();
    const outcome = await t.deploy(deployRequest('web', deploySpec(ns, {}, { progressDeadlineMs: 600_000 }), images.crashLoops));
    assert.equal(outcome.outcome, 'rolled-back', outcome.reason);
    assert.ok(Date.now() - started < 120_000);
    assert.match(outcome.reason ?? '', /ROLLOUT_UNHEALTHY/);
    assert.match(outcome.reason ?? '', /CrashLoopBackOff/);
    assert.match(outcome.reason ?? '', /restarts/);
    assert.match(outcome.reason ?? '', /Back-off restarting failed container/);
    const apps = cluster.kubeConfig().makeApiClient(AppsV1Api);
    const d = await apps.readNamespacedDeployment({ name: 'web-production', namespace: ns });
    assert.equal(d.spec?.template?.spec?.containers[0]?.image, images.healthy);
  });

  test('without autoRollback a failed rollout stays failed and leaves the cluster as it is', async () => {
    const ns = await cluster.createNamespace('norollback');
    const t = await target();
    assert.equal((await t.deploy(deployRequest('web', deploySpec(ns), images.healthy))).outcome, 'healthy');
    const outcome = await t.deploy(deployRequest('web', deploySpec(ns, {}, { autoRollback: false, progressDeadlineMs: 600_000 }), images.crashLoops));
    assert.equal(outcome.outcome, 'failed');
    assert.equal(outcome.revision.outcome, 'failed');
    const apps = cluster.kubeConfig().makeApiClient(AppsV1Api);
    const d = await apps.readNamespacedDeployment({ name: 'web-production', namespace: ns });
    assert.equal(d.spec?.template?.spec?.containers[0]?.image, images.crashLoops);
  });

  test('manual rollback restores an earlier healthy revision held by the ReplicaSets, and kubectl rollout history agrees', async () => {
    const ns = await cluster.createNamespace('manual');
    const t = await target();
    assert.equal((await t.deploy(deployRequest('web', deploySpec(ns), images.healthy))).outcome, 'healthy');
    assert.equal((await t.deploy(deployRequest('web', deploySpec(ns), images.healthyNext))).outcome, 'healthy');
    const lines: string[] = [];
    const back = await t.rollback(rollbackRequest('web', 'production', undefined, lines));
    assert.equal(back.outcome, 'healthy', back.reason);
    assert.equal(back.revision.number, 3);
    assert.equal(back.revision.restoredFrom, 1);
    assert.equal(back.revision.trigger.kind, 'rollback');
    assert.equal(back.revision.image, images.healthy);
    assert.ok(lines.some((l) => /rolled back to revision 1/.test(l)), lines.join('\n'));

    const apps = cluster.kubeConfig().makeApiClient(AppsV1Api);
    let d = await apps.readNamespacedDeployment({ name: 'web-production', namespace: ns });
    assert.equal(d.spec?.template?.spec?.containers[0]?.image, images.healthy);
    // kubectl sees revisions 2 (the second deploy) and 3 (the first, restored) with Slipway's change causes
    const history = await kubectl(cluster.kubeconfigPath, ['-n', ns, 'rollout', 'history', 'deployment/web-production']);
    assert.equal(history.code, 0, history.stderr);
    assert.match(history.stdout, /^2\s+slipway revision 2, /m);
    assert.match(history.stdout, /^3\s+slipway revision 1, /m);

    // forward again to the named revision 2
    const forward = await t.rollback(rollbackRequest('web', 'production', 2));
    assert.equal(forward.outcome, 'healthy', forward.reason);
    d = await apps.readNamespacedDeployment({ name: 'web-production', namespace: ns });
    assert.equal(d.spec?.template?.spec?.containers[0]?.image, images.healthyNext);
    const [env] = await t.status('web', 'production');
    assert.equal(env?.current?.number, 4);
    assert.equal(env?.current?.image, images.healthyNext);

    await assert.rejects(t.rollback(rollbackRequest('web', 'production', 99)), (err: Error & { code?: string }) => err.code === 'ROLLOUT_NO_REVISION');
  });
});
