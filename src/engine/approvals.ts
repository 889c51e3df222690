// Manual jobs: a job with `when: manual` (or a deploy to a protected environment) waits for a
// person. The engine asks an ApprovalGate for each waiting job's decision; the server's gate reads
// decisions from its store and parks the run when nothing else can go on, the CLI's asks on the
// terminal. Without a gate a manual job is skipped with a hint.
import type { Job } from '../spec/model.js';

/** A job that waits for a decision. */
export interface WaitingJob {
  name: string;
  /** the environment a deploy job rolls out to: who may approve it depends on it */
  environment?: string;
  /** `approval.timeout`; undefined: it waits until someone decides */
  timeoutMs?: number;
  /** when it started waiting (ms since epoch) */
  sinceMs: number;
}

export type ApprovalDecision =
  | { kind: 'approved'; by: string; atMs: number }
  | { kind: 'rejected'; by: string; atMs: number; reason?: string }
  /** skipped without a person's no: the approval timed out, or nobody could be asked */
  | { kind: 'skip'; reason: string };

export interface ApprovalGate {
  /** The decision on a waiting job once there is one; undefined while nobody has decided. */
  decision(job: WaitingJob): Promise<ApprovalDecision | undefined>;
  /** Resolves when a decision may have come (a wake-up, or a poll interval), or on abort. */
  changed(signal: AbortSignal): Promise<void>;
  /**
   * Nothing else of the run can go on: hand it over to wait without holding a worker, a
   * container or a concurrency slot. False when a decision came meanwhile (the engine looks again).
   */
  park(waiting: readonly WaitingJob[]): Promise<boolean>;
}

/** The reason a job skipped by a decision gives, in its status and log. */
export function skipReasonOf(decision: Exclude<ApprovalDecision, { kind: 'approved' }>): string {
  if (decision.kind === 'skip') return decision.reason;
  return `rejected by ${decision.by}${decision.reason ? `: ${decision.reason}` : ''}`;
}

/** `72h`, `90m`, `45s`: how `approval.timeout` reads in reasons. */
export function formatWait(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Math.round(ms / 1000)}s`;
}

/** What ManualJobs tells the run it belongs to. */
export interface ManualJobsHooks {
  runId: string;
  gate?: ApprovalGate;
  log: (job: string, line: string) => void;
  /** the job now waits: the run reports it */
  onWaiting: (job: Job, wait: WaitingJob) => void;
  /** the job was approved: the run schedules it */
  onApproved: (job: Job) => void;
  /** the job will not run (rejected, timed out, nobody to ask, cancelled): the run finishes it as skipped or cancelled */
  onSkipped: (job: Job, reason: string) => void;
}

/** A run's manual jobs: which wait, which were approved, and the decisions the gate brings. */
export class ManualJobs {
  private readonly waiting = new Map<string, { job: Job; wait: WaitingJob }>();
  private readonly approved = new Set<string>();

  constructor(private readonly hooks: ManualJobsHooks) {}

  get count(): number {
    return this.waiting.size;
  }

  /** True when the job may start now: it is not manual, or it was approved. */
  mayStart(job: Job): boolean {
    return job.when !== 'manual' || this.approved.has(job.name);
  }

  /** A job that waited before the run was parked waits again, without being reported again. */
  resume(job: Job, sinceMs: number): void {
    this.waiting.set(job.name, { job, wait: waitingJobOf(job, sinceMs) });
  }

  /** The job's needs passed and its `if:` holds: it waits for a decision (or is skipped when nobody can give one). */
  wait(job: Job): void {
    if (!this.hooks.gate) {
      this.hooks.onSkipped(job, `waits for approval (when: manual); nobody here can approve it: run it with --approve ${shellWord(job.name)}`);
      return;
    }
    const wait = waitingJobOf(job, Date.now());
    this.waiting.set(job.name, { job, wait });
    this.hooks.onWaiting(job, wait);
    const until = wait.timeoutMs !== undefined ? ` within ${formatWait(wait.timeoutMs)}` : '';
    const where = wait.environment ? ` to deploy to ${wait.environment}` : '';
    this.hooks.log(job.name, `waits for approval${where}${until}: slipway approve ${this.hooks.runId} ${shellWord(job.name)} (or reject)`);
  }

  /** Applies the decisions made on waiting jobs; true when there was one. */
  async consult(): Promise<boolean> {
    const gate = this.hooks.gate;
    if (!gate) return false;
    let decided = false;
    for (const { job, wait } of [...this.waiting.values()]) {
      const decision = await gate.decision(wait);
      if (!decision || !this.waiting.delete(job.name)) continue;
      decided = true;
      if (decision.kind === 'approved') {
        this.approved.add(job.name);
        this.hooks.log(job.name, `approved by ${decision.by} at ${new Date(decision.atMs).toISOString()}`);
        this.hooks.onApproved(job);
      } else {
        const reason = skipReasonOf(decision);
        this.hooks.log(job.name, reason);
        this.hooks.onSkipped(job, reason);
      }
    }
    return decided;
  }

  /** Hands the run over to wait (see ApprovalGate.park). */
  park(): Promise<boolean> {
    return this.hooks.gate ? this.hooks.gate.park([...this.waiting.values()].map((w) => w.wait)) : Promise.resolve(false);
  }

  changed(signal: AbortSignal): Promise<void> {
    return this.hooks.gate ? this.hooks.gate.changed(signal) : Promise.resolve();
  }

  /** The job waits no more (fail-fast cancelled it); false when it was not waiting. */
  cancel(job: Job): boolean {
    return this.waiting.delete(job.name);
  }

  /** The run was cancelled: every waiting job, as they are. */
  cancelAll(): Job[] {
    const jobs = [...this.waiting.values()].map((w) => w.job);
    this.waiting.clear();
    return jobs;
  }
}

/** A job name as a shell reads it back: a matrix combination (`test (node=18)`) in single quotes. */
function shellWord(name: string): string {
  return /^[A-Za-z0-9_.-]+$/.test(name) ? name : `'${name.replace(/'/g, `'\\''`)}'`;
}

function waitingJobOf(job: Job, sinceMs: number): WaitingJob {
  return {
    name: job.name,
    ...(job.kind === 'deploy' ? { environment: job.deploy.environment } : {}),
    ...(job.approvalTimeoutMs !== undefined ? { timeoutMs: job.approvalTimeoutMs } : {}),
    sinceMs,
  };
}
