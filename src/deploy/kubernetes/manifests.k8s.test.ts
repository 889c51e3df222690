// The Deployment and Service generated from a deploy block.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Deployment, V1Service } from '@kubernetes/client-node';
import type { DeploySpec } from '../../spec/model.js';
import { generateManifests, repositoryOf, workloadName } from './manifests.js';

function spec(health: Partial<DeploySpec['health']>): DeploySpec {
  return {
    environment: 'staging',
    target: 'kubernetes',
    image: { source: 'x', position: { file: 'slipway.yaml', line: 1, col: 1 }, isLiteral: true },
    replicas: 3,
    port: 8080,
    health: { intervalMs: 2000, timeoutMs: 1500, healthy: 2, unhealthy: 4, startPeriodMs: 5000, ...health },
    strategy: { maxSurge: 2, maxUnavailable: 1, progressDeadlineMs: 90_500, autoRollback: true },
    kubernetes: { namespace: 'web' },
  };
}

const ctx = (s: DeploySpec) => ({ app: 'Hello_Web', environment: 'staging', namespace: 'web', spec: s, image: 'reg:5000/hello@sha256:abc', revision: 7, trigger: { by: 'ci', kind: 'pipeline' as const, commit: '0123456789abcdef', runId: '12' } });

test('a generated Deployment carries replicas, the image, probes, the rolling update and the change cause', () => {
  const [d, svc] = generateManifests(ctx(spec({ path: '/healthz' }))) as [V1Deployment, V1Service];
  assert.equal(d.metadata?.name, 'hello-web-staging');
  assert.equal(d.spec?.replicas, 3);
  assert.equal(d.spec?.progressDeadlineSeconds, 91);
  assert.deepEqual(d.spec?.strategy, { type: 'RollingUpdate', rollingUpdate: { maxSurge: 2, maxUnavailable: 1 } });
  const c = d.spec?.template?.spec?.containers[0];
  assert.equal(c?.image, 'reg:5000/hello@sha256:abc');
  assert.deepEqual(c?.readinessProbe, { httpGet: { path: '/healthz', port: 8080 }, initialDelaySeconds: 5, periodSeconds: 2, timeoutSeconds: 2, successThreshold: 2, failureThreshold: 4 });
  assert.equal(c?.livenessProbe?.successThreshold, 1);
  assert.equal(d.metadata?.annotations?.['kubernetes.io/change-cause'], 'slipway revision 7, commit 0123456789ab, run 12, pipeline by ci, image reg:5000/hello@sha256:abc');
  assert.deepEqual(d.spec?.selector?.matchLabels, { 'app.kubernetes.io/name': 'Hello_Web', 'app.kubernetes.io/instance': 'hello-web-staging' });
  assert.deepEqual(svc.spec?.selector, d.spec?.selector?.matchLabels);
  assert.equal(svc.spec?.ports?.[0]?.targetPort, 8080);
});

test('tcp and cmd health checks become tcpSocket and exec probes', () => {
  const [tcp] = generateManifests(ctx(spec({ tcp: true }))) as [V1Deployment];
  assert.deepEqual(tcp.spec?.template?.spec?.containers[0]?.readinessProbe?.tcpSocket, { port: 8080 });
  const [cmd] = generateManifests(ctx(spec({ cmd: 'wget -q -O- localhost:8080/ready' }))) as [V1Deployment];
  assert.deepEqual(cmd.spec?.template?.spec?.containers[0]?.readinessProbe?.exec, { command: ['sh', '-c', 'wget -q -O- localhost:8080/ready'] });
});

test('names and repositories', () => {
  assert.equal(workloadName('web', 'prod'), 'web-prod');
  assert.equal(repositoryOf('localhost:5000/a/b:1.0'), 'localhost:5000/a/b');
  assert.equal(repositoryOf('a/b@sha256:0f'), 'a/b');
  assert.equal(repositoryOf('localhost:5000/a'), 'localhost:5000/a');
});
