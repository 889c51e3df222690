// A clock tests move by hand (the server's SchedulerClock): time stands still until `set` moves it,
// and what the code under test sleeps until is visible, so a test waits on that instead of sleeping.
import type { SchedulerClock } from '../../src/server/scheduler.js';

interface Sleeper {
  atMs: number;
  wake: () => void;
}

export class ManualClock implements SchedulerClock {
  private sleepers: Sleeper[] = [];

  constructor(private nowMs: number) {}

  now(): number {
    return this.nowMs;
  }

  sleepUntil(atMs: number, signal: AbortSignal): Promise<void> {
    if (atMs <= this.nowMs || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const sleeper: Sleeper = {
        atMs,
        wake: () => {
          this.sleepers = this.sleepers.filter((s) => s !== sleeper);
          signal.removeEventListener('abort', sleeper.wake);
          resolve();
        },
      };
      this.sleepers.push(sleeper);
      signal.addEventListener('abort', sleeper.wake, { once: true });
    });
  }

  /** Moves the time (forwards only) and wakes whoever sleeps until then. */
  set(atMs: number): void {
    if (atMs < this.nowMs) throw new Error(`the clock goes forwards only (${new Date(atMs).toISOString()} is before ${new Date(this.nowMs).toISOString()})`);
    this.nowMs = atMs;
    for (const sleeper of [...this.sleepers]) if (sleeper.atMs <= atMs) sleeper.wake();
  }

  /** The earliest time something sleeps until; undefined while nothing sleeps (it is busy, or not started). */
  get nextWakeMs(): number | undefined {
    return this.sleepers.length ? Math.min(...this.sleepers.map((s) => s.atMs)) : undefined;
  }
}
