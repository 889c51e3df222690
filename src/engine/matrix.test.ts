// Matrix jobs in the engine, with an in-memory executor: each combination runs as a job, fail-fast
// cancels its siblings (running and pending) and not other jobs, needs wait for every combination.
// (Real containers: test/engine/matrix.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { parsePipeline } from '../spec/index.js';
import type { ExecOutput, Executor, Sandbox, SandboxSpec } from '../executors/index.js';
import { executeRun, selectJobs } from './run.js';
import { RunStorage } from './storage.js';
import type { RunEvent } from './events.js';

/**
 * Runs scripts as: "ok", "fail" (once `failAfter` sandboxes exist, so the others are running),
 * "wait" (until aborted); anything else succeeds and is recorded.
 */
class FakeExecutor implements Executor {
  readonly name = 'fake';
  readonly scripts: string[] = [];
  readonly images: string[] = [];
  private created = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(private readonly failAfter = 0) {}

  async createSandbox(spec: SandboxSpec): Promise<Sandbox> {
    this.images.push(`${spec.jobName}: ${spec.image}`);
    this.created++;
    if (this.created >= this.failAfter) this.waiters.splice(0).forEach((wake) => wake());
    return {
      workspace: '/workspace',
      putArchive: async (tar) => void (await new Promise<void>((resolve, reject) => tar.on('end', resolve).on('error', reject).resume())),
      getArchive: async () => undefined,
      exec: async (script: string, _env, output: ExecOutput, signal: AbortSignal) => {
        signal.throwIfAborted();
        this.scripts.push(`${spec.jobName}: ${script}`);
        (output.stdout as Writable).write(`ran ${script}\n`);
        if (script === 'fail') {
          if (this.created < this.failAfter) await new Promise<void>((resolve) => this.waiters.push(resolve));
          return 1;
        }
        if (script === 'wait') await new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
        return 0;
      },
      destroy: async () => undefined,
    };
  }

  async reapOrphans() {
    return { containers: 0, networks: 0, volumes: 0 };
  }
}

