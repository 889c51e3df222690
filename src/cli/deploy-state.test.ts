// Where the CLI's deploy state lives, variable by variable, and the one-time move out of the old
// cache location (the files only: the agent's side is in test/deploy-docker/state-dir.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { deployStateDir, legacyDeployDir, moveLegacyDeployState, openDeployDataDir } from './deploy-state.js';
import { agentId, pathAgentId } from '../deploy/docker/labels.js';

test('the deploy data directory: SLIPWAY_STATE_DIR, else an explicit SLIPWAY_HOME, else $XDG_STATE_HOME/slipway, else ~/.local/state/slipway', () => {
  const home = os.homedir();
  assert.equal(deployStateDir({}), path.join(home, '.local', 'state', 'slipway', 'deploy'));
  assert.equal(deployStateDir({ XDG_STATE_HOME: '/x/state' }), '/x/state/slipway/deploy');
  assert.equal(deployStateDir({ XDG_STATE_HOME: 'relative' }), path.join(home, '.local', 'state', 'slipway', 'deploy'), 'a relative XDG value is ignored, as the spec says');
  assert.equal(deployStateDir({ XDG_STATE_HOME: '/x/state', SLIPWAY_HOME: '/h' }), '/h/deploy', 'a home set on purpose keeps its deploy state');
  assert.equal(deployStateDir({ XDG_STATE_HOME: '/x/state', SLIPWAY_HOME: '/h', SLIPWAY_STATE_DIR: '/s' }), '/s/deploy');
  assert.equal(legacyDeployDir({ XDG_CACHE_HOME: '/x/cache' }), '/x/cache/slipway/deploy');
});

test('state in the old cache location moves once, keeping the agent id its replicas are labelled with, and says so', async () => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'slipway-state-unit-'));
  try {
    const env = { XDG_CACHE_HOME: path.join(root, 'cache'), XDG_STATE_HOME: path.join(root, 'state') };
    const old = legacyDeployDir(env);
    await mkdir(path.join(old, 'deploy', 'web', 'production'), { recursive: true });
    await writeFile(path.join(old, 'agent-state.json'), '{"version":1,"environments":[]}');
    await writeFile(path.join(old, 'deploy', 'web', 'production', 'revisions.json'), '[]');
    const stderr = new PassThrough();
    let said = '';
    stderr.on('data', (chunk: Buffer) => (said += chunk.toString()));

    const dir = await openDeployDataDir(undefined, { env, cwd: root, stderr });
    assert.equal(dir, path.join(root, 'state', 'slipway', 'deploy'));
    assert.ok(existsSync(path.join(dir, 'agent-state.json')) && existsSync(path.join(dir, 'deploy', 'web', 'production', 'revisions.json')));
    assert.ok(!existsSync(old));
    assert.equal((await readFile(path.join(dir, 'agent-id'), 'utf8')).trim(), pathAgentId(old));
    assert.equal(agentId(dir), pathAgentId(old), 'the agent of the new place labels and adopts as the old one did');
    assert.match(said, new RegExp(`moved the deploy state .* from ${old} to ${dir}`));

    // both exist: nothing is merged, and the user is told the old one is unused
    await mkdir(old, { recursive: true });
    await writeFile(path.join(old, 'agent-state.json'), '{}');
    said = '';
    await moveLegacyDeployState(old, dir, stderr);
    assert.match(said, /still holds deploy state from an earlier release, which is not used/);
    assert.equal(await readFile(path.join(dir, 'agent-state.json'), 'utf8'), '{"version":1,"environments":[]}');

    // --data is taken as given, and moves nothing
    said = '';
    assert.equal(await openDeployDataDir('here', { env, cwd: root, stderr }), path.join(root, 'here'));
    assert.equal(said, '');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
