// A run's folder under the data directory outlives the run only by its artifacts, and those only
// for KEPT_ARTIFACTS_MS, so that a re-run of the failed jobs can reuse what passed.
import path from 'node:path';
import { readdir, rm, stat } from 'node:fs/promises';
import { runsRoot } from '../../engine/index.js';

/** How long the artifacts of a run that did not pass are kept for a re-run of its failed jobs. */
export const KEPT_ARTIFACTS_MS = 7 * 24 * 3_600_000;

/** Removes a run's folder but for its artifacts (and the folder, if nothing else is left). */
export async function keepOnlyArtifacts(runDir: string): Promise<void> {
  const entries = await readdir(runDir).catch(() => [] as string[]);
  await Promise.all(entries.filter((name) => name !== 'artifacts').map((name) => rm(path.join(runDir, name), { recursive: true, force: true })));
  if (!entries.includes('artifacts')) await rm(runDir, { recursive: true, force: true });
}

/** Tidies a finished run's folder: all of it goes when the run passed; its artifacts stay (a while) when not, for a re-run of its failed jobs. */
export async function tidyRunFolder(runDir: string, passed: boolean): Promise<void> {
  if (passed) await rm(runDir, { recursive: true, force: true });
  else await keepOnlyArtifacts(runDir);
}

/**
 * What runs left in the data directory's runs/ folder: a killed server's whole folders lose all
 * but their artifacts, and artifacts kept longer than KEPT_ARTIFACTS_MS go. The folders of runs
 * not finished — running here or on a replica sharing the data directory, queued, or waiting for
 * an approval — are left as they are: their executions use them.
 */
export async function sweepRunFolders(dataDir: string, unfinished: (runId: string) => Promise<boolean>, now = Date.now()): Promise<void> {
  const root = runsRoot(dataDir);
  for (const name of await readdir(root).catch(() => [] as string[])) {
    if (await unfinished(name)) continue;
    const dir = path.join(root, name);
    const info = await stat(dir).catch(() => undefined);
    if (!info) continue;
    if (now - info.mtimeMs > KEPT_ARTIFACTS_MS) await rm(dir, { recursive: true, force: true });
    else await keepOnlyArtifacts(dir);
  }
}
