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

test('force travels in the body as true, is false when absent, and must be a boolean', () => {
  const body = JSON.parse(JSON.stringify(deployRequestBody(spec(), 'web:2', true))) as { force?: unknown };
  assert.equal(body.force, true);
  assert.equal(parseDeployRequestBody(body, 'production').force, true);
  assert.equal('force' in deployRequestBody(spec(), 'web:2'), false, 'a plain deploy sends no force');
  assert.equal(parseDeployRequestBody({ image: 'web:2' }, 'production').force, false);
  assert.throws(() => parseDeployRequestBody({ image: 'web:2', force: 'yes' }, 'production'), /force: true or false, not "yes"/);
});

test('autoscale travels in the body with its cooldowns, and every bad field of it is named', () => {
  const original = spec({ replicas: 2, autoscale: { min: 2, max: 8, targetInflight: 10, targetCPU: 75, cooldown: { upMs: 10_000, downMs: 120_000 } } });
  const body = JSON.parse(JSON.stringify(deployRequestBody(original, 'web:2'))) as unknown;
  assert.deepEqual(comparable(parseDeployRequestBody(body, 'production').spec), comparable(original));
  const defaults = parseDeployRequestBody({ image: 'web:2', autoscale: { min: 3, max: 4, targetCPU: 50 } }, 'production').spec;
  assert.deepEqual(defaults.autoscale, { min: 3, max: 4, targetCPU: 50, cooldown: { upMs: 15_000, downMs: 300_000 } });
  assert.equal(defaults.replicas, 3, 'replicas starts inside min..max');
  try {
    parseDeployRequestBody({ image: 'web:2', autoscale: { min: 5, max: 2, targetInflight: 0, cooldown: { up: 'soon' }, extra: 1 } }, 'production');
    assert.fail('accepted');
  } catch (err) {
    assert.ok(err instanceof DeployError);
    for (const field of ['autoscale.extra:', 'autoscale.targetInflight: a number above 0', 'autoscale.min: at most autoscale.max', 'autoscale.cooldown.up:']) {
      assert.ok(err.message.includes(field), `${field} in ${err.message}`);
    }
  }
  assert.throws(() => parseDeployRequestBody({ image: 'web:2', autoscale: { min: 1, max: 2 } }, 'production'), /autoscale: targetInflight or targetCPU required/);
});
