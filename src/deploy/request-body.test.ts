// The JSON deploy request: what the CLI encodes the server decodes to the same spec, and the
// decoder refuses anything it does not know, naming every bad field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTemplate, type DeploySpec } from '../spec/index.js';
import { DEFAULT_DEPLOY_SPEC, deployRequestBody, parseDeployRequestBody } from './request-body.js';
import { DeployError } from './types.js';

const spec = (overrides: Partial<DeploySpec> = {}): DeploySpec => ({
  ...DEFAULT_DEPLOY_SPEC,
  environment: 'production',
  image: makeTemplate('web:2', { file: 'test', line: 0, col: 0 }),
  ...overrides,
});

const comparable = (s: DeploySpec) => ({ ...s, image: s.image.source });

test('a spec survives the trip through the request body: health kinds, durations, kubernetes', () => {
  const cases: DeploySpec[] = [
    spec(),
    spec({ replicas: 3, port: 3000, publish: 18080, health: { path: '/healthz', intervalMs: 250, timeoutMs: 1500, healthy: 1, unhealthy: 5, startPeriodMs: 90_000 } }),
    spec({ health: { cmd: 'wget -q -O- localhost:8080/', intervalMs: 1000, timeoutMs: 5000, healthy: 2, unhealthy: 3, startPeriodMs: 0 }, strategy: { maxSurge: 0, maxUnavailable: 1, progressDeadlineMs: 3_600_000, autoRollback: false } }),
    spec({ target: 'kubernetes', kubernetes: { namespace: 'web' } }),
  ];
  for (const original of cases) {
    const body = JSON.parse(JSON.stringify(deployRequestBody(original, 'web:2'))) as unknown;
    const decoded = parseDeployRequestBody(body, 'production');
    assert.equal(decoded.image, 'web:2');
    assert.deepEqual(comparable(decoded.spec), comparable(original));
  }
});

test('an image alone takes the defaults; kubernetes gets the default namespace', () => {
  assert.deepEqual(comparable(parseDeployRequestBody({ image: 'web:2' }, 'production').spec), comparable(spec()));
  assert.deepEqual(parseDeployRequestBody({ image: 'web:2', target: 'kubernetes' }, 'production').spec.kubernetes, { namespace: 'default' });
});

test('every bad field is named in one ROLLOUT_INVALID error', () => {
  try {
    parseDeployRequestBody({ image: 'web:2', replicas: 1.5, health: { tcp: false, timeout: '0s', extra: 1 }, strategy: { maxSurge: 0, maxUnavailable: 0 }, kubernetes: { namespace: 'Web' } }, 'production');
    assert.fail('accepted');
  } catch (err) {
    assert.ok(err instanceof DeployError);
    assert.equal(err.code, 'ROLLOUT_INVALID');
    for (const field of ['replicas:', 'health.extra:', 'health.tcp:', 'health.timeout:', 'strategy: maxSurge and maxUnavailable', 'kubernetes.namespace:']) {
      assert.ok(err.message.includes(field), `${field} in ${err.message}`);
    }
  }
  assert.throws(() => parseDeployRequestBody(null, 'production'), /must be a JSON object/);
  assert.throws(() => parseDeployRequestBody({ image: '' }, 'production'), /image: an image reference/);
});
