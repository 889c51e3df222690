// Polling a git remote: commits pushed to a repository the server only polls run like pushes,
// with the pipeline's branch filter, and nothing runs twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { tempRepo } from '../support/repo.js';
import { eventually } from '../support/wait.js';
import { testServer } from './support.js';
import { parsePollTarget } from '../../src/server/poller.js';

const exec = promisify(execFile);

test('a polled remote runs what moved: matching branches once each, other branches not at all', async () => {
  const remoteDir = mkdtempSync(path.join(os.tmpdir(), 'slipway-remote-'));
  const remote = path.join(remoteDir, 'upstream.git');
  await exec('git', ['init', '-q', '--bare', remote]);
  const repo = tempRepo({
    'slipway.yaml': 'version: 1\nname: polled\non:\n  push: { branches: [main] }\njobs:\n  a:\n    image: busybox:latest\n    steps: [{ run: echo polled }]\n',
  });
  await exec('git', ['push', '-q', remote, 'main'], { cwd: repo.dir });
  const server = await testServer({ config: { poll: [{ project: 'polled', remote }], pollIntervalMs: 300 } });
  try {
    const first = await server.waitForRun('polled', 1, 60_000);
    assert.equal(first.status, 'success', first.reason);
    repo.write('more.txt', 'x');
    repo.commit('second');
    await exec('git', ['push', '-q', remote, 'main', 'main:feature'], { cwd: repo.dir });
    const second = await server.waitForRun('polled', 2, 60_000);
    assert.equal(second.status, 'success', second.reason);
    const head = (await exec('git', ['rev-parse', 'HEAD'], { cwd: repo.dir })).stdout.trim();
    assert.equal(second.trigger.commit, head);
    // the round that fetched main also fetched feature, which on.push filters out: it ran nothing
    const mirror = path.join(server.data, 'git', 'polled.git');
    await eventually('the feature branch fetched', async () => (await exec('git', ['-C', mirror, 'rev-parse', 'refs/heads/feature'])).stdout.trim() === head);
    const { body } = await server.api<{ runs: Array<{ trigger: { event: string } }> }>('/api/runs?project=polled');
    assert.equal(body.runs.length, 2);
    assert.ok(body.runs.every((r) => r.trigger.event === 'poll'));
  } finally {
    await server.stop();
    repo.remove();
    rmSync(remoteDir, { recursive: true, force: true });
  }
});

test('--poll takes PROJECT=REMOTE', () => {
  assert.deepEqual(parsePollTarget('web=https://git.example.com/acme/web.git'), { project: 'web', remote: 'https://git.example.com/acme/web.git' });
  assert.throws(() => parsePollTarget('no-equals'), /PROJECT=REMOTE/);
  assert.throws(() => parsePollTarget('Bad Name=x'), /PROJECT=REMOTE/);
  assert.throws(() => parsePollTarget('web=--upload-pack=evil'), /PROJECT=REMOTE/);
});
