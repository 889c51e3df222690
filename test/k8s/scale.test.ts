// Scaling on the kubernetes target, against the double by default or a real cluster with KUBECONFIG:
// `scale` sets the Deployment's replicas through its scale subresource and waits until they are
// ready, as a scale event (no new revision); a later deploy keeps the scaled count; `autoscale`
// becomes a HorizontalPodAutoscaler (autoscaling/v2) that goes when the block no longer asks for it.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AppsV1Api, AutoscalingV2Api, CoreV1Api } from '@kubernetes/client-node';
import { repoRoot } from '../support/paths.js';
import { createKubernetesTarget } from '../../src/deploy/kubernetes/index.js';
import { DeployError, readScaleEvents } from '../../src/deploy/index.js';
import { deployRequest, deploySpec } from './deploy-support.js';
import { images, kubectl, openCluster, type TestCluster } from './support.js';

describe('kubernetes target: scale and autoscale', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await openCluster();
  });
  after(async () => {
    await cluster.close();
  });

  const scaleRequest = (replicas: number, lines: string[] = []) => ({ app: 'web', environment: 'production', replicas, by: 'alice', signal: AbortSignal.timeout(170_000), onProgress: (line: string) => lines.push(line) });

  test('scale sets the replicas without a new revision, records who did it, and a later deploy keeps the count', async () => {
    const ns = await cluster.createNamespace('scale');
    const dataDir = await mkdtemp(path.join(cluster.dir, 'data-'));
    const t = createKubernetesTarget({ dataDir, kubeconfig: cluster.kubeconfigPath });
    const first = await t.deploy(deployRequest('web', deploySpec(ns), images.healthy));
    assert.equal(first.outcome, 'healthy', first.reason);

    const lines: string[] = [];
    const scaled = await t.scale(scaleRequest(3, lines));
    assert.equal(scaled.outcome, 'healthy', scaled.reason);
    assert.deepEqual([scaled.event.from, scaled.event.to, scaled.event.by, scaled.event.revision], [2, 3, 'alice', 1]);
    assert.ok(lines.some((l) => /scaled deployment "web-production" from 2 to 3/.test(l)), lines.join('\n'));
    const apps = cluster.kubeConfig().makeApiClient(AppsV1Api);
    const d = await apps.readNamespacedDeployment({ name: 'web-production', namespace: ns });
    assert.equal(d.spec?.replicas, 3);
    assert.equal(d.status?.readyReplicas, 3);
    assert.equal((await t.history('web', 'production')).length, 1, 'no new revision');
    assert.deepEqual((await readScaleEvents(dataDir, 'web', 'production')).map((e) => [e.from, e.to, e.by, e.outcome]), [[2, 3, 'alice', 'healthy']]);

    // the image changes, the block's replicas (2) does not: the scaled count stays
    const deployLines: string[] = [];
    const next = await t.deploy(deployRequest('web', deploySpec(ns), images.healthyNext, deployLines));
    assert.equal(next.outcome, 'healthy', next.reason);
    assert.equal((await apps.readNamespacedDeployment({ name: 'web-production', namespace: ns })).spec?.replicas, 3);
    assert.ok(deployLines.some((l) => /3 replicas: the count deployment "web-production" runs now, not the deploy block's 2/.test(l)), deployLines.join('\n'));
    // the block says 4 now: a deliberate change wins
    await t.deploy(deployRequest('web', deploySpec(ns, { replicas: 4 }), images.healthy));
    assert.equal((await apps.readNamespacedDeployment({ name: 'web-production', namespace: ns })).spec?.replicas, 4);

    await assert.rejects(t.scale(scaleRequest(1001)), (err: unknown) => err instanceof DeployError && err.code === 'ROLLOUT_INVALID' && /from 0 to 1000/.test(err.message));
    await assert.rejects(t.scale({ ...scaleRequest(2), environment: 'nowhere' }), (err: unknown) => err instanceof DeployError && err.code === 'ROLLOUT_NO_REVISION');
  });

  test('autoscale becomes a HorizontalPodAutoscaler with CPU and behaviour from the cooldowns; it goes when autoscale is taken out', async () => {
    const ns = await cluster.createNamespace('hpa');
    const dataDir = await mkdtemp(path.join(cluster.dir, 'data-'));
    const t = createKubernetesTarget({ dataDir, kubeconfig: cluster.kubeconfigPath });
    const autoscale = { min: 2, max: 5, targetCPU: 60, targetInflight: 10, cooldown: { upMs: 30_000, downMs: 120_000 } };
    const lines: string[] = [];
    const outcome = await t.deploy(deployRequest('web', deploySpec(ns, { replicas: 1, autoscale }), images.healthy, lines));
    assert.equal(outcome.outcome, 'healthy', outcome.reason);
    assert.ok(lines.some((l) => /applied HorizontalPodAutoscaler\/web-production/.test(l)), lines.join('\n'));
    const hpas = cluster.kubeConfig().makeApiClient(AutoscalingV2Api);
    // as plain JSON: client-node answers with its model classes
    const hpa = JSON.parse(JSON.stringify(await hpas.readNamespacedHorizontalPodAutoscaler({ name: 'web-production', namespace: ns }))) as import('@kubernetes/client-node').V2HorizontalPodAutoscaler;
    assert.deepEqual(hpa.spec?.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web-production' });
    assert.equal(hpa.spec?.minReplicas, 2);
    assert.equal(hpa.spec?.maxReplicas, 5);
    assert.deepEqual(hpa.spec?.metrics, [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'AverageValue', averageValue: '600m' } } }]);
    assert.equal(hpa.spec?.behavior?.scaleDown?.stabilizationWindowSeconds, 120);
    assert.deepEqual(hpa.spec?.behavior?.scaleUp?.policies?.map((p) => [p.type, p.value, p.periodSeconds]), [['Percent', 100, 30], ['Pods', 4, 30]]);
    // replicas 1 is below min: the Deployment starts at 2
    const apps = cluster.kubeConfig().makeApiClient(AppsV1Api);
    assert.equal((await apps.readNamespacedDeployment({ name: 'web-production', namespace: ns })).spec?.replicas, 2);
    // a scale outside min..max is refused; inside, the autoscaler takes over from it
    await assert.rejects(t.scale(scaleRequest(7)), /autoscales between 2 and 5/);

    const removed: string[] = [];
    const plain = await t.deploy(deployRequest('web', deploySpec(ns, { replicas: 2 }), images.healthyNext, removed));
    assert.equal(plain.outcome, 'healthy', plain.reason);
    assert.ok(removed.some((l) => /deleted HorizontalPodAutoscaler\/web-production/.test(l)), removed.join('\n'));
    await assert.rejects(hpas.readNamespacedHorizontalPodAutoscaler({ name: 'web-production', namespace: ns }), (err: unknown) => (err as { code?: number }).code === 404);
  });

  test('the Role in deploy/slipway-rbac.yaml is enough to scale, and to make and delete the HorizontalPodAutoscaler', async () => {
    const ns = await cluster.createNamespace('scale-rbac');
    const yaml = (await readFile(path.join(repoRoot, 'deploy', 'slipway-rbac.yaml'), 'utf8')).replace(/namespace: (slipway|web)$/gm, `namespace: ${ns}`);
    const file = path.join(cluster.dir, `${ns}-rbac.yaml`);
    await writeFile(file, yaml);
    const applied = await kubectl(cluster.kubeconfigPath, ['apply', '--server-side', '-f', file]);
    assert.equal(applied.code, 0, applied.stderr);
    const token = (await cluster.kubeConfig().makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({ name: 'slipway', namespace: ns, body: { spec: { audiences: [], expirationSeconds: 3600 } } })).status?.token;
    assert.ok(token);
    const t = createKubernetesTarget({ dataDir: await mkdtemp(path.join(cluster.dir, 'data-')), kubeconfig: await cluster.kubeconfigWithToken(token) });
    const autoscale = { min: 1, max: 3, targetCPU: 80, cooldown: { upMs: 15_000, downMs: 300_000 } };
    const first = await t.deploy(deployRequest('web', deploySpec(ns, { autoscale }), images.healthy));
    assert.equal(first.outcome, 'healthy', first.reason);
    const scaled = await t.scale(scaleRequest(3));
    assert.equal(scaled.outcome, 'healthy', scaled.reason);
    const plain = await t.deploy(deployRequest('web', deploySpec(ns), images.healthyNext));
    assert.equal(plain.outcome, 'healthy', plain.reason);
  });
});
