// The revision history's view of every environment: what a server start reads to learn whether it
// deploys to kubernetes at all, without loading that target.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { RevisionStore } from './revisions.js';
import type { Revision } from './types.js';

test('environments and their newest revisions are listed; folders that are not valid names are skipped', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'slipway-revisions-'));
  try {
    const store = new RevisionStore(dir);
    // only what listing reads matters here; the rest of a revision is the targets' business
    const revision = (app: string, environment: string, target: Revision['target']) =>
      ({ app, environment, target, image: 'img', trigger: { by: 't', kind: 'deploy' }, createdAt: new Date(0).toISOString() }) as unknown as Omit<Revision, 'number'>;
    await store.append(revision('web', 'staging', 'docker'));
    await store.append(revision('web', 'staging', 'kubernetes'));
    await store.append(revision('api', 'prod', 'docker'));
    await mkdir(path.join(dir, 'deploy', 'web', 'empty'), { recursive: true });
    await mkdir(path.join(dir, 'deploy', '.hidden', 'x'), { recursive: true });
    await mkdir(path.join(dir, 'deploy', 'web', 'bad name'), { recursive: true });
    assert.deepEqual(await store.environments(), [
      { app: 'api', environment: 'prod' },
      { app: 'web', environment: 'empty' },
      { app: 'web', environment: 'staging' },
    ]);
    assert.deepEqual(await store.environments('web'), [{ app: 'web', environment: 'empty' }, { app: 'web', environment: 'staging' }], 'one app only');
    assert.deepEqual(await store.environments('bad name'), [], 'not a name: none');
    assert.deepEqual((await store.latestOfEach()).map((r) => [r.app, r.environment, r.number, r.target]), [
      ['api', 'prod', 1, 'docker'],
      ['web', 'staging', 2, 'kubernetes'],
    ]);
    assert.deepEqual(await new RevisionStore(path.join(dir, 'nothing')).environments(), [], 'no deploy folder yet');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