async function run(yaml: string, options: { failAfter?: number; concurrency?: number } = {}) {
  const { pipeline, diagnostics } = parsePipeline(`version: 1\nname: unit\njobs:\n${yaml}`, 'slipway.yaml');
  assert.ok(pipeline, JSON.stringify(diagnostics));
  const home = mkdtempSync(path.join(os.tmpdir(), 'slipway-matrix-'));
  const storage = new RunStorage(home, 'r1');
  await storage.prepare();
  writeFileSync(storage.sourceTarPath, '');
  const executor = new FakeExecutor(options.failAfter);
  const events: RunEvent[] = [];
  try {
    const result = await executeRun({
      runId: 'r1',
      pipeline,
      trigger: { event: 'push', branch: 'main', commit: 'abc' },
      source: { dir: home, tarPath: storage.sourceTarPath, commit: 'abc', branch: 'main', isDirty: false, isGit: true },
      executor,
      storage,
      secrets: {},
      envOverrides: {},
      concurrency: options.concurrency ?? 3,
      signal: new AbortController().signal,
      onEvent: (e) => void events.push(e),
    });
    const byName = Object.fromEntries(result.jobs.map((j) => [j.name, j]));
    return { result, byName, executor, events };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

const MODES = `  test:
    image: img:\${{ matrix.mode }}
    matrix: { mode: [fail, wait, ok, later] }
    steps: [{ run: "\${{ matrix.mode }}" }]
  other:
    image: img
    steps: [{ run: wait-free }]
`;

test('fail-fast: a failed combination cancels its running and pending siblings with the reason; others go on', async () => {
  // two at a time: fail and wait run, ok and later are still pending when fail fails
  const { result, byName, events } = await run(MODES, { failAfter: 2, concurrency: 2 });
  assert.equal(result.status, 'failure');
  assert.equal(byName['test (mode=fail)']?.status, 'failure');
  assert.equal(byName['test (mode=wait)']?.status, 'cancelled');
  assert.equal(byName['test (mode=wait)']?.reason, 'fail-fast: test (mode=fail) failed');
  assert.equal(byName['test (mode=later)']?.status, 'cancelled');
  assert.equal(byName['test (mode=later)']?.reason, 'fail-fast: test (mode=fail) failed');
  assert.equal(byName['test (mode=later)']?.attempts, 0, 'never started');
  assert.equal(byName['test (mode=ok)']?.status, 'cancelled');
  assert.equal(byName['other']?.status, 'success', 'fail-fast stays within the matrix');
  const logged = events.filter((e) => e.type === 'log' && e.line.startsWith('cancelled: test (mode=fail) failed')).map((e) => (e.type === 'log' ? e.job : ''));
  assert.deepEqual(logged.sort(), ['test (mode=later)', 'test (mode=ok)', 'test (mode=wait)']);
});

test('fail-fast: false lets every combination finish; a dependent is skipped naming the failed one once', async () => {
  const yaml = `  test:
    image: img
    fail-fast: false
    matrix: { mode: [fail, ok, done] }
    steps: [{ run: "\${{ matrix.mode }}" }]
  after:
    needs: [test]
    image: img
    steps: [{ run: ok }]
`;
  const { byName } = await run(yaml, { failAfter: 3 });
  assert.equal(byName['test (mode=fail)']?.status, 'failure');
  assert.equal(byName['test (mode=ok)']?.status, 'success');
  assert.equal(byName['test (mode=done)']?.status, 'success');
  assert.equal(byName['after']?.status, 'skipped');
  assert.equal(byName['after']?.reason, 'needs test (mode=fail), which failed');
});

test('needs on a matrix job wait for every combination; jobs.X.result reads the matrix as one; the plan shows combinations', async () => {
  const yaml = `  test:
    image: node:\${{ matrix.node }}
    env: { DB: "\${{ matrix.db }}" }
    matrix: { node: [18, 20], db: [a, b], exclude: [{ node: 20, db: b }] }
    steps: [{ run: "echo \${{ matrix.node }}-$DB" }]
  after:
    needs: [test]
    image: img
    steps: [{ run: "echo \${{ jobs.test.result }}" }]
`;
  const { result, executor, events } = await run(yaml);
  assert.equal(result.status, 'success');
  assert.deepEqual(result.jobs.map((j) => j.name), ['test (node=18, db=a)', 'test (node=18, db=b)', 'test (node=20, db=a)', 'after']);
  assert.deepEqual(executor.images.slice(0, 3).sort(), ['test (node=18, db=a): node:18', 'test (node=18, db=b): node:18', 'test (node=20, db=a): node:20']);
  assert.ok(executor.scripts.includes('test (node=20, db=a): echo 20-$DB'));
  assert.equal(executor.scripts[executor.scripts.length - 1], 'after: echo success', 'after ran last, reading the combined result');
  const started = events.find((e) => e.type === 'run.started');
  assert.ok(started?.type === 'run.started');
  assert.deepEqual(started.jobs.find((j) => j.name === 'after')?.needs, ['test (node=18, db=a)', 'test (node=18, db=b)', 'test (node=20, db=a)']);
  assert.deepEqual(started.jobs[0]?.matrix, { job: 'test', values: { node: '18', db: 'a' } });
});

test('only: a matrix job’s name selects all its combinations, a combination’s name just that one', async () => {
  const { pipeline } = parsePipeline(`version: 1\nname: unit\njobs:\n${MODES}`, 'slipway.yaml');
  assert.ok(pipeline);
  assert.deepEqual([...selectJobs(pipeline, ['test'])], ['test (mode=fail)', 'test (mode=wait)', 'test (mode=ok)', 'test (mode=later)']);
  assert.deepEqual([...selectJobs(pipeline, ['test (mode=ok)'])], ['test (mode=ok)']);
});

test('combinations whose names differ only in characters a folder name cannot hold keep folders of their own', () => {
  const storage = new RunStorage(os.tmpdir(), 'r1');
  const [spaced, underscored] = ['test (os=a b)', 'test (os=a_b)'];
  assert.notEqual(storage.artifactDir(spaced), storage.artifactDir(underscored));
  assert.notEqual(storage.cacheDir('p', spaced, 'k'), storage.cacheDir('p', underscored, 'k'));
  assert.match(path.basename(storage.artifactDir(spaced)), /^test__os_a_b_-[0-9a-f]{12}$/);
  assert.equal(path.basename(storage.artifactDir('plain-job')), 'plain-job', 'plain names keep their folder');
});

test('a manual combination without anyone to ask is skipped with how to approve it, its name quoted for the shell', async () => {
  const { byName } = await run(`  test:\n    image: img\n    when: manual\n    matrix: { mode: [ok] }\n    steps: [{ run: ok }]\n`);
  assert.equal(byName['test (mode=ok)']?.status, 'skipped');
  assert.match(byName['test (mode=ok)']?.reason ?? '', /run it with --approve 'test \(mode=ok\)'$/);
});
