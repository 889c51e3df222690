// The scheduling rules of the engine, with an in-memory executor: which jobs run, in what order,
// how many at once, and what is skipped or cancelled and why. (Real containers: test/engine/.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { makeCondition, makeTemplate } from '../spec/expressions.js';
import type { Job, Pipeline, StepsJob } from '../spec/model.js';
import type { ExecOutput, Executor, Sandbox, SandboxSpec } from '../executors/index.js';
import { executeRun, type ResumedJob } from './run.js';
import type { ApprovalDecision, ApprovalGate } from './approvals.js';
import { RunStorage } from './storage.js';
import type { RunEvent } from './events.js';

const at = { file: 'slipway.yaml', line: 1, col: 1 };

function stepsJob(name: string, scripts: string[], extra: Partial<StepsJob> = {}): StepsJob {
  return {
    kind: 'steps',
    name,
    position: at,
    needs: [],
    when: 'auto',
    env: {},
    timeoutMs: 60_000,
    retry: 0,
    image: makeTemplate('busybox:latest', at),
    services: [],
    steps: scripts.map((s) => ({ name: s, run: makeTemplate(s, at), env: {}, position: at })),
    artifacts: [],
    ...extra,
  };
}

function pipelineOf(jobs: Job[]): Pipeline {
  return { file: 'slipway.yaml', version: 1, name: 'unit', triggers: {}, env: {}, secrets: [], environments: {}, jobs };
}

/** Runs each script as: "ok", "fail", "wait" (until the signal), with a log of calls. */
class FakeExecutor implements Executor {
  readonly name = 'fake';
  running = 0;
  maxRunning = 0;
  readonly calls: string[] = [];

