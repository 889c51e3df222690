// How runs fail: exit codes, skipped dependents, retries, timeouts, bad files, missing images.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, tempRepo } from '../support/repo.js';

test('a failing step fails the run with exit 1, skips its dependents, and lets independent jobs pass', async () => {
  const repo = tempRepo({
    'slipway.yaml': `version: 1
name: failing
jobs:
  build:
    image: busybox:latest
    steps:
      - run: echo building
      - name: broken
        run: |
          echo about to fail
          exit 3
      - name: never
        run: echo must not run
  package:
    needs: [build]
    image: busybox:latest
    steps: [{ run: echo packaging }]
  publish:
    needs: [package]
    image: busybox:latest
    steps: [{ run: echo publishing }]
  docs:
    image: busybox:latest
    steps: [{ run: echo docs ok }]
`,
  });
  try {
    const result = await runCli(['run'], { cwd: repo.dir, env: { SLIPWAY_HOME: repo.home } });
    assert.equal(result.code, 1, result.stdout + result.stderr);
    const out = result.stdout;
    assert.match(out, /✘ broken \(exit 3/);
    assert.doesNotMatch(out, /must not run/);
    assert.match(out, /\[package\] ⊘ skipped: needs build, which failed/);
    assert.match(out, /\[publish\] ⊘ skipped: needs package, which was skipped/);
    assert.match(out, /│ docs ok/);
    assert.match(out, /docs\s+success/);
    assert.match(out, /build\s+failure .*step 'broken' exited with code 3/);
  } finally {
    repo.remove();
  }
});

test('retry runs a failed job again in a fresh container, and a timeout fails the job', async () => {
  const repo = tempRepo({
    'slipway.yaml': `version: 1
name: retries
jobs:
  flaky:
    image: busybox:latest
    retry: 1
    steps:
      - run: test -f marker || { touch marker; echo first attempt fails; exit 1; }
  slow:
    image: busybox:latest
    timeout: 2s
    steps:
      - run: sleep 30
`,
  });
  try {
    const started = Date.now();
    const result = await runCli(['run'], { cwd: repo.dir, env: { SLIPWAY_HOME: repo.home } });
    assert.equal(result.code, 1);
    assert.ok(Date.now() - started < 20_000, 'the timeout stopped the job early');
    // the marker does not survive into a fresh container, so the second attempt fails too
    assert.match(result.stdout, /attempt 1 failed/);
    assert.match(result.stdout, /flaky\s+failure .*\(2 attempts\)/);
    assert.match(result.stdout, /slow\s+failure .*timed out after 2\.0s/);
  } finally {
    repo.remove();
  }
});

test('an invalid pipeline file is never run: exit 2 with file:line:col', async () => {
  const repo = tempRepo({
    'slipway.yaml': `version: 1
name: broken
jobs:
  test:
    image: busybox:latest
    stpes:
      - run: echo hi
`,
  });
  try {
    const result = await runCli(['run'], { cwd: repo.dir, env: { SLIPWAY_HOME: repo.home } });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /slipway\.yaml:6:5: .*stpes.*steps/);
    assert.doesNotMatch(result.stdout, /running/);
  } finally {
    repo.remove();
  }
});

test('a missing image fails the job with a clear message', async () => {
  const repo = tempRepo({
    'slipway.yaml': `version: 1
name: noimage
jobs:
  test:
    image: slipway-test/does-not-exist:1
    steps: [{ run: echo hi }]
`,
  });
  try {
    const result = await runCli(['run'], { cwd: repo.dir, env: { SLIPWAY_HOME: repo.home } });
    assert.equal(result.code, 1);
    assert.match(result.stdout, /image 'slipway-test\/does-not-exist:1' is not in the local Docker engine/);
  } finally {
    repo.remove();
  }
});

test('usage errors exit 2', async () => {
  const repo = tempRepo({ 'slipway.yaml': 'version: 1\nname: x\njobs:\n  a:\n    image: busybox:latest\n    steps: [{ run: "true" }]\n' });
  try {
    const unknownJob = await runCli(['run', '--job', 'nope'], { cwd: repo.dir, env: { SLIPWAY_HOME: repo.home } });
    assert.equal(unknownJob.code, 2);
    assert.match(unknownJob.stderr, /no such job/);
    const badFlag = await runCli(['run', '--frobnicate'], { cwd: repo.dir, env: { SLIPWAY_HOME: repo.home } });
    assert.equal(badFlag.code, 2);
    const badEnv = await runCli(['run', '--env', 'novalue'], { cwd: repo.dir, env: { SLIPWAY_HOME: repo.home } });
    assert.equal(badEnv.code, 2);
  } finally {
    repo.remove();
  }
});
