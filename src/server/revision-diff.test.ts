import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffConfig, digestOf } from './revision-diff.js';

test('diffConfig lists each differing value by path, with from/to left out where a side does not set it, and leaves the image out', () => {
  const from = { image: 'web:v1', replicas: 1, port: 8080, health: { path: '/healthz', intervalMs: 1000 }, strategy: { autoRollback: true } };
  const to = { image: 'web:v2', replicas: 3, port: 8080, health: { tcp: true, intervalMs: 1000 }, kubernetes: { namespace: 'web' } };
  assert.deepEqual(diffConfig(from, to).changes, [
    { path: 'health.path', from: '/healthz' },
    { path: 'health.tcp', to: true },
    { path: 'kubernetes', to: { namespace: 'web' } },
    { path: 'replicas', from: 1, to: 3 },
    { path: 'strategy', from: { autoRollback: true } },
  ]);
  assert.deepEqual(diffConfig(from, from), { changes: [], truncated: false });
});

test('diffConfig goes into arrays by index, quotes keys that are not plain names, and stops at its limit', () => {
  const { changes } = diffConfig({ kubernetes: { manifests: ['a.yaml', 'b.yaml'] }, 'we.ird key': 1 }, { kubernetes: { manifests: ['a.yaml', 'c.yaml', 'd.yaml'] }, 'we.ird key': 2 });
  assert.deepEqual(changes, [
    { path: 'kubernetes.manifests[1]', from: 'b.yaml', to: 'c.yaml' },
    { path: 'kubernetes.manifests[2]', to: 'd.yaml' },
    { path: '["we.ird key"]', from: 1, to: 2 },
  ]);
  const many = diffConfig(Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, i])), {}, 200);
  assert.equal(many.changes.length, 200);
  assert.equal(many.truncated, true);
});

test('diffConfig compares a subtree deeper than its depth bound whole, and never reads inherited keys', () => {
  let deepA: unknown = 1;
  let deepB: unknown = 2;
  for (let i = 0; i < 50; i++) {
    deepA = { x: deepA };
    deepB = { x: deepB };
  }
  const { changes } = diffConfig({ deep: deepA }, { deep: deepB });
  assert.equal(changes.length, 1);
  assert.equal(changes[0]?.path, 'deep.x.x.x.x.x.x.x');
  assert.deepEqual(diffConfig(JSON.parse('{"__proto__": {"polluted": 1}}'), {}).changes, [{ path: '__proto__', from: { polluted: 1 } }]);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('digestOf reads the digest a reference pins, and nothing from a tag', () => {
  assert.equal(digestOf(`127.0.0.1:7700/web@sha256:${'a'.repeat(64)}`), `sha256:${'a'.repeat(64)}`);
  assert.equal(digestOf('127.0.0.1:7700/web:v1'), undefined);
  assert.equal(digestOf('web@'), undefined);
});
