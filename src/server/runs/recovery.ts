// What a starting server does about the runs a killed one left: marks them interrupted (or queues
// them again), removes their containers, networks and volumes, and warms the images runs use.
import { parsePipeline } from '../../spec/index.js';
import type { Executor } from '../../executors/index.js';
import { isOwnerAlive } from '../../executors/docker/labels.js';
import type { Store } from '../../store/types.js';
import { pipelineSnapshotOf } from './pipeline-snapshot.js';
import type { Logger } from '../logger.js';

/**
 * Marks the running runs of workers that are gone as interrupted, and queues them again when
 * `retry` says so. Only those: with several replicas on one database, the others' runs are theirs.
 * A worker is a process on a host; one on another host is judged by that host.
 */
export async function recoverInterruptedRuns(store: Store, retry: boolean, logger: Logger): Promise<void> {
  const deadWorkers = new Set<string>();
  let cursor: string | undefined;
  do {
    const page = await store.listRuns({ status: 'running', limit: 500, ...(cursor ? { cursor } : {}) });
    for (const run of page.runs) if (run.worker !== undefined && !isOwnerAlive(run.worker)) deadWorkers.add(run.worker);
    cursor = page.nextCursor;
  } while (cursor);
  const interrupted = (await Promise.all([...deadWorkers].map((worker) => store.markInterrupted('the server stopped while the run was going on', worker)))).flat();
  for (const run of interrupted) {
    logger.warn({ runId: run.id }, `run ${run.id} was interrupted by a server stop${retry ? '; queued again' : ''}`);
    if (retry) await store.requeueRun(run.id);
  }
}

/**
 * Takes the replicas whose heartbeat went silent (other than `self`) as gone: their running runs
 * become interrupted (queued again with `retry`) and what they left in the executor is removed.
 * Several replicas may find the same one at once; the store gives each run to one of them. Returns
 * how many runs were queued again.
 */
export async function recoverSilentReplicas(
  parts: { store: Store; executor: Executor; logger: Logger },
  options: { self: string; silentSinceMs: number; retry: boolean },
): Promise<number> {
  const { store, executor, logger } = parts;
  const silent = (await store.silentWorkers(options.silentSinceMs)).filter((worker) => worker !== options.self);
  if (silent.length === 0) return 0;
  let requeued = 0;
  for (const worker of silent) {
    const interrupted = await store.markInterrupted(`the server replica running it (${worker}) stopped answering`, worker);
    for (const run of interrupted) {
      logger.warn({ runId: run.id }, `run ${run.id} was interrupted: its server replica ${worker} went silent${options.retry ? '; queued again' : ''}`);
      if (options.retry) {
        await store.requeueRun(run.id);
        requeued++;
      }
    }
  }
  await reapLeftovers(executor, logger, new Set(silent));
  return requeued;
}

/** Removes what interrupted runs left in the executor: of dead processes on this host, and of `gone` replicas. */
export async function reapLeftovers(executor: Executor, logger: Logger, gone?: ReadonlySet<string>): Promise<void> {
  // leftovers are tidied, not state: a failure to remove one must not keep the server down
  const reaped = await executor.reapOrphans(gone).catch((err: unknown) => {
    logger.warn(`could not remove everything interrupted runs left (the next start tries again): ${(err as Error).message}`);
    return { containers: 0, networks: 0, volumes: 0 };
  });
  if (reaped.containers + reaped.networks + reaped.volumes > 0) {
    logger.info(`removed what interrupted runs left: ${reaped.containers} containers, ${reaped.networks} networks, ${reaped.volumes} volumes`);
  }
}

/** The images of the jobs (without services, named literally) of the newest runs, most used first. */
export async function recentJobImages(store: Store, runs = 20): Promise<string[]> {
  const counts = new Map<string, number>();
  for (const summary of (await store.listRuns({ limit: runs })).runs) {
    const run = await store.getRun(summary.id);
    const text = run ? pipelineSnapshotOf(run)?.text : undefined;
    if (text === undefined) continue;
    for (const job of parsePipeline(text, 'slipway.yaml').pipeline?.jobs ?? []) {
      if (job.kind !== 'steps' || job.services.length > 0 || !job.image.isLiteral) continue;
      counts.set(job.image.source, (counts.get(job.image.source) ?? 0) + 1);
    }
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([image]) => image);
}
