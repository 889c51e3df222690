// "Revisions mean changes" on the kubernetes target, against the double by default or a real
// cluster with KUBECONFIG: an identical deploy applies nothing, --force rolls out new pods as
// `kubectl rollout restart` does, and rollback without --to skips a revision equal to the current one.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AppsV1Api } from '@kubernetes/client-node';
import { deployRequest, deploySpec, freshTarget, rollbackRequest } from './deploy-support.js';
import { images, kubectl, openCluster, type TestCluster } from './support.js';

describe('kubernetes target: revisions mean changes', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await openCluster();
  });
  after(async () => {
    await cluster.close();
  });

  const target = () => freshTarget(cluster);

  test('an identical deploy applies nothing and adds no revision; --force rolls out new pods as a new revision', async () => {
    const ns = await cluster.createNamespace('noop');
    const t = await target();
    assert.equal((await t.deploy(deployRequest('web', deploySpec(ns), images.healthy))).outcome, 'healthy');
    const lines: string[] = [];
    const again = await t.deploy(deployRequest('web', deploySpec(ns), images.healthy, lines));
    assert.equal(again.outcome, 'unchanged');
    assert.equal(again.revision.number, 1);
    assert.deepEqual(lines, [], 'nothing applied');
    assert.equal((await t.history('web', 'production')).length, 1);

    const forced = await t.deploy({ ...deployRequest('web', deploySpec(ns), images.healthy), force: true });
    assert.equal(forced.outcome, 'healthy', forced.reason);
    assert.equal(forced.revision.number, 2);
    const d = await cluster.kubeConfig().makeApiClient(AppsV1Api).readNamespacedDeployment({ name: 'web-production', namespace: ns });
    assert.ok(d.spec?.template?.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt'], 'a new pod template, as kubectl rollout restart makes');
    const history = await kubectl(cluster.kubeconfigPath, ['-n', ns, 'rollout', 'history', 'deployment/web-production']);
    assert.equal(history.code, 0, history.stderr);
    assert.match(history.stdout, /^2\s+slipway revision 2, /m, 'a second ReplicaSet');
  });

  test('rollback without --to skips the forced twin of the current revision: healthy, next, next --force → healthy', async () => {
    const ns = await cluster.createNamespace('twins');
    const t = await target();
    for (const [image, force] of [[images.healthy, false], [images.healthyNext, false], [images.healthyNext, true]] as const) {
      const outcome = await t.deploy({ ...deployRequest('web', deploySpec(ns), image), force });
      assert.equal(outcome.outcome, 'healthy', outcome.reason);
    }
    const back = await t.rollback(rollbackRequest('web', 'production'));
    assert.equal(back.outcome, 'healthy', back.reason);
    assert.equal(back.revision.restoredFrom, 1);
    assert.equal(back.revision.image, images.healthy);
  });
});
