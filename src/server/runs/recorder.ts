// Records one run as it goes: its events become job and step rows and an event log in the store,
// its log lines are written in batches, and the hub hears of both.
import type { RunEvent } from '../../engine/index.js';
import type { LogLineInput, Store } from '../../store/types.js';
import type { RunHub, StepObservation } from './hub.js';

const LOG_BATCH_LINES = 500;
const FLUSH_INTERVAL_MS = 100;

/** Writes one run's events and logs to the store in order, batching log lines. */
export class RunRecorder {
  private logs: LogLineInput[] = [];
  private chain: Promise<void> = Promise.resolve();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly store: Store,
    private readonly hub: RunHub,
    private readonly runId: string,
    private readonly log: (message: string) => void,
  ) {}

  private enqueue(work: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(work).catch((err: unknown) => this.log(`recording run ${this.runId}: ${(err as Error).message}`));
    return this.chain;
  }

  onEvent(event: RunEvent): void | Promise<void> {
    if (event.type === 'log') {
      this.logs.push({ job: event.job, ...(event.step !== undefined ? { step: event.step } : {}), stream: event.stream, line: event.line, atMs: event.at });
      if (this.logs.length >= LOG_BATCH_LINES) return this.flushLogs();
      this.timer ??= setTimeout(() => void this.flushLogs(), FLUSH_INTERVAL_MS);
      return undefined;
    }
    void this.flushLogs();
    const runId = this.runId;
    void this.enqueue(async () => {
      // a reused job's row, steps and outputs were copied from the run re-run: they stay as they were
      if (event.type === 'job.status' && !event.reused) {
        const finished = event.status !== 'running' && event.status !== 'pending' && event.status !== 'waiting';
        const approval = event.status === 'waiting'
          ? {
              approval: {
                ...(event.approval?.environment ? { environment: event.approval.environment } : {}),
                waitingSinceMs: event.at,
                ...(event.approval?.timeoutMs !== undefined ? { deadlineMs: event.at + event.approval.timeoutMs } : {}),
              },
            }
          : {};
        await this.store.upsertJob({
          runId,
          name: event.job,
          status: event.status,
          attempt: event.attempt,
          ...(event.reason ? { reason: event.reason } : {}),
          ...(event.status === 'running' ? { startedAtMs: event.at } : {}),
          ...(finished ? { finishedAtMs: event.at } : {}),
          ...(event.outputs ? { outputs: event.outputs } : {}),
          ...approval,
        });
      } else if (event.type === 'step.started') {
        await this.store.upsertStep({ runId, job: event.job, index: event.step, name: event.name, status: 'running', attempt: event.attempt, startedAtMs: event.at });
      } else if (event.type === 'step.finished') {
        await this.store.upsertStep({
          runId,
          job: event.job,
          index: event.step,
          name: event.name,
          status: event.exitCode === 0 ? 'success' : 'failure',
          attempt: event.attempt,
          exitCode: event.exitCode,
          finishedAtMs: event.at,
        });
        this.hub.emit('step', { durationMs: event.durationMs, outcome: event.exitCode === 0 ? 'success' : 'failure' } satisfies StepObservation);
      }
      await this.store.appendRunEvents(runId, [event]);
    });
    return undefined;
  }

  flushLogs(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.logs;
    this.logs = [];
    if (batch.length === 0) return this.chain;
    const runId = this.runId;
    return this.enqueue(async () => {
      await this.store.appendLogs(runId, batch);
      this.hub.emit(`logs:${runId}`);
    });
  }

  async close(): Promise<void> {
    await this.flushLogs();
    await this.chain;
  }
}
