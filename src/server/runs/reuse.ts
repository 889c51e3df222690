// A re-run of a failed run's failed jobs: the jobs that passed are not run again; their outputs
// are taken from the store and their artifacts linked from the run they passed in.
import { copyFile, link, mkdir } from 'node:fs/promises';
import type { Pipeline } from '../../spec/index.js';
import { RunStorage, type RunEvent, type RunOptions } from '../../engine/index.js';
import type { Store } from '../../store/types.js';

export type ReusedJobs = NonNullable<RunOptions['reuse']>;

export interface ReuseInput {
  store: Store;
  dataDir: string;
  runId: string;
  fromRunId: string;
  pipeline: Pipeline;
  storage: RunStorage;
  /** where a job that must run again after all says why, in its log */
  onEvent: (event: RunEvent) => void | Promise<void>;
}

/**
 * The jobs of a failed-jobs re-run that passed in the run it repeats, with their outputs; their
 * artifacts are linked into this run's storage. A job whose artifacts are gone runs again.
 */
export async function reusedJobs(input: ReuseInput): Promise<{ fromRunId: string; jobs: Map<string, Record<string, string>> } | undefined> {
  const { fromRunId, pipeline, storage } = input;
  const detail = await input.store.getRunDetail(input.runId);
  const copied = (detail?.jobs ?? []).filter((job) => job.reused && job.status === 'success');
  if (copied.length === 0) return undefined;
  const from = new RunStorage(input.dataDir, fromRunId);
  const jobs = new Map<string, Record<string, string>>();
  for (const job of copied) {
    const spec = pipeline.jobs.find((j) => j.name === job.name);
    if (!spec) continue;
    if (spec.kind === 'steps' && spec.artifacts.length > 0) {
      const linked = await linkArtifacts(from, storage, job.name, spec.artifacts.length);
      if (!linked) {
        await input.onEvent({ type: 'log', job: job.name, stream: 'system', line: `the artifacts of ${job.name} from run ${fromRunId} are gone; it runs again`, at: Date.now() });
        continue;
      }
    }
    const outputs = Object.fromEntries(Object.entries(job.outputs ?? {}).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
    jobs.set(job.name, outputs);
  }
  return { fromRunId, jobs };
}

/** Hard-links (or copies) a job's `count` artifact tars from one run's storage into another's; false when one is missing. */
async function linkArtifacts(from: RunStorage, to: RunStorage, job: string, count: number): Promise<boolean> {
  await mkdir(to.artifactDir(job), { recursive: true });
  for (let index = 0; index < count; index++) {
    const [source, target] = [from.artifactPath(job, index), to.artifactPath(job, index)];
    try {
      await link(source, target).catch(async (err: NodeJS.ErrnoException) => {
        if (err.code === 'EXDEV' || err.code === 'EPERM') await copyFile(source, target);
        else throw err;
      });
    } catch {
      return false;
    }
  }
  return true;
}
