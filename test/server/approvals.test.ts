// Manual jobs on the server: a run waits at them holding nothing, a person approves or rejects
// (with the rights the job's environment asks for), a timeout skips them, and every decision is
// taken once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Docker from 'dockerode';
import { testServer, tempRepo, type TestServer } from './support.js';
import { runCli } from '../support/repo.js';
import { eventually } from '../support/wait.js';

const docker = new Docker();
let server: TestServer;
let env: Record<string, string>;

interface Job {
  name: string;
  status: string;
  reason?: string;
  approval?: { environment?: string; waitingSinceMs: number; deadlineMs?: number; decision?: { kind: string; by?: string; reason?: string } };
}
interface RunDetail {
  id: string;
  status: string;
  reason?: string;
  jobs: Job[];
}

const detail = async (id: string): Promise<RunDetail> => (await server.api<RunDetail>(`/api/runs/${id}`)).body;
const job = (run: RunDetail, name: string): Job | undefined => run.jobs.find((j) => j.name === name);
const logText = async (id: string): Promise<string> =>
  (await server.api<{ lines: Array<{ job: string; line: string }> }>(`/api/runs/${id}/logs`)).body.lines.map((l) => `[${l.job}] ${l.line}`).join('\n');

/** A run's status, reason and jobs in one line, for a failed assertion to say what happened. */
const story = (run: RunDetail): string =>
  `${run.status}${run.reason ? ` (${run.reason})` : ''}: ${run.jobs.map((j) => `${j.name} ${j.status}${j.reason ? ` (${j.reason})` : ''}`).join(', ')}`;

const ENDED = new Set(['success', 'failure', 'cancelled', 'interrupted']);
/**
 * The run once it has ended. A resumed run starts its approved job's container and those after it,
 * which on a loaded CI machine takes as long as a run from a push: the same budget as waitForRun,
 * and a timeout names the jobs' states last seen.
 */
async function ended(id: string, timeoutMs = 120_000): Promise<RunDetail> {
  let last: RunDetail | undefined;
  try {
    return await eventually('the run to end', async () => {
      last = await detail(id);
      return ENDED.has(last.status) && last;
    }, timeoutMs, 200);
  } catch (err) {
    throw new Error(`${(err as Error).message}; last seen ${last ? story(last) : 'nothing'}`);
  }
}

/** Pushes a pipeline as its own project and waits until its first run stops running (ends or waits). */
async function pushed(project: string, pipeline: string): Promise<RunDetail> {
  const repo = tempRepo({ 'slipway.yaml': pipeline.replace('NAME', project) });
  try {
    await server.push(repo, project);
    const run = await server.waitForRun(project, 1);
    return detail(run.id);
  } finally {
    repo.remove();
  }
}

const GATED = `version: 1
name: NAME
jobs:
  test:
    image: busybox:latest
    steps: [{ run: echo tested }]
  ship:
    needs: [test]
    when: manual
    image: busybox:latest
    steps: [{ run: echo shipping }]
  announce:
    needs: [ship]
    image: busybox:latest
    steps: [{ run: echo announced }]
  docs:
    image: busybox:latest
    steps: [{ run: echo docs }]
`;

before(async () => {
  server = await testServer();
  env = { SLIPWAY_URL: server.url, SLIPWAY_TOKEN: server.token };
});

after(async () => {
  await server.stop();
});

test('a run waits at a manual job holding no container; slipway approve starts it and records who', async () => {
  const run = await pushed('gated', GATED);
  assert.equal(run.status, 'waiting');
  assert.equal(job(run, 'ship')?.status, 'waiting');
  assert.equal(job(run, 'announce'), undefined, 'its dependents wait with it, not started');
  assert.equal(job(run, 'docs')?.status, 'success', 'jobs that do not need it went on');
  const containers = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`io.slipway.run=${run.id}`] }) });
  assert.equal(containers.length, 0, 'nothing runs while it waits');
  assert.match(await logText(run.id), new RegExp(`\\[ship\\] waits for approval: slipway approve ${run.id} ship`));
  const listed = await runCli(['runs', '--status', 'waiting'], { cwd: process.cwd(), env });
  assert.match(listed.stdout, new RegExp(run.id));
  const status = await runCli(['status'], { cwd: process.cwd(), env });
  assert.match(status.stdout, new RegExp(`waiting for approval:\\n.*\\ngated#1 +ship +- .*slipway approve ${run.id} ship`), status.stdout);

  const approved = await runCli(['approve', run.id, 'ship'], { cwd: process.cwd(), env });
  assert.equal(approved.code, 0, approved.stderr);
  assert.match(approved.stdout, /ship approved by admin/);
  const done = await ended(run.id);
  assert.equal(done.status, 'success', story(done));
  assert.equal(job(done, 'ship')?.status, 'success');
  assert.equal(job(done, 'announce')?.status, 'success');
  assert.equal(job(done, 'ship')?.approval?.decision?.by, 'admin');
  assert.match(await logText(run.id), /\[ship\] approved by admin at .*\n\[ship\] shipping/);
  const audit = await server.store.listAudit({ subject: run.id });
  assert.deepEqual(audit.map((a) => [a.action, a.actor, a.details?.job]), [['job.approve', 'admin', 'ship']]);

  const again = await runCli(['approve', run.id, 'ship'], { cwd: process.cwd(), env });
  assert.equal(again.code, 1, 'approving a job that no longer waits is refused');
  assert.match(again.stderr, /409|not waiting|already/);
  const notManual = await server.api<{ error: { code: string } }>(`/api/runs/${run.id}/jobs/test/approve`, { method: 'POST' });
  assert.deepEqual([notManual.status, notManual.body.error.code], [409, 'JOB_NOT_WAITING']);
  const missing = await server.api<{ error: { code: string } }>(`/api/runs/${run.id}/jobs/nope/approve`, { method: 'POST' });
  assert.equal(missing.status, 404);
});

