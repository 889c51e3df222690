// Re-running only the failed jobs of a run: the jobs that passed are not run again, and the jobs
// that run get their artifacts and outputs exactly as the first run made them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { testServer, tempRepo, type TestServer } from './support.js';
import { eventually } from '../support/wait.js';

let server: TestServer;
const repo = tempRepo({
  'slipway.yaml': `version: 1
name: again
secrets: [GATE]
jobs:
  make:
    image: busybox:latest
    steps:
      - run: mkdir -p out && date +%s%N > out/stamp && echo "made $(cat out/stamp)"
    artifacts: [out]
  check:
    needs: [make]
    image: busybox:latest
    steps:
      - run: echo "got $(cat out/stamp)"; test "$GATE" = open
`,
});

interface RunDetail {
  id: string;
  number: number;
  status: string;
  rerunOf?: string;
  jobs: Array<{ name: string; status: string; reused: boolean }>;
}

async function logLines(runId: string): Promise<Array<{ job: string; line: string }>> {
  const res = await server.api<{ lines: Array<{ job: string; line: string }> }>(`/api/runs/${runId}/logs`, { headers: { Accept: 'application/json' } });
  assert.equal(res.status, 200);
  return res.body.lines;
}

before(async () => {
  server = await testServer();
});

after(async () => {
  await server.stop();
  repo.remove();
});

test('a failed-jobs re-run takes the passed jobs as they were and runs the failed ones with their artifacts', async () => {
  await server.push(repo, 'again');
  const first = await server.waitForRun('again', 1);
  assert.equal(first.status, 'failure');
  const made = (await logLines(first.id)).find((l) => l.job === 'make' && l.line.startsWith('made '))?.line.slice('made '.length);
  assert.ok(made, 'the first run made a stamp');
  // its artifacts stay for a re-run; its source snapshot does not
  const kept = path.join(server.data, 'runs', first.id);
  await eventually('only the artifacts kept', async () => readdirSync(kept).join() === 'artifacts', 10_000);

  assert.equal((await server.api('/api/projects/again/secrets/GATE', { method: 'PUT', body: { value: 'open' } })).status, 200);
  const rerun = await server.api<RunDetail>(`/api/runs/${first.id}/rerun`, { method: 'POST', body: { mode: 'failed-jobs' } });
  assert.equal(rerun.status, 201);
  const second = await server.waitForRun('again', 2);
  assert.equal(second.status, 'success', second.reason);
  const detail = (await server.api<RunDetail>(`/api/runs/${second.id}`)).body;
  assert.equal(detail.rerunOf, first.id);
  assert.deepEqual(
    detail.jobs.map((j) => [j.name, j.status, j.reused]),
    [
      ['make', 'success', true],
      ['check', 'success', false],
    ],
  );
  const lines = await logLines(second.id);
  assert.ok(!lines.some((l) => l.job === 'make' && l.line.startsWith('made ')), 'make did not run again');
  assert.ok(lines.some((l) => l.job === 'check' && l.line === `got ${made}`), `check read the first run's artifact: ${JSON.stringify(lines)}`);
  // the run is marked passed a moment before its folder is cleaned up
  await eventually('a passed run keeps nothing', async () => !readdirSync(path.join(server.data, 'runs')).includes(second.id), 10_000);

  // a whole re-run runs everything again
  const whole = await server.api<RunDetail>(`/api/runs/${first.id}/rerun`, { method: 'POST', body: { mode: 'all' } });
  assert.equal(whole.status, 201);
  const third = await server.waitForRun('again', 3);
  assert.equal(third.status, 'success', third.reason);
  const again = (await logLines(third.id)).find((l) => l.job === 'make' && l.line.startsWith('made '))?.line.slice('made '.length);
  assert.ok(again && again !== made, 'make ran again with a new stamp');
});
