// Log retention: the logs of runs finished before the cutoff are removed; the runs stay.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tempRepo } from '../support/repo.js';
import { testServer } from './support.js';

test('log retention removes the logs of finished runs and keeps the runs themselves', async () => {
  const server = await testServer({ config: { logRetentionMs: 1 } });
  const repo = tempRepo({ 'slipway.yaml': 'version: 1\nname: kept\njobs:\n  a:\n    image: busybox:latest\n    steps: [{ run: echo some output }]\n' });
  try {
    await server.push(repo, 'kept');
    const run = await server.waitForRun('kept', 1);
    assert.equal(run.status, 'success', run.reason);
    const before = await server.api<{ lines: unknown[] }>(`/api/runs/${run.id}/logs`);
    assert.ok(before.body.lines.length > 0);
    const removed = await server.pruneLogs();
    assert.equal(removed.runs, 1);
    assert.equal((await server.api<{ lines: unknown[] }>(`/api/runs/${run.id}/logs`)).body.lines.length, 0);
    const detail = await server.api<{ status: string; logsDeletedAtMs?: number }>(`/api/runs/${run.id}`);
    assert.equal(detail.body.status, 'success');
    assert.ok(detail.body.logsDeletedAtMs, 'the run says its logs were removed');
  } finally {
    await server.stop();
    repo.remove();
  }
});
