// Where the CLI keeps its deploy state: under $XDG_STATE_HOME/slipway/deploy (SLIPWAY_STATE_DIR
// moves it), not in the cache directory a user may clear — and state an earlier release left in
// the cache directory is moved there once, its environment still served by the same replicas.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { slipwayBin } from '../support/paths.js';
import { buildImages, containersOf, IMAGES, removeDeployments } from './support.js';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI with a home of its own: XDG directories in `root`, none of the variables that would override them. */
function slipway(root: string, args: string[], extra: Record<string, string> = {}): Promise<Result> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', XDG_STATE_HOME: path.join(root, 'state'), XDG_CACHE_HOME: path.join(root, 'cache'), ...extra };
  for (const name of ['SLIPWAY_HOME', 'SLIPWAY_STATE_DIR', 'SLIPWAY_URL']) if (!(name in extra)) delete env[name];
  return new Promise((resolve) => {
    execFile(process.execPath, [slipwayBin, ...args], { cwd: root, env }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const fast = ['--health-path', '/healthz', '--health-interval', '200ms'];

describe('the deploy state directory', { timeout: 180_000 }, () => {
  const roots: string[] = [];
  const root = async (): Promise<string> => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'slipway-state-'));
    roots.push(dir);
    return dir;
  };
  after(async () => {
    for (const dir of roots) {
      for (const data of [path.join(dir, 'state', 'slipway', 'deploy'), path.join(dir, 'cache', 'slipway', 'deploy')]) await removeDeployments(data);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('without --data the agent state and revisions land under $XDG_STATE_HOME/slipway/deploy, and SLIPWAY_STATE_DIR names the same place', async () => {
    const [dir] = await Promise.all([root(), buildImages()]);
    const deployed = await slipway(dir, ['deploy', 'staging', '--app', 'xdg', '--image', IMAGES.v1, ...fast]);
    assert.equal(deployed.code, 0, deployed.stderr);
    const state = path.join(dir, 'state', 'slipway', 'deploy');
    assert.ok(existsSync(path.join(state, 'agent-state.json')), 'agent-state.json under XDG_STATE_HOME');
    assert.ok(existsSync(path.join(state, 'deploy', 'xdg', 'staging', 'revisions.json')), 'the revision history beside it');
    assert.ok(!existsSync(path.join(dir, 'cache', 'slipway', 'deploy')), 'nothing in the cache directory');

    const history = await slipway(dir, ['history', 'xdg', '--env', 'staging'], { SLIPWAY_STATE_DIR: path.join(dir, 'state', 'slipway') });
    assert.equal(history.code, 0, history.stderr);
    assert.match(history.stdout, /^1\s+\S+:v1\s+deploy by/m);
  });

  it("state an earlier release left in the cache directory moves once to the state directory, and its agent adopts the same replicas there", async () => {
    const [dir] = await Promise.all([root(), buildImages()]);
    const old = path.join(dir, 'cache', 'slipway', 'deploy');
    const state = path.join(dir, 'state', 'slipway', 'deploy');
    // what an earlier release did: the deploy data in $XDG_CACHE_HOME/slipway/deploy, its agent running
    const deployed = await slipway(dir, ['deploy', 'staging', '--app', 'moved', '--image', IMAGES.v1, ...fast, '--data', old]);
    assert.equal(deployed.code, 0, deployed.stderr);
    const replicas = (await containersOf(old)).map((c) => c.id);
    assert.equal(replicas.length, 1);

    const status = await slipway(dir, ['status']);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stderr, new RegExp(`moved the deploy state \\(environments, revision history, agent\\) from ${old} to ${state}`));
    // the new agent checked the replica it adopted before it answered: healthy at once, not `down 0/1`
    assert.match(status.stdout, /moved\s+staging\s+1\s+\S+:v1\s+healthy\s+1\/1/);
    assert.ok(!existsSync(old), 'the old directory is gone');
    assert.ok(existsSync(path.join(state, 'agent-state.json')));
    assert.match(await readFile(path.join(state, 'agent-id'), 'utf8'), /^[a-f0-9]{12}\n$/);
    const adopted = await containersOf(state);
    assert.deepEqual(adopted.map((c) => c.id), replicas, 'the same replica, adopted rather than replaced');
    assert.ok(adopted.every((c) => c.state === 'running'));

    const again = await slipway(dir, ['deploy', 'staging', '--app', 'moved', '--image', IMAGES.v1, ...fast]);
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stderr, /moved the deploy state/, 'only once');
    assert.match(again.stdout, /revision 1 already runs this image and config/, 'the history came along');
  });
});
