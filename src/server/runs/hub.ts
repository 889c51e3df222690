// The in-process signal between the run recorder and its readers: SSE streams and the metrics.
import { EventEmitter } from 'node:events';

/** What the hub tells of every finished step (`step`), for the step duration metrics. */
export interface StepObservation {
  durationMs: number;
  outcome: 'success' | 'failure';
}

/**
 * Tells this process's SSE streams that a run has new log lines (`logs:<run>`) or ended
 * (`end:<run>`); they read the lines from the store themselves, at their own pace.
 */
export class RunHub extends EventEmitter {
  constructor() {
    super();
    // one listener per SSE client of a run
    this.setMaxListeners(0);
  }
}