  async createSandbox(spec: SandboxSpec): Promise<Sandbox> {
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    const calls = this.calls;
    let destroyed = false;
    return {
      workspace: '/workspace',
      putArchive: async (tar) => {
        // read it to the end, as an engine would, so no file stays open after the test
        await new Promise<void>((resolve, reject) => {
          tar.on('end', resolve);
          tar.on('error', reject);
          tar.resume();
        });
      },
      getArchive: async () => undefined,
      exec: async (script: string, _env, output: ExecOutput, signal: AbortSignal) => {
        calls.push(`${spec.jobName}:${script}`);
        (output.stdout as Writable).write(`ran ${script}\n`);
        await new Promise((r) => setTimeout(r, 5));
        if (script === 'wait') {
          await new Promise((_r, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
        }
        return script === 'fail' ? 1 : 0;
      },
      destroy: async () => {
        if (!destroyed) this.running--;
        destroyed = true;
      },
    };
  }

  async reapOrphans() {
    return { containers: 0, networks: 0, volumes: 0 };
  }
}

async function runWith(jobs: Job[], options: { concurrency?: number; only?: string[]; abortAfterMs?: number; secrets?: Record<string, string>; approvals?: ApprovalGate; resume?: Map<string, ResumedJob> } = {}) {
  const home = mkdtempSync(path.join(os.tmpdir(), 'slipway-unit-'));
  const storage = new RunStorage(home, 'r1');
  await storage.prepare();
  writeFileSync(storage.sourceTarPath, '');
  const executor = new FakeExecutor();
  const events: RunEvent[] = [];
  const controller = new AbortController();
  if (options.abortAfterMs !== undefined) setTimeout(() => controller.abort(), options.abortAfterMs);
  try {
    const result = await executeRun({
      runId: 'r1',
      pipeline: pipelineOf(jobs),
      trigger: { event: 'push', branch: 'main', commit: 'abc' },
      source: { dir: home, tarPath: storage.sourceTarPath, commit: 'abc', branch: 'main', isDirty: false, isGit: true },
      executor,
      storage,
      secrets: options.secrets ?? {},
      envOverrides: {},
      concurrency: options.concurrency ?? 4,
      ...(options.only ? { only: options.only } : {}),
      ...(options.approvals ? { approvals: options.approvals } : {}),
      ...(options.resume ? { resume: options.resume } : {}),
      signal: controller.signal,
      onEvent: (e) => void events.push(e),
    });
    const byName = Object.fromEntries(result.jobs.map((j) => [j.name, j]));
    return { result, byName, executor, events };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

test('jobs run after their needs; a failure skips dependents transitively but not independent jobs', async () => {
  const { result, byName, executor } = await runWith([
    stepsJob('a', ['ok']),
    stepsJob('b', ['fail', 'never'], { needs: ['a'] }),
    stepsJob('c', ['ok'], { needs: ['b'] }),
    stepsJob('d', ['ok'], { needs: ['c'] }),
    stepsJob('e', ['ok']),
  ]);
  assert.equal(result.status, 'failure');
  assert.equal(byName.a?.status, 'success');
  assert.equal(byName.b?.status, 'failure');
  assert.equal(byName.b?.reason, "step 'fail' exited with code 1");
  assert.equal(byName.c?.status, 'skipped');
  assert.equal(byName.c?.reason, 'needs b, which failed');
  assert.equal(byName.d?.reason, 'needs c, which was skipped');
  assert.equal(byName.e?.status, 'success');
  assert.ok(!executor.calls.includes('b:never'));
  assert.ok(executor.calls.indexOf('b:fail') > executor.calls.indexOf('a:ok'));
});

test('a secret too short to mask everywhere is named (never shown) in the log of every job, once', async () => {
  const { events } = await runWith([stepsJob('a', ['ok']), stepsJob('b', ['ok'], { needs: ['a'] })], { secrets: { PIN: 'ab', TOKEN: 'long-enough-value' } });
  const warnings = events.filter((e): e is Extract<RunEvent, { type: 'log' }> => e.type === 'log' && /fewer than 4 characters/.test(e.line));
  assert.deepEqual(warnings.map((w) => w.job), ['a', 'b']);
  assert.match(warnings[0]!.line, /secret PIN has/);
  assert.ok(!warnings[0]!.line.includes('ab '), 'the value itself is never printed');
});

test('the concurrency limit holds', async () => {
  const jobs = Array.from({ length: 6 }, (_, i) => stepsJob(`j${i}`, ['ok', 'ok']));
  const { executor, result } = await runWith(jobs, { concurrency: 2 });
  assert.equal(result.status, 'success');
  assert.equal(executor.maxRunning, 2);
});

test('if: false, when: manual, build and deploy jobs are skipped with their reason', async () => {
  const build: Job = {
    kind: 'build', name: 'image', position: at, needs: [], when: 'auto', env: {}, timeoutMs: 1000, retry: 0,
    build: { context: '.', dockerfile: 'Dockerfile', repository: 'x', tags: [], args: {} },
  };
  const { byName, result } = await runWith([
    stepsJob('only-release', ['ok'], { if: makeCondition("branch == 'release'", at) }),
    stepsJob('on-main', ['ok'], { if: makeCondition("branch == 'main'", at) }),
    stepsJob('approve', ['ok'], { when: 'manual' }),
    build,
    stepsJob('smoke', ['ok'], { needs: ['image'] }),
  ]);
  assert.equal(result.status, 'success');
  assert.equal(byName['only-release']?.status, 'skipped');
  assert.match(byName['only-release']?.reason ?? '', /condition .* is false/);
  assert.equal(byName['on-main']?.status, 'success');
  assert.match(byName.approve?.reason ?? '', /when: manual/);
  assert.match(byName.image?.reason ?? '', /no image builder/);
  assert.equal(byName.smoke?.reason, 'needs image, which was skipped');
});

test('retry runs a failed job again; the summary counts attempts', async () => {
  const { byName, executor } = await runWith([stepsJob('flaky', ['fail'], { retry: 2 })]);
  assert.equal(byName.flaky?.status, 'failure');
  assert.equal(byName.flaky?.attempts, 3);
  assert.equal(executor.calls.filter((c) => c === 'flaky:fail').length, 3);
});

test('only: runs the named jobs and what they need, nothing else', async () => {
  const { result, executor } = await runWith(
    [stepsJob('a', ['ok']), stepsJob('b', ['ok'], { needs: ['a'] }), stepsJob('c', ['ok'])],
    { only: ['b'] },
  );
  assert.deepEqual(result.jobs.map((j) => j.name), ['a', 'b']);
  assert.ok(!executor.calls.some((c) => c.startsWith('c:')));
});

test('cancelling stops running jobs, cancels pending ones and destroys every sandbox', async () => {
  const { result, byName, executor } = await runWith(
    [stepsJob('long', ['wait']), stepsJob('after', ['ok'], { needs: ['long'] })],
    { abortAfterMs: 50 },
  );
  assert.equal(result.status, 'cancelled');
  assert.equal(byName.long?.status, 'cancelled');
  assert.equal(byName.after?.status, 'cancelled');
  assert.equal(executor.running, 0);
});

test('a job timeout fails the attempt and destroys its sandbox', async () => {
  const { byName, executor } = await runWith([stepsJob('slow', ['wait'], { timeoutMs: 50 })]);
  assert.equal(byName.slow?.status, 'failure');
  assert.match(byName.slow?.reason ?? '', /timed out after 50ms/);
  assert.equal(executor.running, 0);
});

test('a deploy job hands the rendered image to its target; a rolled-back rollout fails the run with the reason', async () => {
  const { executeRun: run } = await import('./run.js');
  const deploy = (name: string, image: string): Job => ({
    kind: 'deploy', name, position: at, needs: [], when: 'auto', env: {}, timeoutMs: 60_000, retry: 0,
    deploy: {
      environment: name, target: 'docker', image: makeTemplate(image, at), replicas: 2, port: 8080,
      health: { path: '/healthz', intervalMs: 1000, timeoutMs: 5000, healthy: 2, unhealthy: 3, startPeriodMs: 0 },
      strategy: { maxSurge: 1, maxUnavailable: 0, progressDeadlineMs: 60_000, autoRollback: true },
    },
  });
  const seen: string[] = [];
  let number = 0;
  const target = {
    name: 'docker' as const,
    deploy: async (request: { image: string; environment: string; app: string }) => {
      seen.push(`${request.app}/${request.environment}:${request.image}`);
      number++;
      const revision = { number } as unknown as import('../deploy/index.js').Revision;
      return request.image.endsWith(':bad')
        ? { revision, outcome: 'rolled-back' as const, reason: 'health check /healthz answered 500' }
        : { revision, outcome: 'healthy' as const };
    },
    rollback: async () => { throw new Error('unused'); },
    history: async () => [],
    status: async () => [],
    remove: async () => false,
    scale: async () => { throw new Error('unused'); },
  };
  const home = mkdtempSync(path.join(os.tmpdir(), 'slipway-unit-'));
  const storage = new RunStorage(home, 'r2');
  try {
    const result = await run({
      runId: 'r2',
      pipeline: pipelineOf([deploy('staging', 'app:${{ commit }}'), deploy('production', 'app:bad')]),
      trigger: { event: 'push', branch: 'main', commit: 'abc' },
      source: { dir: home, tarPath: storage.sourceTarPath, commit: 'abc', branch: 'main', isDirty: false, isGit: true },
      executor: new FakeExecutor(),
      storage,
      secrets: {},
      envOverrides: {},
      concurrency: 1,
      deployTargets: async () => target,
      signal: new AbortController().signal,
      onEvent: () => undefined,
    });
    assert.deepEqual(seen, ['unit/staging:app:abc', 'unit/production:app:bad']);
    const byName = Object.fromEntries(result.jobs.map((j) => [j.name, j]));
    assert.equal(byName.staging?.status, 'success');
    assert.equal(byName.production?.status, 'failure');
    assert.match(byName.production?.reason ?? '', /rolled back: health check \/healthz answered 500/);
    assert.equal(result.status, 'failure');
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

/** A gate whose decisions the test sets; park() says yes (the server's store would) unless told. */
function testGate(decisions = new Map<string, ApprovalDecision>(), parks = true) {
  const parked: string[][] = [];
  let wake: (() => void) | undefined;
  const gate: ApprovalGate = {
    decision: async (job) => decisions.get(job.name),
    changed: () => new Promise<void>((resolve) => (wake = resolve)),
    park: async (waiting) => {
      parked.push(waiting.map((w) => w.name));
      return parks;
    },
  };
  return { gate, parked, decide: (job: string, d: ApprovalDecision) => (decisions.set(job, d), wake?.()) };
}

test('a manual job waits while the jobs that do not need it go on; with nothing left to run the run parks as waiting', async () => {
  const { gate, parked } = testGate();
  const { result, byName, executor, events } = await runWith(
    [stepsJob('test', ['ok']), stepsJob('ship', ['ok'], { needs: ['test'], when: 'manual' }), stepsJob('after', ['ok'], { needs: ['ship'] }), stepsJob('docs', ['ok'])],
    { approvals: gate },
  );
  assert.equal(result.status, 'waiting');
  assert.equal(byName.ship?.status, 'waiting');
  assert.equal(byName.after?.status, 'pending', 'what needs the manual job waits with it, neither run nor skipped');
  assert.equal(byName.docs?.status, 'success');
  assert.deepEqual(parked, [['ship']]);
  assert.ok(!executor.calls.some((c) => c.startsWith('ship:')), 'no container for a waiting job');
  assert.ok(events.some((e) => e.type === 'job.status' && e.job === 'ship' && e.status === 'waiting'));
});

test('an approval that comes while other jobs run starts the manual job in the same run', async () => {
  const { gate, decide } = testGate(new Map(), false);
  const slow = stepsJob('slow', ['ok']);
  const pending = runWith([slow, stepsJob('ship', ['ok'], { when: 'manual' })], { approvals: gate });
  setTimeout(() => decide('ship', { kind: 'approved', by: 'alice', atMs: Date.now() }), 1);
  const { result, byName, events } = await pending;
  assert.equal(result.status, 'success');
  assert.equal(byName.ship?.status, 'success');
  assert.ok(events.some((e) => e.type === 'log' && e.job === 'ship' && /^approved by alice at /.test(e.line)), 'who approved is in the job log');
});

test('a rejected or timed-out manual job is skipped with the reason, and so are the jobs that need it', async () => {
  const decisions = new Map<string, ApprovalDecision>([
    ['ship', { kind: 'rejected', by: 'bob', atMs: 1, reason: 'not on a Friday' }],
    ['late', { kind: 'skip', reason: 'nobody approved it within 72h (approval.timeout)' }],
  ]);
  const { gate } = testGate(decisions);
  const { result, byName } = await runWith(
    [stepsJob('ship', ['ok'], { when: 'manual' }), stepsJob('after', ['ok'], { needs: ['ship'] }), stepsJob('late', ['ok'], { when: 'manual' })],
    { approvals: gate },
  );
  assert.equal(result.status, 'success', 'a rejection is a decision, not a failure');
  assert.equal(byName.ship?.reason, 'rejected by bob: not on a Friday');
  assert.equal(byName.after?.reason, 'needs ship, which was skipped');
  assert.equal(byName.late?.reason, 'nobody approved it within 72h (approval.timeout)');
});

test('a parked run goes on from its stored jobs: finished ones keep their results and outputs, the approved one runs', async () => {
  const image = stepsJob('image', ['ok']);
  const ship = stepsJob('ship', ['echo ${{ jobs.image.image }}'], { needs: ['image'], when: 'manual' });
  const { gate } = testGate(new Map([['ship', { kind: 'approved', by: 'alice', atMs: 1 } as ApprovalDecision]]));
  const resume = new Map<string, ResumedJob>([
    ['image', { status: 'success', outputs: { image: 'reg/app@sha256:abc' }, attempts: 1 }],
    ['ship', { status: 'waiting', attempts: 0, waitingSinceMs: 1 }],
  ]);
  const { result, byName, executor, events } = await runWith([image, ship], { approvals: gate, resume });
  assert.equal(result.status, 'success');
  assert.deepEqual(executor.calls, ['ship:echo reg/app@sha256:abc'], 'only the approved job ran, with the outputs of before');
  assert.equal(byName.image?.status, 'success');
  assert.ok(!events.some((e) => e.type === 'job.status' && e.job === 'image'), 'nothing is reported again for a finished job');
});

test('without a gate (no one to ask) a manual job is skipped with how to run it', async () => {
  const { byName } = await runWith([stepsJob('ship', ['ok'], { when: 'manual' })]);
  assert.equal(byName.ship?.status, 'skipped');
  assert.match(byName.ship?.reason ?? '', /--approve ship/);
});

test('cancelling a run cancels its waiting jobs', async () => {
  const { gate } = testGate(new Map(), false);
  const { result, byName } = await runWith([stepsJob('slow', ['wait']), stepsJob('ship', ['ok'], { when: 'manual' })], { approvals: gate, abortAfterMs: 50 });
  assert.equal(result.status, 'cancelled');
  assert.equal(byName.ship?.status, 'cancelled');
});
