// A job attempt's signal: aborted when the run is cancelled or when the job's timeout passes,
// telling the two apart so the job can say which.
export interface AttemptDeadline {
  signal: AbortSignal;
  /** the abort came from the timeout, not from the run */
  isTimedOut(): boolean;
  dispose(): void;
}

class JobTimeout extends Error {}

export function attemptDeadline(run: AbortSignal, timeoutMs: number): AttemptDeadline {
  const controller = new AbortController();
  const onRunAbort = (): void => controller.abort(run.reason);
  if (run.aborted) controller.abort(run.reason);
  else run.addEventListener('abort', onRunAbort, { once: true });
  const timer = setTimeout(() => controller.abort(new JobTimeout()), timeoutMs);
  return {
    signal: controller.signal,
    isTimedOut: () => controller.signal.aborted && controller.signal.reason instanceof JobTimeout,
    dispose() {
      clearTimeout(timer);
      run.removeEventListener('abort', onRunAbort);
    },
  };
}
