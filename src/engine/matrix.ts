// The combinations of a matrix job at run time: each runs as a job of its own, but they fail
// fast together (one failing cancels the others still pending or running, unless
// `fail-fast: false`) and read as one job in expressions (`jobs.test.result`) and skip reasons.
import type { Job, JobOutputs } from '../spec/model.js';
import { isTerminal, type JobStatus } from './events.js';

/** Per-job abort controllers, so that one combination can be stopped without the run. */
export class MatrixRun {
  private readonly siblings = new Map<string, Job[]>();
  private readonly controllers = new Map<string, AbortController>();
  private readonly cancelled = new Map<string, string>();

  constructor(jobs: readonly Job[]) {
    for (const job of jobs) {
      if (!job.matrix) continue;
      const group = this.siblings.get(job.matrix.base) ?? [];
      group.push(job);
      this.siblings.set(job.matrix.base, group);
    }
  }

  /** The signal a job's attempts run under: aborted with the run, or by fail-fast. */
  signalFor(job: Job, run: AbortSignal): AbortSignal {
    if (!job.matrix?.failFast) return run;
    const controller = new AbortController();
    this.controllers.set(job.name, controller);
    return AbortSignal.any([run, controller.signal]);
  }

  /** The job finished: its controller is not needed any more. */
  release(job: Job): void {
    this.controllers.delete(job.name);
  }

  /** Why the job was stopped by fail-fast, if it was. */
  cancelReasonOf(job: Job): string | undefined {
    return this.cancelled.get(job.name);
  }

  /**
   * A combination failed: with fail-fast, its siblings that have not finished are cancelled. The
   * running ones are aborted here and finish as cancelled by themselves; the run finishes the others.
   */
  failFast(job: Job, status: ReadonlyMap<string, JobStatus>): { reason: string; stopped: Job[] } | undefined {
    if (!job.matrix?.failFast) return undefined;
    const reason = `fail-fast: ${job.name} failed`;
    const stopped: Job[] = [];
    for (const sibling of this.siblings.get(job.matrix.base) ?? []) {
      const state = status.get(sibling.name);
      if (sibling === job || state === undefined || isTerminal(state) || this.cancelled.has(sibling.name)) continue;
      this.cancelled.set(sibling.name, reason);
      this.controllers.get(sibling.name)?.abort(new Error(reason));
      stopped.push(sibling);
    }
    return { reason, stopped };
  }

  /**
   * `jobs.<matrix job>.result` once its combinations finished: failure if one failed, else
   * cancelled if one was, else success if all passed, else skipped (a rejected manual one).
   */
  outputsOf(base: string, status: ReadonlyMap<string, JobStatus>): JobOutputs | undefined {
    const group = this.siblings.get(base);
    if (!group) return undefined;
    const states = group.map((job) => status.get(job.name) ?? 'pending');
    if (!states.every(isTerminal)) return undefined;
    const result = states.includes('failure') ? 'failure' : states.includes('cancelled') ? 'cancelled' : states.every((s) => s === 'success') ? 'success' : 'skipped';
    return { result };
  }
}

/**
 * Why needs that did not pass keep a job from running, a matrix job's combinations told once:
 * `needs test (node=18), which failed (and 3 more combinations of test did not pass)`.
 */
export function describeUnmetNeeds(byName: ReadonlyMap<string, Job>, unmet: readonly string[], describe: (need: string) => string): string {
  const parts: Array<{ need: string; more: number }> = [];
  const byBase = new Map<string, { need: string; more: number }>();
  for (const need of unmet) {
    const base = byName.get(need)?.matrix?.base;
    const seen = base !== undefined ? byBase.get(base) : undefined;
    if (seen) {
      seen.more++;
      continue;
    }
    const part = { need, more: 0 };
    if (base !== undefined) byBase.set(base, part);
    parts.push(part);
  }
  return parts
    .map(({ need, more }) => {
      const others = more > 0 ? ` (and ${more} more combination${more === 1 ? '' : 's'} of ${byName.get(need)?.matrix?.base ?? need} did not pass)` : '';
      return `needs ${need}, which ${describe(need)}${others}`;
    })
    .join('; ');
}
