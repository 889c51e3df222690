// Failures users must understand: RBAC forbidden (naming verb and resource), rejected credentials,
// an unreachable cluster, a missing namespace; and the Role in deploy/ is enough to deploy.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { DeployError } from '../../src/deploy/index.js';
import { createKubernetesTarget } from '../../src/deploy/kubernetes/index.js';
import { deployRequest, deploySpec } from './deploy-support.js';
import { images, kubectl, openCluster, type TestCluster } from './support.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function isDeployError(code: DeployError['code'], pattern: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof DeployError, `expected a DeployError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.match(err.message, pattern);
    return true;
  };
}

describe('kubernetes target errors', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await openCluster();
  });
  after(async () => {
    await cluster.close();
  });

  async function serviceAccountToken(namespace: string, name: string): Promise<string> {
    const core = cluster.kubeConfig().makeApiClient(CoreV1Api);
    const request = await core.createNamespacedServiceAccountToken({ name, namespace, body: { spec: { audiences: [], expirationSeconds: 3600 } } });
    const token = request.status?.token;
    assert.ok(token, 'the TokenRequest returned a token');
    return token;
  }

  async function dataDir() {
    return mkdtemp(path.join(cluster.dir, 'data-'));
  }

  test('the Role in deploy/slipway-rbac.yaml is enough for a whole rollout', async () => {
    const ns = await cluster.createNamespace('rbac-ok');
    const yaml = (await readFile(path.join(repoRoot, 'deploy', 'slipway-rbac.yaml'), 'utf8')).replace(/namespace: (slipway|web)$/gm, `namespace: ${ns}`);
    const file = path.join(cluster.dir, `${ns}-rbac.yaml`);
    await writeFile(file, yaml);
    const applied = await kubectl(cluster.kubeconfigPath, ['apply', '--server-side', '-f', file]);
    assert.equal(applied.code, 0, applied.stderr);
    const kubeconfig = await cluster.kubeconfigWithToken(await serviceAccountToken(ns, 'slipway'));
    const t = createKubernetesTarget({ dataDir: await dataDir(), kubeconfig });
    const outcome = await t.deploy(deployRequest('web', deploySpec(ns), images.healthy));
    assert.equal(outcome.outcome, 'healthy', outcome.reason);
    const failed = await t.deploy(deployRequest('web', deploySpec(ns, {}, { progressDeadlineMs: 600_000 }), images.crashLoops));
    assert.equal(failed.outcome, 'rolled-back', failed.reason);
    assert.match(failed.reason ?? '', /CrashLoopBackOff/);
  });

  test('a deploy without the RBAC permission fails with ROLLOUT_FORBIDDEN naming the verb and the resource', async () => {
    const ns = await cluster.createNamespace('rbac-denied');
    const kc = cluster.kubeConfig();
    await kc.makeApiClient(CoreV1Api).createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'reader' } } });
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({ namespace: ns, body: { metadata: { name: 'reader' }, rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list', 'watch'] }] } });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: { metadata: { name: 'reader' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'reader' }, subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: ns }] },
    });
    const kubeconfig = await cluster.kubeconfigWithToken(await serviceAccountToken(ns, 'reader'));
    const t = createKubernetesTarget({ dataDir: await dataDir(), kubeconfig });
    await assert.rejects(t.deploy(deployRequest('web', deploySpec(ns), images.healthy)), isDeployError('ROLLOUT_FORBIDDEN', new RegExp(`cannot patch resource "services" in API group "" in the namespace "${ns}"`)));
    const [revision] = await t.history('web', 'production');
    assert.equal(revision?.outcome, 'failed');
    assert.match(revision?.reason ?? '', /ROLLOUT_FORBIDDEN/);
  });

  test('credentials the cluster rejects fail with a 401 explanation', async () => {
    const ns = await cluster.createNamespace('unauthorized');
    const kubeconfig = await cluster.kubeconfigWithToken('expired-or-invalid-token');
    const t = createKubernetesTarget({ dataDir: await dataDir(), kubeconfig });
    await assert.rejects(t.deploy(deployRequest('web', deploySpec(ns), images.healthy)), isDeployError('ROLLOUT_FORBIDDEN', /401 Unauthorized.*invalid or expired/));
  });

  test('an unreachable cluster fails with ROLLOUT_TARGET_UNREACHABLE and the address', async () => {
    const file = path.join(cluster.dir, 'unreachable-kubeconfig');
    await writeFile(file, 'apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: { server: "https://127.0.0.1:1" }\ncontexts:\n- name: c\n  context: { cluster: c, user: u }\ncurrent-context: c\nusers:\n- name: u\n  user: { token: t }\n');
    const t = createKubernetesTarget({ dataDir: await dataDir(), kubeconfig: file });
    await assert.rejects(t.deploy(deployRequest('web', deploySpec('anywhere'), images.healthy)), isDeployError('ROLLOUT_TARGET_UNREACHABLE', /https:\/\/127\.0\.0\.1:1.*ECONNREFUSED/));
    const missing = createKubernetesTarget({ dataDir: await dataDir(), kubeconfig: path.join(cluster.dir, 'no-such-kubeconfig') });
    await assert.rejects(missing.deploy(deployRequest('web', deploySpec('anywhere'), images.healthy)), isDeployError('ROLLOUT_TARGET_UNREACHABLE', /does not exist/));
  });

  test('a namespace that does not exist is named, with how to create it', async () => {
    const t = createKubernetesTarget({ dataDir: await dataDir(), kubeconfig: cluster.kubeconfigPath });
    const ns = `slipway-missing-${Date.now().toString(36)}`;
    await assert.rejects(t.deploy(deployRequest('web', deploySpec(ns), images.healthy)), isDeployError('ROLLOUT_INVALID', new RegExp(`namespace "${ns}" does not exist.*kubectl create namespace ${ns}`)));
  });
});
