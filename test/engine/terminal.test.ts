// On a terminal, `slipway run` draws a live tree of jobs and steps with the logs above it.
// `script` (util-linux) gives the CLI a real pseudo-terminal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { tempRepo } from '../support/repo.js';
import { slipwayBin } from '../support/paths.js';

const run = promisify(execFile);

test('on a terminal the run is a live tree of jobs and steps, logs scroll above it, a summary ends it', async () => {
  const repo = tempRepo({
    'slipway.yaml': `version: 1
name: tty
jobs:
  first:
    image: busybox:latest
    steps:
      - name: greet
        run: echo hello-from-first
  second:
    needs: [first]
    image: busybox:latest
    steps:
      - name: fail
        run: exit 4
`,
  });
  try {
    const { stdout } = await run('script', ['-qec', `${process.execPath} ${slipwayBin} run`, '/dev/null'], {
      cwd: repo.dir,
      env: { ...process.env, SLIPWAY_HOME: repo.home, TERM: 'xterm', COLUMNS: '100' },
    }).catch((err: { stdout: string; code: number }) => {
      assert.equal(err.code, 1, 'the run failed, so script exits 1');
      return { stdout: err.stdout };
    });
    const plain = stdout.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').replace(/\r/g, '');
    assert.match(plain, /tty · run \S+ · main@[0-9a-f]{7}/);
    assert.match(plain, /first │ hello-from-first/);
    assert.match(plain, /├─ ✔ first/);
    assert.match(plain, /└─ ✘ second/);
    assert.match(plain, /└─ ✘ fail \S+ exit 4/);
    assert.match(plain, /Run \S+ failure/);
  } finally {
    repo.remove();
  }
});
