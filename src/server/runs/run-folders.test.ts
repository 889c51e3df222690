import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runsRoot } from '../../engine/index.js';
import { KEPT_ARTIFACTS_MS, sweepRunFolders } from './run-folders.js';

async function runFolder(root: string, id: string): Promise<string> {
  const dir = path.join(root, id);
  await mkdir(path.join(dir, 'source'), { recursive: true });
  await mkdir(path.join(dir, 'artifacts', 'build'), { recursive: true });
  await writeFile(path.join(dir, 'source.tar'), 'tar');
  await writeFile(path.join(dir, 'artifacts', 'build', '0.tar'), 'artifact');
  return dir;
}

test('the sweep leaves the folders of unfinished runs (waiting for approval, queued, running on another replica) whole, and tidies finished ones', async () => {
  const data = await mkdtemp(path.join(os.tmpdir(), 'slipway-sweep-'));
  try {
    const root = runsRoot(data);
    const waiting = await runFolder(root, 'run-waiting');
    const failed = await runFolder(root, 'run-failed');
    const old = await runFolder(root, 'run-old');
    const past = new Date(Date.now() - KEPT_ARTIFACTS_MS - 60_000);
    await utimes(old, past, past);
    const unfinished = new Set(['run-waiting']);
    await sweepRunFolders(data, async (id) => unfinished.has(id));
    assert.deepEqual((await readdir(waiting)).sort(), ['artifacts', 'source', 'source.tar'], 'a waiting run keeps its workspace for its resumed execution');
    assert.deepEqual(await readdir(failed), ['artifacts'], 'a finished run keeps only its artifacts, for a re-run of its failed jobs');
    assert.deepEqual((await readdir(root)).sort(), ['run-failed', 'run-waiting'], 'artifacts past their keeping time go with their folder');
  } finally {
    await rm(data, { recursive: true, force: true });
  }
});
