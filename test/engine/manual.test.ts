// Manual jobs under `slipway run`: asked on a terminal, approved ahead with --approve, skipped
// with how to run them when there is nobody to ask.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { runCli, tempRepo } from '../support/repo.js';
import { localApprovalGate, terminalQuestion } from '../../src/cli/local-approvals.js';

const PIPELINE = `version: 1
name: manual
jobs:
  test:
    image: busybox:latest
    steps: [{ run: echo tested }]
  ship:
    needs: [test]
    when: manual
    image: busybox:latest
    steps: [{ run: echo shipped }]
`;

test('without a terminal a manual job is skipped with how to run it; --approve runs it; --approve of an automatic job is exit 2', async () => {
  const repo = tempRepo({ 'slipway.yaml': PIPELINE });
  try {
    const plain = await runCli(['run'], { cwd: repo.dir, env: { SLIPWAY_HOME: repo.home } });
    assert.equal(plain.code, 0, plain.stdout + plain.stderr);
    assert.match(plain.stdout, /ship\s+skipped .*run it with --approve ship/);
    assert.doesNotMatch(plain.stdout, /│ shipped/);

    const approved = await runCli(['run', '--approve', 'ship'], { cwd: repo.dir, env: { SLIPWAY_HOME: repo.home } });
    assert.equal(approved.code, 0, approved.stdout + approved.stderr);
    assert.match(approved.stdout, /approved by .* \(--approve\)/);
    assert.match(approved.stdout, /│ shipped/);

    const wrong = await runCli(['run', '--approve', 'test'], { cwd: repo.dir, env: { SLIPWAY_HOME: repo.home } });
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /test does not wait for approval/);
    const missing = await runCli(['run', '--approve', 'nope'], { cwd: repo.dir, env: { SLIPWAY_HOME: repo.home } });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no such job/);
  } finally {
    repo.remove();
  }
});

test('on a terminal the run asks "run JOB? [y/N]" when it gets there: y approves, anything else rejects', async () => {
  const asked: string[] = [];
  const answers = ['y', 'no'];
  const gate = localApprovalGate({ approved: new Set(), by: 'dev', ask: async (question) => (asked.push(question), answers.shift() === 'y') });
  const ship = { name: 'ship', environment: 'production', sinceMs: 0 };
  assert.equal(await gate.decision(ship), undefined, 'nothing is decided before the run gets to asking');
  assert.equal(await gate.park([ship, { name: 'docs', sinceMs: 0 }]), false, 'the run never parks here: it looks again');
  assert.deepEqual(asked, ['run ship (deploys to production)? [y/N] ', 'run docs? [y/N] ']);
  assert.equal((await gate.decision(ship))?.kind, 'approved');
  assert.deepEqual(await gate.decision({ name: 'docs', sinceMs: 0 }).then((d) => d && { kind: d.kind, reason: 'reason' in d ? d.reason : undefined }), { kind: 'rejected', reason: 'answered no at the prompt' });
});

test('the terminal question reads y or yes as yes, and an abort as no', async () => {
  const input = new PassThrough();
  const output = new PassThrough();
  output.resume();
  const controller = new AbortController();
  const ask = terminalQuestion(input, output, controller.signal, () => undefined);
  const yes = ask('run ship? [y/N] ');
  input.write('Yes\n');
  assert.equal(await yes, true);
  const blank = ask('run ship? [y/N] ');
  input.write('\n');
  assert.equal(await blank, false);
  const aborted = ask('run ship? [y/N] ');
  controller.abort();
  assert.equal(await aborted, false);
});
