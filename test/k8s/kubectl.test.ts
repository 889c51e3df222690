// kubectl, a client nobody here wrote, against the cluster the tests use (the double by default):
// server-side apply, get -o yaml, set image, rollout status/history/undo must work and agree.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { images, kubectl, openCluster, type TestCluster } from './support.js';

function manifest(namespace: string, image: string, replicas = 3): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: ${namespace}
  annotations: { kubernetes.io/change-cause: "deploy ${image}" }
spec:
  replicas: ${replicas}
  selector: { matchLabels: { app: web } }
  strategy: { rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: app
          image: ${image}
          ports: [{ containerPort: 80 }]
          readinessProbe: { httpGet: { path: /, port: 80 }, periodSeconds: 1 }
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: ${namespace} }
spec:
  selector: { app: web }
  ports: [{ port: 80, targetPort: 80 }]
`;
}

interface Obj {
  metadata: { generation?: number; resourceVersion: string; uid: string; annotations?: Record<string, string>; managedFields?: { manager: string; operation: string }[] };
  spec: { template: { spec: { containers: { image: string }[] } }; replicas: number };
  status: Record<string, unknown>;
}

describe('kubectl against the cluster', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await openCluster();
  });
  after(async () => {
    await cluster.close();
  });

  async function get(ns: string, what: string): Promise<Obj> {
    const r = await kubectl(cluster.kubeconfigPath, ['-n', ns, 'get', what, '-o', 'yaml', '--show-managed-fields']);
    assert.equal(r.code, 0, r.stderr);
    return parse(r.stdout) as Obj;
  }

  test('kubectl apply --server-side creates objects with uid, resourceVersion, generation 1 and kubectl as apply manager', async () => {
    const ns = await cluster.createNamespace('kubectl-apply');
    const file = path.join(cluster.dir, `${ns}.yaml`);
    await writeFile(file, manifest(ns, images.healthy));
    const applied = await kubectl(cluster.kubeconfigPath, ['apply', '--server-side', '-f', file]);
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /deployment.apps\/web serverside-applied/);
    assert.match(applied.stdout, /service\/web serverside-applied/);
    const d = await get(ns, 'deployment/web');
    assert.equal(d.metadata.generation, 1);
    assert.match(d.metadata.resourceVersion, /^\d+$/);
    assert.ok(d.metadata.uid);
    assert.ok(d.metadata.managedFields?.some((f) => f.manager === 'kubectl' && f.operation === 'Apply'));

    // the same manifests again change nothing: no new generation
    const again = await kubectl(cluster.kubeconfigPath, ['apply', '--server-side', '-f', file]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((await get(ns, 'deployment/web')).metadata.generation, 1);

    // another manager changing a field kubectl owns: a conflict, unless forced
    await writeFile(file, manifest(ns, images.healthy, 2));
    const conflict = await kubectl(cluster.kubeconfigPath, ['apply', '--server-side', '--field-manager=someone-else', '-f', file]);
    assert.notEqual(conflict.code, 0);
    assert.match(conflict.stderr, /conflict with "kubectl"/);
    assert.match(conflict.stderr, /\.spec\.replicas/);
    const forced = await kubectl(cluster.kubeconfigPath, ['apply', '--server-side', '--field-manager=someone-else', '--force-conflicts', '-f', file]);
    assert.equal(forced.code, 0, forced.stderr);
    const after = await get(ns, 'deployment/web');
    assert.equal(after.spec.replicas, 2);
    assert.equal(after.metadata.generation, 2);
  });

  test('kubectl set image, rollout status, rollout history and rollout undo agree with the ReplicaSets', async () => {
    const ns = await cluster.createNamespace('kubectl-rollout');
    const file = path.join(cluster.dir, `${ns}.yaml`);
    await writeFile(file, manifest(ns, images.healthy));
    assert.equal((await kubectl(cluster.kubeconfigPath, ['apply', '--server-side', '-f', file])).code, 0);
    const first = await kubectl(cluster.kubeconfigPath, ['-n', ns, 'rollout', 'status', 'deployment/web', '--timeout=120s']);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /deployment "web" successfully rolled out/);

    const set = await kubectl(cluster.kubeconfigPath, ['-n', ns, 'set', 'image', 'deployment/web', `app=${images.healthyNext}`]);
    assert.equal(set.code, 0, set.stderr);
    assert.equal((await get(ns, 'deployment/web')).metadata.generation, 2);
    const second = await kubectl(cluster.kubeconfigPath, ['-n', ns, 'rollout', 'status', 'deployment/web', '--timeout=120s']);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /successfully rolled out/);

    const history = await kubectl(cluster.kubeconfigPath, ['-n', ns, 'rollout', 'history', 'deployment/web']);
    assert.equal(history.code, 0, history.stderr);
    assert.match(history.stdout, /^1\s+deploy nginx:1\.27-alpine$/m);
    assert.match(history.stdout, /^2\s+deploy nginx:1\.27-alpine$/m); // set image keeps the annotation, as on a real cluster
    const rev2 = await kubectl(cluster.kubeconfigPath, ['-n', ns, 'rollout', 'history', 'deployment/web', '--revision=2']);
    assert.match(rev2.stdout, new RegExp(`Image:\\s+${images.healthyNext.replace(/[.]/g, '\\.')}`));

    const undo = await kubectl(cluster.kubeconfigPath, ['-n', ns, 'rollout', 'undo', 'deployment/web']);
    assert.equal(undo.code, 0, undo.stderr);
    assert.match(undo.stdout, /rolled back/);
    const third = await kubectl(cluster.kubeconfigPath, ['-n', ns, 'rollout', 'status', 'deployment/web', '--timeout=120s']);
    assert.equal(third.code, 0, third.stderr);
    const d = await get(ns, 'deployment/web');
    assert.equal(d.spec.template.spec.containers[0]?.image, images.healthy);
    assert.equal(d.metadata.annotations?.['deployment.kubernetes.io/revision'], '3');
    assert.equal(d.status.updatedReplicas, 3);
    assert.equal(d.status.availableReplicas, 3);
    assert.equal(d.status.observedGeneration, d.metadata.generation);

    // the restored ReplicaSet is the first one, now revision 3, remembering it was 1
    const rs = await kubectl(cluster.kubeconfigPath, ['-n', ns, 'get', 'replicasets', '-l', 'app=web', '-o', 'yaml']);
    const list = parse(rs.stdout) as { items: (Obj & { metadata: { annotations: Record<string, string> } })[] };
    assert.equal(list.items.length, 2);
    const restored = list.items.find((i) => i.metadata.annotations['deployment.kubernetes.io/revision'] === '3');
    assert.equal(restored?.spec.template.spec.containers[0]?.image, images.healthy);
    assert.equal(restored?.metadata.annotations['deployment.kubernetes.io/revision-history'], '1');
    assert.equal(restored?.spec.replicas, 3);

    const undoMissing = await kubectl(cluster.kubeconfigPath, ['-n', ns, 'rollout', 'undo', 'deployment/web', '--to-revision=9']);
    assert.notEqual(undoMissing.code, 0);
    assert.match(undoMissing.stderr, /unable to find specified revision 9 in history/);
  });
});
