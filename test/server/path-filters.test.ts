// Path filters on the server: a push whose changed files the file's on.push.paths does not name
// runs nothing (and says why to the pusher), one that touches them runs; a new branch is compared
// with the default branch; a refs/for pull request with on.pull_request.paths-ignore likewise.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { tempRepo } from '../support/repo.js';
import { testServer, type TestServer } from './support.js';

const exec = promisify(execFile);
let server: TestServer;
const repo = tempRepo({
  'slipway.yaml': `version: 1
name: filtered
on:
  push: { branches: ["**"], paths: ["src/**", slipway.yaml] }
  pull_request: { branches: [main], paths-ignore: ["docs/**"] }
jobs:
  check:
    image: busybox:latest
    steps:
      - run: echo checked
`,
  'src/app.js': 'one\n',
  'docs/readme.md': 'one\n',
});

before(async () => {
  server = await testServer();
});
after(async () => {
  await server.stop();
  repo.remove();
});

const runCount = async (): Promise<number> => (await server.api<{ runs: unknown[] }>('/api/runs?project=filtered')).body.runs.length;
/** git push to the server; what the server said (stderr's remote: lines) */
async function push(refspec: string): Promise<string> {
  const url = `${server.url.replace('http://', `http://t:${server.token}@`)}/git/filtered.git`;
  const { stderr } = await exec('git', ['push', '-q', url, refspec], { cwd: repo.dir });
  return stderr;
}

test('on.push.paths: a push that changes only other files runs nothing and says why; one that changes a named file runs', async () => {
  await push('main');
  assert.equal((await server.waitForRun('filtered', 1)).status, 'success', 'the first push (slipway.yaml is new) runs');

  repo.write('docs/readme.md', 'two\n');
  repo.commit('docs only');
  const said = await push('main');
  assert.match(said, /nothing to run \(on\.push\.paths: the one changed file \(docs\/readme\.md\) does not match\)/);
  assert.equal(await runCount(), 1, 'no run for a docs-only push');

  repo.write('src/app.js', 'two\n');
  repo.commit('code');
  await push('main');
  assert.equal((await server.waitForRun('filtered', 2)).status, 'success');

  // a new branch is compared with the default branch: docs only again
  await exec('git', ['checkout', '-q', '-b', 'docs-branch'], { cwd: repo.dir });
  repo.write('docs/other.md', 'x\n');
  repo.commit('docs on a branch');
  assert.match(await push('docs-branch'), /on\.push\.paths/);
  assert.equal(await runCount(), 2);
  await exec('git', ['checkout', '-q', 'main'], { cwd: repo.dir });
});

test('on.pull_request.paths-ignore: a refs/for pull request changing only docs runs nothing; one changing code runs', async () => {
  await exec('git', ['checkout', '-q', '-B', 'pr-docs', 'main'], { cwd: repo.dir });
  repo.write('docs/pr.md', 'x\n');
  repo.commit('docs in a pull request');
  assert.match(await push('HEAD:refs/for/main'), /on\.pull_request\.paths-ignore/);
  assert.equal(await runCount(), 2);

  repo.write('src/pr.js', 'x\n');
  repo.commit('code in a pull request');
  await push('HEAD:refs/for/main');
  const runs = (await server.api<{ runs: Array<{ number: number; trigger: { event: string } }> }>('/api/runs?project=filtered&event=pull_request')).body.runs;
  assert.equal(runs.length, 1);
  assert.equal((await server.waitForRun('filtered', runs[0]!.number)).status, 'success');
  await exec('git', ['checkout', '-q', 'main'], { cwd: repo.dir });
});
