// Drift of one object against what the revision renders: what Kubernetes fills in is no drift, a
// hand change is, environment variables are named without their values, and the correction puts
// back exactly the fields Slipway decides.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Deployment, V1Service } from '@kubernetes/client-node';
import { deploymentDrift, serviceDrift } from './drift.js';
import { generateManifests } from './manifests.js';

const rendered = generateManifests({
  app: 'web',
  environment: 'production',
  namespace: 'shop',
  image: 'registry:5000/web@sha256:' + 'a'.repeat(64),
  revision: 3,
  trigger: { by: 'alice', kind: 'deploy' },
  spec: {
    environment: 'production',
    target: 'kubernetes',
    replicas: 2,
    port: 8080,
    health: { path: '/healthz', intervalMs: 1000, timeoutMs: 2000, healthy: 1, unhealthy: 3, startPeriodMs: 0 },
    strategy: { maxSurge: 1, maxUnavailable: 0, progressDeadlineMs: 60_000, autoRollback: true },
    kubernetes: { namespace: 'shop' },
  },
});
const deployment = rendered[0] as V1Deployment;
const service = rendered[1] as V1Service;
const expect2 = { replicas: 2, says: 'revision says 2' };

/** The rendered object as an API server gives it back: defaults filled in, bookkeeping added. */
function asLive<T>(obj: T, change: (o: T) => void = () => undefined): T {
  const live = structuredClone(obj) as T & { metadata: Record<string, unknown>; status?: unknown };
  live.metadata.resourceVersion = '42';
  live.metadata.managedFields = [{ manager: 'slipway', operation: 'Apply' }];
  live.status = { replicas: 2 };
  change(live);
  return live;
}

test('what the API server fills in (protocol, resources, pull policy, clusterIP, nodePort-less defaults) is no drift', () => {
  const live = asLive(deployment, (d) => {
    const c = d.spec!.template.spec!.containers[0]!;
    Object.assign(c, { imagePullPolicy: 'IfNotPresent', resources: {}, terminationMessagePath: '/dev/termination-log', env: [] });
    c.ports = [{ name: 'http', containerPort: 8080 }];
  });
  assert.deepEqual(deploymentDrift(live, deployment, expect2), { fields: [] });
  const svc = asLive(service, (s) => {
    s.spec = { ...s.spec, clusterIP: '10.0.0.7', type: 'ClusterIP', ports: [{ name: 'http', port: 8080 }] };
  });
  assert.deepEqual(serviceDrift(svc, service), { fields: [] });
});

test('replicas, image, an added variable (value never shown) and an extra port drift; the correction puts back those and keeps the rest', () => {
  const live = asLive(deployment, (d) => {
    d.spec!.replicas = 5;
    const c = d.spec!.template.spec!.containers[0]!;
    c.image = 'registry:5000/web:hotfix';
    c.env = [{ name: 'PASSWORD', value: 'hunter2' }];
    c.ports = [...(c.ports ?? []), { containerPort: 9090, protocol: 'TCP' }];
    c.resources = { limits: { cpu: '1' } };
  });
  const drift = deploymentDrift(live, deployment, expect2);
  assert.deepEqual(drift.fields.map((f) => f.message), [
    'spec.replicas: 5 (revision says 2)',
    `spec.template.spec.containers[app].image: registry:5000/web:hotfix (revision says ${deployment.spec?.template.spec?.containers[0]?.image})`,
    'spec.template.spec.containers[app].env[PASSWORD]: set (not in the revision)',
    'spec.template.spec.containers[app].ports[9090/TCP]: {"containerPort":9090,"protocol":"TCP"} (not in the revision)',
  ]);
  assert.ok(!JSON.stringify(drift.fields).includes('hunter2'));
  const corrected = drift.corrected as V1Deployment;
  assert.equal(corrected.spec?.replicas, 2);
  const c = corrected.spec?.template.spec?.containers[0];
  assert.equal(c?.image, deployment.spec?.template.spec?.containers[0]?.image);
  assert.equal(c?.env, undefined);
  assert.deepEqual(c?.ports, deployment.spec?.template.spec?.containers[0]?.ports);
  assert.deepEqual(c?.resources, { limits: { cpu: '1' } }, 'a field Slipway does not decide stays');
  assert.equal(corrected.metadata?.resourceVersion, '42', 'sent back with the version read: a change since is a conflict');
  assert.equal(corrected.metadata?.managedFields, undefined);
  assert.deepEqual(deploymentDrift(corrected, deployment, expect2).fields, []);
  assert.deepEqual(deploymentDrift(live, deployment, { replicas: undefined, says: 'the HorizontalPodAutoscaler sets it' }).fields.map((f) => f.path).includes('spec.replicas'), false);
});

test('a Service with another port, target port or type drifts, and is put back without a node port', () => {
  const live = asLive(service, (s) => {
    s.spec = { ...s.spec, type: 'NodePort', ports: [{ name: 'http', port: 80, targetPort: 8081, nodePort: 30080, protocol: 'TCP' }] };
  });
  const drift = serviceDrift(live, service);
  assert.deepEqual(drift.fields.map((f) => f.message), ['spec.type: NodePort (revision says ClusterIP)', 'spec.ports[http].port: 80 (revision says 8080)', 'spec.ports[http].targetPort: 8081 (revision says 8080)']);
  const corrected = drift.corrected as V1Service;
  assert.equal(corrected.spec?.type, 'ClusterIP');
  assert.deepEqual(corrected.spec?.ports, service.spec?.ports);
});
