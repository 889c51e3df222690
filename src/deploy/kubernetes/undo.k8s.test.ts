// Which revision `rollout undo` restores and the patch it sends, held to kubectl's rollback.go.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
import { DeployError } from '../types.js';
import { selectRevision, undoPatch } from './undo.js';

function rs(revision: number, image: string, extra: Record<string, string> = {}): V1ReplicaSet {
  return {
    metadata: { name: `web-${revision}`, annotations: { 'deployment.kubernetes.io/revision': String(revision), ...extra } },
    spec: { selector: {}, template: { metadata: { labels: { app: 'web', 'pod-template-hash': `h${revision}` } }, spec: { containers: [{ name: 'app', image }] } } },
  };
}

const history = [rs(1, 'v1'), rs(3, 'v3'), rs(2, 'v2')];

test('undo without a revision restores the previous (second-highest) revision', () => {
  assert.equal(selectRevision(history, 'web').metadata?.name, 'web-2');
});

test('undo to a named revision restores exactly that one', () => {
  assert.equal(selectRevision(history, 'web', 1).metadata?.name, 'web-1');
});

test('undo to a revision no ReplicaSet holds fails with ROLLOUT_NO_REVISION, as kubectl does', () => {
  assert.throws(() => selectRevision(history, 'web', 7), (err: DeployError) => err.code === 'ROLLOUT_NO_REVISION' && /unable to find specified revision 7 in history/.test(err.message) && /1, 2, 3/.test(err.message));
  assert.throws(() => selectRevision([], 'web'), /no rollout history found for deployment "web"/);
  assert.throws(() => selectRevision([rs(1, 'v1')], 'web'), /no previous revision/);
});

test('the undo patch replaces the template without pod-template-hash and keeps the Deployment\'s bookkeeping annotations', () => {
  const deployment: V1Deployment = {
    metadata: { name: 'web', annotations: { 'deployment.kubernetes.io/revision': '3', 'kubernetes.io/change-cause': 'deploy v3', 'team': 'a' } },
    spec: { selector: {}, template: {} },
  };
  const target = rs(1, 'v1', { 'kubernetes.io/change-cause': 'deploy v1', 'deployment.kubernetes.io/desired-replicas': '3' });
  const [template, annotations] = undoPatch(deployment, target) as { op: string; path: string; value: { metadata?: { labels?: Record<string, string> } } & Record<string, string> }[];
  assert.equal(template?.op, 'replace');
  assert.equal(template?.path, '/spec/template');
  assert.deepEqual(template?.value.metadata?.labels, { app: 'web' });
  assert.equal(annotations?.path, '/metadata/annotations');
  assert.deepEqual(annotations?.value, { 'deployment.kubernetes.io/revision': '3', 'kubernetes.io/change-cause': 'deploy v1' });
});