test('reject skips the job with the reason, and the jobs that need it; the run ends', async () => {
  const run = await pushed('rejected', GATED);
  const rejected = await runCli(['reject', run.id, 'ship', '--reason', 'not on a Friday'], { cwd: process.cwd(), env });
  assert.equal(rejected.code, 0, rejected.stderr);
  const done = await ended(run.id);
  assert.equal(done.status, 'success', story(done));
  assert.equal(job(done, 'ship')?.status, 'skipped');
  assert.equal(job(done, 'ship')?.reason, 'rejected by admin: not on a Friday');
  assert.equal(job(done, 'announce')?.reason, 'needs ship, which was skipped');
});

test('two approvals at once: one wins, the other is 409, and the job runs once', async () => {
  const run = await pushed('raced', GATED);
  const answers = await Promise.all([1, 2, 3].map(() => server.api<{ error?: { code: string } }>(`/api/runs/${run.id}/jobs/ship/approve`, { method: 'POST' })));
  assert.deepEqual(answers.map((a) => a.status).sort(), [200, 409, 409]);
  const done = await ended(run.id);
  assert.equal(done.status, 'success', story(done));
  const shipped = (await logText(done.id)).split('\n').filter((l) => l === '[ship] shipping');
  assert.equal(shipped.length, 1);
});

test('a manual job nobody approves within approval.timeout is skipped with that reason', async () => {
  const run = await pushed('timed', GATED.replace('    when: manual\n', '    when: manual\n    approval: { timeout: 1s }\n'));
  assert.equal(job(run, 'ship')?.approval?.deadlineMs !== undefined, true);
  const done = await ended(run.id);
  assert.equal(done.status, 'success', story(done));
  assert.equal(job(done, 'ship')?.reason, 'nobody approved it within 1s (approval.timeout)');
  assert.equal(job(done, 'ship')?.approval?.decision?.kind, 'expired');
});

test('cancelling a waiting run ends it and its waiting job', async () => {
  const run = await pushed('dropped', GATED);
  const cancelled = await runCli(['cancel', run.id], { cwd: process.cwd(), env });
  assert.equal(cancelled.code, 0, cancelled.stderr);
  const d = await detail(run.id);
  assert.equal(d.status, 'cancelled');
  assert.equal(job(d, 'ship')?.status, 'cancelled');
});

test('a deploy to a protected environment waits without when: manual; approving it needs deploy:production', async () => {
  const run = await pushed('guarded', `version: 1
name: NAME
environments:
  production: { protected: true }
jobs:
  release:
    deploy:
      environment: production
      image: busybox:latest
      port: 8080
`);
  assert.equal(run.status, 'waiting');
  assert.equal(job(run, 'release')?.approval?.environment, 'production');
  const runner = await server.tokenWith(['run']);
  const staging = await server.tokenWith(['deploy:staging']);
  for (const token of [runner, staging]) {
    const denied = await server.api<{ error: { code: string; message: string } }>(`/api/runs/${run.id}/jobs/release/approve`, { method: 'POST', token });
    assert.equal(denied.status, 403);
    assert.match(denied.body.error.message, /deploy:production/);
  }
  const viaCli = await runCli(['approve', run.id, 'release'], { cwd: process.cwd(), env: { ...env, SLIPWAY_TOKEN: runner } });
  assert.equal(viaCli.code, 2, 'a token without the right: exit 2');
  assert.equal(job(await detail(run.id), 'release')?.status, 'waiting', 'a refused approval changes nothing');
  const production = await server.tokenWith(['deploy:production']);
  const rejected = await server.api(`/api/runs/${run.id}/jobs/release/reject`, { method: 'POST', token: production, body: { reason: 'freeze' } });
  assert.equal(rejected.status, 200);
  const badReason = await server.api<{ error: { code: string } }>(`/api/runs/${run.id}/jobs/release/reject`, { method: 'POST', body: { reason: 'x'.repeat(1001) } });
  assert.equal(badReason.status, 422);
});
