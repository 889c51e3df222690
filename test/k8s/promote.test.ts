// Promotion on the kubernetes target (the double by default, a real cluster with KUBECONFIG): the
// destination keeps its own namespace, one without a current revision takes the source's, the
// config is the source's, and the Deployment's change cause says where the revision came from.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AppsV1Api } from '@kubernetes/client-node';
import { createKubernetesTarget } from '../../src/deploy/kubernetes/index.js';
import { DockerDeployTarget } from '../../src/deploy/docker/index.js';
import { planPromotion, type TargetFactory } from '../../src/deploy/index.js';
import { deployRequest, deploySpec } from './deploy-support.js';
import { images, openCluster, type TestCluster } from './support.js';

describe('promotion on the kubernetes target', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await openCluster();
  });
  after(async () => {
    await cluster.close();
  });

  test("the destination keeps its namespace (or takes the source's), the source's config, and a change cause naming staging#1", async () => {
    const stagingNs = await cluster.createNamespace('promote-staging');
    const productionNs = await cluster.createNamespace('promote-production');
    const dataDir = await mkdtemp(path.join(cluster.dir, 'data-'));
    const kubernetes = createKubernetesTarget({ dataDir, kubeconfig: cluster.kubeconfigPath });
    // only the revision files are read through the docker target: its agent is never started
    const targets: TargetFactory = async (name) => (name === 'kubernetes' ? kubernetes : new DockerDeployTarget({ dataDir }));

    const staging = deploySpec(stagingNs, { environment: 'staging', replicas: 2 });
    assert.equal((await kubernetes.deploy(deployRequest('web', staging, images.healthy))).outcome, 'healthy');
    assert.equal((await kubernetes.deploy(deployRequest('web', deploySpec(productionNs, { replicas: 1, port: 80 }), images.healthyNext))).outcome, 'healthy');

    const promotion = await planPromotion(targets, { app: 'web', from: 'staging', to: 'production', by: 'test' });
    assert.equal(promotion.image, images.healthy);
    assert.equal(promotion.spec.kubernetes?.namespace, productionNs);
    assert.equal(promotion.spec.replicas, 2);
    assert.equal(promotion.spec.environment, 'production');
    assert.deepEqual(promotion.trigger, { by: 'test', kind: 'promote', from: { environment: 'staging', revision: 1 }, commit: 'a1b2c3d4e5f6a7b8' });
    const outcome = await kubernetes.deploy({ app: 'web', environment: 'production', spec: promotion.spec, image: promotion.image, trigger: promotion.trigger, signal: AbortSignal.timeout(170_000), onProgress: () => undefined });
    assert.equal(outcome.outcome, 'healthy', outcome.reason);
    assert.equal(outcome.revision.number, 2);
    assert.deepEqual(outcome.revision.trigger.from, { environment: 'staging', revision: 1 });

    const d = await cluster.kubeConfig().makeApiClient(AppsV1Api).readNamespacedDeployment({ name: 'web-production', namespace: productionNs });
    assert.equal(d.spec?.template?.spec?.containers[0]?.image, images.healthy);
    assert.equal(d.spec?.replicas, 2);
    assert.match(d.metadata?.annotations?.['kubernetes.io/change-cause'] ?? '', /promote from staging#1 by test/);

    // an environment that has no revision yet gets the source's namespace
    const qa = await planPromotion(targets, { app: 'web', from: 'staging', to: 'qa', by: 'test' });
    assert.equal(qa.spec.kubernetes?.namespace, stagingNs);
    assert.ok(qa.notes.some((n) => n.includes(`namespace ${stagingNs} as in staging`)), qa.notes.join('\n'));
  });
});
