// Matrix jobs under `slipway run` on the real Docker engine: each combination a job of its own
// with its values in image, env, services and steps; exclude; needs waiting for every combination;
// fail-fast cancelling the combinations still running, and fail-fast: false letting them finish.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { runCli, spawnCli, tempRepo } from '../support/repo.js';
import { eventually } from '../support/wait.js';

/**
 * Creates `file` in the job container of a combination. The steps below wait for it, so the test
 * decides when a combination goes on instead of guessing with sleeps. Containers are named after
 * the run, the job with its unsafe characters replaced, and the attempt.
 */
async function touchIn(jobSegment: string, file: string): Promise<void> {
  const id = await eventually(`the container of ${jobSegment}`, async () => {
    const lines = execFileSync('docker', ['ps', '--format', '{{.ID}} {{.Names}}'], { encoding: 'utf8' }).split('\n');
    return lines.find((line) => line.includes(`-${jobSegment}-1-`) && !line.includes('-svc-'))?.split(' ')[0];
  });
  execFileSync('docker', ['exec', id, 'touch', file]);
}

test('a 2×2 matrix less one exclude runs three jobs with their values in image, env, services and steps; needs: [test] waits for all', async () => {
  const repo = tempRepo({
    'slipway.yaml': `version: 1
name: matrix
jobs:
  test:
    image: busybox:\${{ matrix.tag }}
    matrix:
      node: [18, 20]
      db: [sqlite, pg]
      tag: [latest]
      exclude:
        - { node: 20, db: pg }
    env: { DB: "\${{ matrix.db }}" }
    services:
      side:
        image: busybox:\${{ matrix.tag }}
        env: { ROLE: "\${{ matrix.db }}-side" }
        command: sleep 600
        health: { cmd: 'test "$ROLE" = sqlite-side || test "$ROLE" = pg-side', interval: 200ms, retries: 50 }
    steps:
      - name: values
        run: echo "node=\${{ matrix.node }} db=$DB"
  after:
    needs: [test]
    image: busybox:latest
    steps:
      - run: echo "after test=\${{ jobs.test.result }}"
`,
  });
  try {
    const result = await runCli(['run', '--concurrency', '4'], { cwd: repo.dir, env: { SLIPWAY_HOME: repo.home } });
    const out = result.stdout;
    assert.equal(result.code, 0, out + result.stderr);
    const combos = ['test (node=18, db=sqlite, tag=latest)', 'test (node=18, db=pg, tag=latest)', 'test (node=20, db=sqlite, tag=latest)'];
    for (const combo of combos) {
      const [, node, db] = /node=(\d+), db=(\w+)/.exec(combo) ?? [];
      assert.ok(out.includes(`[${combo}] │ node=${node} db=${db}`), `${combo} echoed its values:\n${out}`);
    }
    assert.doesNotMatch(out, /node=20 db=pg|node=20, db=pg/, 'the excluded combination did not run');
    assert.match(out, /\[after\] │ after test=success/);
    const lastEnd = Math.max(...combos.map((combo) => out.indexOf(`[${combo}] ✔ success`)));
    assert.ok(combos.every((combo) => out.indexOf(`[${combo}] ✔ success`) >= 0), 'every combination passed');
    assert.ok(out.indexOf('[after] ● running') > lastEnd, 'after started once every combination had passed');
  } finally {
    repo.remove();
  }
});

test('fail-fast: when one combination fails, the others still running are cancelled and the jobs that need them skipped', async () => {
  const repo = tempRepo({
    'slipway.yaml': `version: 1
name: failfast
jobs:
  test:
    image: busybox:latest
    matrix:
      mode: [fail, slow-a, slow-b]
    steps:
      - name: work
        run: |
          if [ "\${{ matrix.mode }}" = fail ]; then
            until [ -f go ]; do sleep 0.1; done
            echo failing now
            exit 1
          fi
          sleep 600
  after:
    needs: [test]
    image: busybox:latest
    steps: [{ run: echo never }]
`,
  });
  try {
    const started = Date.now();
    const cli = spawnCli(['run', '--concurrency', '4'], { cwd: repo.dir, env: { SLIPWAY_HOME: repo.home } });
    // every combination is in its step before the failing one is let go
    for (const combo of ['fail', 'slow-a', 'slow-b']) await cli.waitFor(new RegExp(`\\[test \\(mode=${combo}\\)\\] ▶ work`), 120_000);
    await touchIn('test__mode_fail_', 'go');
    const result = await cli.done;
    const out = result.stdout;
    assert.equal(result.code, 1, out + result.stderr);
    assert.match(out, /\[test \(mode=fail\)\] │ failing now/);
    assert.match(out, /test \(mode=fail\)\s+failure .*step 'work' exited with code 1/);
    assert.match(out, /test \(mode=slow-a\)\s+cancelled .*fail-fast: test \(mode=fail\) failed/);
    assert.match(out, /test \(mode=slow-b\)\s+cancelled .*fail-fast: test \(mode=fail\) failed/);
    assert.match(out, /after\s+skipped .*needs test \(mode=fail\), which failed \(and 2 more combinations of test did not pass\)/);
    assert.doesNotMatch(out, /│ never/);
    assert.ok(Date.now() - started < 300_000, 'the sleeping combinations were stopped, not waited for');
  } finally {
    repo.remove();
  }
});

test('fail-fast: false lets the other combinations finish after one failed', async () => {
  const repo = tempRepo({
    'slipway.yaml': `version: 1
name: nofailfast
jobs:
  test:
    image: busybox:latest
    fail-fast: false
    matrix:
      mode: [fail, slow]
    steps:
      - name: work
        run: |
          if [ "\${{ matrix.mode }}" = fail ]; then echo failing now; exit 1; fi
          until [ -f go ]; do sleep 0.1; done
          echo slow finished
`,
  });
  try {
    const cli = spawnCli(['run', '--concurrency', '4'], { cwd: repo.dir, env: { SLIPWAY_HOME: repo.home } });
    await cli.waitFor(/\[test \(mode=slow\)\] ▶ work/, 120_000);
    await cli.waitFor(/\[test \(mode=fail\)\] \S+ failure/, 120_000);
    // the failure is in: the slow combination is still running, and goes on when told
    await touchIn('test__mode_slow_', 'go');
    const result = await cli.done;
    const out = result.stdout;
    assert.equal(result.code, 1, out + result.stderr);
    assert.match(out, /\[test \(mode=slow\)\] │ slow finished/);
    assert.match(out, /test \(mode=slow\)\s+success/);
    assert.match(out, /test \(mode=fail\)\s+failure/);
    assert.doesNotMatch(out, /fail-fast:/);
  } finally {
    repo.remove();
  }
});
