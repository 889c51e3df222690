// What a Run reports while it goes on. The CLI renders these as a tree or as plain lines; the
// server will persist and stream them. Events carry no secret: log lines are masked before.

export type JobStatus = 'pending' | 'waiting' | 'running' | 'success' | 'failure' | 'skipped' | 'cancelled';
/** `waiting`: nothing runs and the jobs left wait for a person's approval; the run resumes after a decision */
export type RunStatus = 'running' | 'waiting' | 'success' | 'failure' | 'cancelled';

export interface JobPlanView {
  name: string;
  kind: 'steps' | 'build' | 'deploy';
  needs: string[];
  steps: string[];
  /** a combination of a matrix job: the job's name in the file and this combination's values */
  matrix?: { job: string; values: Record<string, string> };
}

export type RunEvent =
  | { type: 'run.started'; runId: string; pipeline: string; branch: string; commit: string; jobs: JobPlanView[]; at: number }
  | {
      type: 'job.status';
      job: string;
      status: JobStatus;
      attempt: number;
      reason?: string;
      durationMs?: number;
      /** with a success: what later jobs read through jobs.<name>.* (image digests, …) */
      outputs?: Record<string, string>;
      /** taken as passed from the run a re-run repeats, not run again */
      reused?: true;
      /** with `waiting`: what the job waits for */
      approval?: { environment?: string; timeoutMs?: number };
      at: number;
    }
  | { type: 'step.started'; job: string; step: number; name: string; attempt: number; at: number }
  | { type: 'step.finished'; job: string; step: number; name: string; attempt: number; exitCode: number; durationMs: number; at: number }
  | { type: 'log'; job: string; step?: number; stream: 'stdout' | 'stderr' | 'system'; line: string; at: number }
  | { type: 'run.finished'; runId: string; status: RunStatus; durationMs: number; at: number };

/** May return a promise when its own output is full: log streams wait for it (backpressure). */
export type RunEventListener = (event: RunEvent) => void | Promise<void>;

export const isTerminal = (status: JobStatus): boolean =>
  status === 'success' || status === 'failure' || status === 'skipped' || status === 'cancelled';
