// User manifests (deploy.kubernetes.manifests): a folder of multi-document YAML, applied in
// dependency order with the built image substituted; invalid ones named by file and document.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { DeployError } from '../../src/deploy/index.js';
import { createKubernetesTarget, loadManifests, orderForApply, substituteImage } from '../../src/deploy/kubernetes/index.js';
import { deployRequest, deploySpec } from './deploy-support.js';
import { images, openCluster, type TestCluster } from './support.js';

const APP = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
  labels: { app: shop }
spec:
  replicas: 2
  progressDeadlineSeconds: 120
  selector: { matchLabels: { app: shop } }
  template:
    metadata: { labels: { app: shop } }
    spec:
      containers:
        - name: web
          image: nginx:to-be-replaced
          envFrom: [{ configMapRef: { name: shop-config } }]
          ports: [{ containerPort: 80 }]
          readinessProbe: { httpGet: { path: /, port: 80 }, periodSeconds: 1 }
        - name: sidecar
          image: busybox:1.36
          command: ["sleep", "3600"]
`;

const CONFIG = `apiVersion: v1
kind: Service
metadata: { name: shop }
spec:
  selector: { app: shop }
  ports: [{ port: 80, targetPort: 80 }]
---
apiVersion: v1
kind: ConfigMap
metadata: { name: shop-config }
data: { GREETING: hello }
---
`;

describe('kubernetes target with user manifests', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await openCluster();
  });
  after(async () => {
    await cluster.close();
  });

  test('user manifests are applied config-first with the built image put into the containers of its repository', async () => {
    const ns = await cluster.createNamespace('manifests');
    const workspace = await mkdtemp(path.join(cluster.dir, 'ws-'));
    await mkdir(path.join(workspace, 'k8s'));
    await writeFile(path.join(workspace, 'k8s', 'app.yaml'), APP);
    await writeFile(path.join(workspace, 'k8s', 'config.yaml'), CONFIG);
    const t = createKubernetesTarget({ dataDir: path.join(workspace, '.data'), kubeconfig: cluster.kubeconfigPath, workspace });
    const lines: string[] = [];
    const spec = deploySpec(ns, { kubernetes: { namespace: ns, manifests: 'k8s/' } });
    const outcome = await t.deploy(deployRequest('shop', spec, images.healthy, lines));
    assert.equal(outcome.outcome, 'healthy', outcome.reason);
    const applied = lines.filter((l) => l.startsWith('applied '));
    assert.deepEqual(applied, [`applied ConfigMap/shop-config in namespace ${ns}`, `applied Service/shop in namespace ${ns}`, `applied Deployment/shop in namespace ${ns}`]);

    const apps = cluster.kubeConfig().makeApiClient(AppsV1Api);
    const d = await apps.readNamespacedDeployment({ name: 'shop', namespace: ns });
    assert.equal(d.spec?.template?.spec?.containers[0]?.image, images.healthy);
    assert.equal(d.spec?.template?.spec?.containers[1]?.image, 'busybox:1.36');
    assert.equal(d.metadata?.labels?.['slipway.dev/app'], 'shop');
    assert.deepEqual(d.spec?.selector?.matchLabels, { app: 'shop' }, 'the selector is the user\'s own');
    const cm = await cluster.kubeConfig().makeApiClient(CoreV1Api).readNamespacedConfigMap({ name: 'shop-config', namespace: ns });
    assert.equal(cm.data?.GREETING, 'hello');
    const [env] = await t.status('shop', 'production');
    assert.equal(env?.current?.number, 1);
  });

  test('image substitution matches the repository with or without registry, tag or digest', () => {
    const objects = [
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'a', image: 'hello-web:latest' }, { name: 'b', image: 'redis:7' }] } },
      { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'c' }, spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: 'a', image: 'registry.local:5000/hello-web' }] } } } } } },
    ];
    const built = 'registry.local:5000/hello-web@sha256:' + 'a'.repeat(64);
    assert.equal(substituteImage(objects, built), 2);
    assert.equal(objects[0]?.spec.containers?.[0]?.image, built);
    assert.equal(objects[0]?.spec.containers?.[1]?.image, 'redis:7');
  });

  test('objects are applied Namespaces first, then config, Services, workloads', () => {
    const kinds = ['Deployment', 'Ingress', 'Service', 'ConfigMap', 'Namespace', 'Secret', 'ServiceAccount'];
    const ordered = orderForApply(kinds.map((kind) => ({ apiVersion: 'v1', kind, metadata: { name: kind.toLowerCase() } })));
    assert.deepEqual(ordered.map((o) => o.kind), ['Namespace', 'ConfigMap', 'Secret', 'ServiceAccount', 'Service', 'Deployment', 'Ingress']);
  });

  test('invalid manifests are named by file and document number', async () => {
    const workspace = await mkdtemp(path.join(cluster.dir, 'bad-'));
    await mkdir(path.join(workspace, 'k8s'));
    await writeFile(path.join(workspace, 'k8s', 'app.yaml'), `${APP}---\napiVersion: v1\nmetadata: { name: orphan }\n`);
    await assert.rejects(loadManifests(workspace, 'k8s'), (err: DeployError) => err.code === 'ROLLOUT_INVALID' && /k8s\/app\.yaml document 2: object is missing kind/.test(err.message));
    await writeFile(path.join(workspace, 'k8s', 'app.yaml'), `${APP}---\nkind: [unclosed\n`);
    await assert.rejects(loadManifests(workspace, 'k8s'), (err: DeployError) => err.code === 'ROLLOUT_INVALID' && /k8s\/app\.yaml document 2: invalid YAML \(line \d+/.test(err.message));
    await assert.rejects(loadManifests(workspace, 'nowhere'), (err: DeployError) => /nowhere does not exist/.test(err.message));
  });

  test('a manifest the API server rejects fails with ROLLOUT_INVALID and the server\'s reason', async () => {
    const ns = await cluster.createNamespace('rejected');
    const workspace = await mkdtemp(path.join(cluster.dir, 'ws-'));
    await mkdir(path.join(workspace, 'k8s'));
    await writeFile(path.join(workspace, 'k8s', 'app.yaml'), APP.replace('template:\n    metadata: { labels: { app: shop } }', 'template:\n    metadata: { labels: { app: other } }'));
    const t = createKubernetesTarget({ dataDir: path.join(workspace, '.data'), kubeconfig: cluster.kubeconfigPath, workspace });
    await assert.rejects(
      t.deploy(deployRequest('shop', deploySpec(ns, { kubernetes: { namespace: ns, manifests: 'k8s' } }), images.healthy)),
      (err: DeployError) => err.code === 'ROLLOUT_INVALID' && /Deployment.apps "shop" is invalid/.test(err.message) && /selector/.test(err.message),
    );
  });
});
