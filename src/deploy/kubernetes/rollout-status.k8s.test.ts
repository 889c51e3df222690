// rolloutStatus against the cases of kubectl's own rollout_status_test.go (TestDeploymentStatusViewerStatus).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Deployment } from '@kubernetes/client-node';
import { progressLine, rolloutStatus } from './rollout-status.js';

interface Case {
  generation: number;
  specReplicas: number;
  status: { observedGeneration: number; replicas: number; updatedReplicas: number; availableReplicas: number; unavailableReplicas?: number };
  conditionReason?: string;
  msg: string;
  done: boolean;
  error?: string;
}

const cases: Case[] = [
  { generation: 0, specReplicas: 1, status: { observedGeneration: 1, replicas: 1, updatedReplicas: 0, availableReplicas: 1, unavailableReplicas: 0 }, msg: 'Waiting for deployment "foo" rollout to finish: 0 out of 1 new replicas have been updated...\n', done: false },
  { generation: 1, specReplicas: 1, status: { observedGeneration: 1, replicas: 2, updatedReplicas: 1, availableReplicas: 2, unavailableReplicas: 0 }, msg: 'Waiting for deployment "foo" rollout to finish: 1 old replicas are pending termination...\n', done: false },
  { generation: 1, specReplicas: 2, status: { observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 1, unavailableReplicas: 1 }, msg: 'Waiting for deployment "foo" rollout to finish: 1 of 2 updated replicas are available...\n', done: false },
  { generation: 1, specReplicas: 2, status: { observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2, unavailableReplicas: 0 }, msg: 'deployment "foo" successfully rolled out\n', done: true },
  { generation: 2, specReplicas: 2, status: { observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2, unavailableReplicas: 0 }, msg: 'Waiting for deployment spec update to be observed...\n', done: false },
  { generation: 1, specReplicas: 1, status: { observedGeneration: 1, replicas: 1, updatedReplicas: 0, availableReplicas: 0 }, conditionReason: 'ProgressDeadlineExceeded', msg: '', done: false, error: 'deployment "foo" exceeded its progress deadline' },
  // the deadline is judged only once the controller has seen the spec
  { generation: 2, specReplicas: 1, status: { observedGeneration: 1, replicas: 1, updatedReplicas: 0, availableReplicas: 0 }, conditionReason: 'ProgressDeadlineExceeded', msg: 'Waiting for deployment spec update to be observed...\n', done: false },
  { generation: 3, specReplicas: 3, status: { observedGeneration: 3, replicas: 4, updatedReplicas: 3, availableReplicas: 3 }, conditionReason: 'ReplicaSetUpdated', msg: 'Waiting for deployment "foo" rollout to finish: 1 old replicas are pending termination...\n', done: false },
];

for (const [i, c] of cases.entries()) {
  test(`rolloutStatus agrees with kubectl, case ${i + 1}: ${c.error ?? c.msg.trim()}`, () => {
    const d: V1Deployment = {
      metadata: { name: 'foo', namespace: 'bar', generation: c.generation },
      spec: { replicas: c.specReplicas, selector: {}, template: {} },
      status: { ...c.status, ...(c.conditionReason ? { conditions: [{ type: 'Progressing', status: c.conditionReason === 'ProgressDeadlineExceeded' ? 'False' : 'True', reason: c.conditionReason }] } : {}) },
    };
    const got = rolloutStatus(d);
    assert.equal(got.message, c.msg);
    assert.equal(got.done, c.done);
    assert.equal(got.error, c.error);
  });
}

test('progressLine shows updated and available replicas and old ones still running', () => {
  const d: V1Deployment = { spec: { replicas: 3, selector: {}, template: {} }, status: { replicas: 4, updatedReplicas: 2, availableReplicas: 1 } };
  assert.equal(progressLine(d), '2/3 updated, 1 available, 2 old pending termination');
});
