// A deploy job whose target finds nothing to change: the job succeeds, says so in its log, and
// hands the current revision on as its output (no revision was added).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTemplate } from '../spec/expressions.js';
import type { DeployJob } from '../spec/model.js';
import type { DeployRequest, DeployTarget, Revision } from '../deploy/index.js';
import type { RunEvent } from './events.js';
import { runDeployJob } from './deploy-runner.js';

const at = { file: 'slipway.yaml', line: 1, col: 1 };

test("a deploy job whose image and config already run succeeds without a rollout, and its log says so", async () => {
  const job = {
    kind: 'deploy', name: 'ship', position: at, needs: [], when: 'auto', env: {}, timeoutMs: 60_000, retry: 0,
    deploy: {
      environment: 'production', target: 'docker', image: makeTemplate('web:2', at), replicas: 2, port: 8080,
      health: { path: '/healthz', intervalMs: 1000, timeoutMs: 5000, healthy: 2, unhealthy: 3, startPeriodMs: 0 },
      strategy: { maxSurge: 1, maxUnavailable: 0, progressDeadlineMs: 60_000, autoRollback: true },
    },
  } as DeployJob;
  const current = { number: 7, image: 'web:2' } as Revision;
  const target = {
    name: 'docker',
    deploy: async (_request: DeployRequest) => ({ revision: current, outcome: 'unchanged' as const }),
  } as unknown as DeployTarget;
  const events: RunEvent[] = [];
  const result = await runDeployJob({
    job,
    attempt: 1,
    app: 'web',
    runId: 'r1',
    context: { branch: 'main', event: 'push', commit: 'abcdef0123', env: {}, jobs: {} },
    workspace: '/nowhere',
    targets: async () => target,
    signal: new AbortController().signal,
    emit: (event) => void events.push(event),
  });
  assert.equal(result.status, 'success');
  assert.deepEqual(result.outputs, { revision: '7', environment: 'production', image: 'web:2' });
  const log = events.flatMap((e) => (e.type === 'log' ? [e.line] : []));
  assert.ok(log.includes('revision 7 already runs this image and config; nothing to do (use --force to restart its replicas as a new revision)'), log.join('\n'));
  assert.ok(events.some((e) => e.type === 'step.finished' && e.exitCode === 0));
});
