// The server's run queue worker: claims queued runs from the store (never the same run twice,
// even across server replicas) while there is room, cancels them on request, and at start
// recovers what a killed server left running.
import { isFinishedRunState } from '../../store/types.js';
import { CancelRequest, executeClaimedRun, type RunExecutionOptions } from './execute.js';
import { decidedEvent } from './approvals.js';
import { RunHub } from './hub.js';
import { reapLeftovers, recentJobImages, recoverInterruptedRuns, recoverSilentReplicas } from './recovery.js';
import { sweepRunFolders } from './run-folders.js';

export interface RunnerOptions extends RunExecutionOptions {
  workerId: string;
  /** re-queue runs a killed server left running, instead of only marking them interrupted */
  retryInterrupted: boolean;
  /** a replica whose heartbeat is silent this long is gone: its runs are interrupted, its leftovers reaped */
  replicaTimeoutMs?: number;
}

const SWEEP_INTERVAL_MS = 3_600_000;
const POLL_INTERVAL_MS = 1000;
/** How often approvals past their timeout are looked for (a parked run has no engine to notice). */
const EXPIRY_INTERVAL_MS = 5000;
const REPLICA_TIMEOUT_MS = 120_000;
/** Beats per timeout: a replica is taken as gone only after missing this many in a row. */
const BEATS_PER_TIMEOUT = 8;

export class Runner {
  readonly hub = new RunHub();
  private readonly active = new Map<string, AbortController>();
  /** each run's execution here, until it has ended: the next claim of a run waits for the one before */
  private readonly executions = new Map<string, Promise<void>>();
  private stopped = false;
  private poller?: NodeJS.Timeout;
  private sweeper?: NodeJS.Timeout;
  private expirer?: NodeJS.Timeout;
  private heart?: NodeJS.Timeout;
  private claiming = false;
  private beating = false;

  constructor(private readonly options: RunnerOptions) {}

  get activeCount(): number {
    return this.active.size;
  }

  async start(): Promise<void> {
    const { store, logger } = this.options;
    // a replica that runs nothing (concurrency 0) leaves recovery to the ones that do
    if (this.options.concurrency === 0) return;
    // alive before claiming anything, so that no other replica takes this one's first run as orphaned
    await store.recordHeartbeat(this.options.workerId);
    await recoverInterruptedRuns(store, this.options.retryInterrupted, logger);
    await reapLeftovers(this.options.executor, logger);
    // the first push after a restart need not wait for a container: the images of recent runs
    this.options.executor.prewarm?.(await recentJobImages(store).catch(() => []));
    // a run not finished (queued, running here or on a replica sharing the data directory, waiting) still uses its folder
    const unfinished = async (runId: string): Promise<boolean> => {
      if (this.active.has(runId)) return true;
      const run = await store.getRun(runId);
      return run !== undefined && !isFinishedRunState(run.status);
    };
    const sweep = (): Promise<void> => sweepRunFolders(this.options.dataDir, unfinished).catch((err: unknown) => logger.warn(`runs folder: ${(err as Error).message}`));
    await sweep();
    this.sweeper = setInterval(() => void sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
    // other replicas may queue runs too: look now and then besides being woken
    this.poller = setInterval(() => this.wake(), POLL_INTERVAL_MS);
    this.poller.unref();
    this.expirer = setInterval(() => void this.expireApprovals(), EXPIRY_INTERVAL_MS);
    this.expirer.unref();
    this.heart = setInterval(() => void this.beat(), this.replicaTimeoutMs / BEATS_PER_TIMEOUT);
    this.heart.unref();
    this.wake();
  }

  private get replicaTimeoutMs(): number {
    return this.options.replicaTimeoutMs ?? REPLICA_TIMEOUT_MS;
  }

  /**
   * Says this replica is alive, then looks for replicas that stopped saying so — on any host, where
   * the start-up check can only judge processes of its own — and takes over what they left.
   */
  private async beat(): Promise<void> {
    if (this.beating || this.stopped) return;
    this.beating = true;
    const { store, logger, workerId } = this.options;
    try {
      await store.recordHeartbeat(workerId);
      const requeued = await recoverSilentReplicas(
        { store, executor: this.options.executor, logger },
        { self: workerId, silentSinceMs: Date.now() - this.replicaTimeoutMs, retry: this.options.retryInterrupted },
      );
      if (requeued > 0) this.wake();
    } catch (err) {
      logger.warn(`heartbeat: ${(err as Error).message}`);
    } finally {
      this.beating = false;
    }
  }

  /** Claims runs while there is room. */
  wake(): void {
    if (this.stopped || this.claiming) return;
    this.claiming = true;
    void (async () => {
      try {
        while (!this.stopped && this.active.size < this.options.concurrency) {
          const run = await this.options.store.claimNextRun(this.options.workerId);
          if (!run) break;
          const controller = new AbortController();
          this.active.set(run.id, controller);
          // a run approved the moment it parked is claimed again while its parked execution is
          // still closing (its last events recorded): the new one starts once that is over
          const previous = this.executions.get(run.id);
          const execution: Promise<void> = (async () => {
            await previous?.catch(() => undefined);
            await executeClaimedRun(this.options, this.hub, run, controller.signal);
          })().finally(() => {
            if (this.active.get(run.id) === controller) this.active.delete(run.id);
            if (this.executions.get(run.id) === execution) this.executions.delete(run.id);
            this.wake();
          });
          this.executions.set(run.id, execution);
        }
      } catch (err) {
        this.options.logger.warn(`claiming runs: ${(err as Error).message}`);
      } finally {
        this.claiming = false;
      }
    })();
  }

  /** Skips the manual jobs nobody approved in time; their parked runs go back to the queue to finish. */
  private async expireApprovals(): Promise<void> {
    try {
      if ((await this.options.store.expireApprovals(Date.now())) > 0) this.wake();
    } catch (err) {
      this.options.logger.warn(`expiring approvals: ${(err as Error).message}`);
    }
  }

  /** A job of `runId` was approved or rejected: its engine looks at once if it runs here, and a parked run is claimed. */
  decided(runId: string): void {
    this.hub.emit(decidedEvent(runId));
    this.wake();
  }

  /** Cancels a running run; true when it was running here. A `reason` is recorded as the run's. */
  cancel(runId: string, reason?: string): boolean {
    const controller = this.active.get(runId);
    if (!controller) return false;
    controller.abort(reason === undefined ? new Error('cancelled') : new CancelRequest(reason));
    return true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.poller) clearInterval(this.poller);
    if (this.sweeper) clearInterval(this.sweeper);
    if (this.expirer) clearInterval(this.expirer);
    if (this.heart) clearInterval(this.heart);
    for (const controller of this.active.values()) controller.abort(new Error('the server is stopping'));
    while (this.active.size > 0) await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
