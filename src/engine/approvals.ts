// Manual jobs: a job with `when: manual` (or a deploy to a protected environment) waits for a
// person. The engine asks an ApprovalGate for each waiting job's decision; the server's gate reads
// decisions from its store and parks the run when nothing else can go on, the CLI's asks on the
// terminal. Without a gate a manual job is skipped with a hint.

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
