// `on.schedule` on the server: a loop that reads each project's schedules from the pipeline file of
// its default branch and, when a tick comes due, claims it in the store together with the run it
// starts — so with several replicas on one database each tick runs once. Time comes from a clock
// passed in, so tests move it instead of waiting for it.
import { gitMaybe } from '../git/index.js';
import { latestTick, nextTick, scheduleKey, schedulesOf, type Schedule } from '../spec/index.js';
import type { EnqueueRun, Project, Store } from '../store/types.js';
import { repositoryPath } from './repositories.js';
import type { PipelineSnapshot } from './runs/index.js';
import { PIPELINE_FILE, planCommitFile } from './triggers.js';
import { commitInfo } from './workspace.js';

/** The scheduler's time: the system's in production, a hand-moved one in tests. */
export interface SchedulerClock {
  /** ms since the epoch */
  now(): number;
  /** Resolves once now() has reached `atMs`, or at once when `signal` aborts. */
  sleepUntil(atMs: number, signal: AbortSignal): Promise<void>;
}

/** setTimeout takes at most this many ms (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export const systemClock: SchedulerClock = {
  now: () => Date.now(),
  sleepUntil(atMs, signal) {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.min(Math.max(0, atMs - Date.now()), MAX_TIMER_MS));
      // the HTTP server keeps the process alive; a pending tick must not
      timer.unref();
      signal.addEventListener('abort', done, { once: true });
    });
  },
};

/**
 * How often the pipeline files are read again: a pushed change to `on.schedule` takes effect
 * within this time, and a tick whose run could not be queued (git or the database failed) is tried again.
 */
export const SCHEDULE_REFRESH_MS = 60_000;

export interface SchedulerOptions {
  store: Store;
  reposDir: string;
  clock: SchedulerClock;
  /** a run was queued: the workers should look */
  onQueued: () => void;
  log: (message: string) => void;
}

/** A project's schedules, read from its default branch at `tip` (read again only when the tip moves). */
interface ProjectSchedules {
  tip: string;
  defaultBranch: string;
  schedules: Schedule[];
}

/** A schedule this process follows: ticks at or before `cursorMs` have been dealt with. */
interface Followed {
  projectId: string;
  key: string;
  schedule: Schedule;
  cursorMs: number;
}

export class Scheduler {
  private readonly abort = new AbortController();
  private loop?: Promise<void>;
  private readonly files = new Map<string, ProjectSchedules>();
  private readonly followed = new Map<string, Followed>();
  /** projects whose file this process has read: a schedule new to one of them was just pushed */
  private readonly known = new Set<string>();
  private lastRoundMs?: number;

  constructor(private readonly options: SchedulerOptions) {}

  start(): void {
    this.loop ??= this.runLoop();
  }

  /** Ends the loop; resolves once a round going on has finished, so the store may close after it. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  private async runLoop(): Promise<void> {
    const { clock, log } = this.options;
    const signal = this.abort.signal;
    while (!signal.aborted) {
      const nowMs = clock.now();
      let wakeMs = nowMs + SCHEDULE_REFRESH_MS;
      try {
        wakeMs = Math.min(wakeMs, await this.round(nowMs));
      } catch (err) {
        log(`schedules: ${(err as Error).message.slice(0, 300)}`);
      }
      if (signal.aborted) return;
      await clock.sleepUntil(wakeMs, signal);
    }
  }

  /** One look at every project at `nowMs`: due ticks claimed; returns when the next known tick is due. */
  async round(nowMs: number): Promise<number> {
    const since = this.lastRoundMs ?? nowMs;
    const isFirst = this.lastRoundMs === undefined;
    const alive = new Set<string>();
    let nextMs = Infinity;
    const projects = await this.options.store.listProjects();
    const listed = new Set(projects.map((p) => p.id));
    for (const id of this.files.keys()) if (!listed.has(id)) this.files.delete(id);
    for (const id of this.known) if (!listed.has(id)) this.known.delete(id);
    for (const project of projects) {
      if (this.abort.signal.aborted) break;
      try {
        const found = await this.readSchedules(project);
        for (const schedule of found?.schedules ?? []) {
          const followed = await this.follow(project.id, schedule, { isFirst, since, nowMs });
          if (alive.has(`${project.id} ${followed.key}`)) continue;
          alive.add(`${project.id} ${followed.key}`);
          await this.runDueTick(project, found!, followed, nowMs);
          nextMs = Math.min(nextMs, nextTick(schedule, Math.max(nowMs, followed.cursorMs)) ?? Infinity);
        }
        this.known.add(project.id);
      } catch (err) {
        // the project's schedules stay followed (their cursors unmoved): the next round tries again
        for (const [id, followed] of this.followed) if (followed.projectId === project.id) alive.add(id);
        this.options.log(`schedules of ${project.name}: ${(err as Error).message.trim().slice(0, 300)}`);
      }
    }
    // a schedule removed from its file (or its project deleted) is no longer followed
    for (const id of this.followed.keys()) if (!alive.has(id)) this.followed.delete(id);
    this.lastRoundMs = nowMs;
    return nextMs;
  }

  private async follow(projectId: string, schedule: Schedule, at: { isFirst: boolean; since: number; nowMs: number }): Promise<Followed> {
    const key = scheduleKey(schedule);
    const id = `${projectId} ${key}`;
    let followed = this.followed.get(id);
    if (!followed) {
      // A schedule new in a file this process read before was pushed since the last round: it counts
      // from then. Otherwise (the server starting) the store says which tick ran last: the newest
      // tick missed since runs once, whatever the number missed; a schedule never run waits for its next.
      const known = this.known.has(projectId);
      const last = known ? undefined : await this.options.store.lastScheduleTick(projectId, key);
      followed = { projectId, key, schedule, cursorMs: known ? at.since : (last ?? (at.isFirst ? at.nowMs : at.since)) };
      this.followed.set(id, followed);
    }
    followed.schedule = schedule;
    return followed;
  }

  private async runDueTick(project: Project, found: ProjectSchedules, followed: Followed, nowMs: number): Promise<void> {
    const dueMs = latestTick(followed.schedule, nowMs);
    // a throw leaves the cursor where it was: the tick is tried again next round
    if (dueMs !== undefined && dueMs > followed.cursorMs) await this.startRun(project, found, followed, dueMs);
    followed.cursorMs = Math.max(followed.cursorMs, nowMs);
  }

  /** The default branch and its schedules, or undefined when the repository has no commit on it. */
  private async readSchedules(project: Project): Promise<ProjectSchedules | undefined> {
    const repo = repositoryPath(this.options.reposDir, project.name);
    // one git call for the tip and the branch HEAD names; it fails for a missing repository or an unborn branch
    const head = (await gitMaybe(['rev-parse', 'HEAD', '--symbolic-full-name', 'HEAD'], { cwd: repo }))?.trim().split('\n');
    const [tip, ref] = head ?? [];
    if (!tip || !ref?.startsWith('refs/heads/')) return undefined;
    const cached = this.files.get(project.id);
    if (cached?.tip === tip && cached.defaultBranch === ref.slice('refs/heads/'.length)) return cached;
    const planned = await planCommitFile(repo, tip);
    const schedules = planned.kind === 'planned' && planned.pipeline ? schedulesOf(planned.pipeline) : [];
    if (planned.kind === 'planned' && planned.failure) this.options.log(`schedules of ${project.name}: ${PIPELINE_FILE} at ${tip.slice(0, 7)} is not valid, so no schedule runs: ${planned.failure.reason.slice(0, 300)}`);
    const read = { tip, defaultBranch: ref.slice('refs/heads/'.length), schedules };
    this.files.set(project.id, read);
    return read;
  }

  /** Claims the tick with a run of the schedule's branch tip; nothing when another replica claimed it first. */
  private async startRun(project: Project, found: ProjectSchedules, followed: Followed, dueMs: number): Promise<void> {
    const { store, reposDir, log } = this.options;
    const schedule = followed.schedule;
    const branch = schedule.branch ?? found.defaultBranch;
    const what = `schedule '${schedule.cron}' (${schedule.timezone}) of ${project.name}`;
    const repo = repositoryPath(reposDir, project.name);
    const tip = (await gitMaybe(['rev-parse', '--verify', '-q', '--end-of-options', `refs/heads/${branch}^{commit}`], { cwd: repo }))?.trim();
    if (!tip) return log(`${what}: no branch '${branch}' to run`);
    // the branch's own file runs, as a push of it would: the default branch's only names the schedules
    const planned = await planCommitFile(repo, tip);
    if (planned.kind === 'missing') return log(`${what}: no ${PIPELINE_FILE} at ${tip.slice(0, 7)} of ${branch}`);
    const info = await commitInfo(repo, tip);
    const snapshot: PipelineSnapshot = { file: PIPELINE_FILE, text: planned.text };
    const run: EnqueueRun = {
      projectId: project.id,
      pipeline: snapshot,
      trigger: { event: 'schedule', branch, commit: tip, commitMessage: info.message.slice(0, 2000), commitTimestampMs: info.timestampMs, sender: 'schedule' },
    };
    const failure = planned.failure;
    const stored = await store.transaction(async (tx) => {
      let queued = await tx.claimScheduleTick({ scheduleKey: followed.key, dueAtMs: dueMs, run });
      // a branch whose file cannot run still gets its run, failed at planning with the reasons, as a push does
      if (queued && failure) {
        await tx.appendLogs(queued.id, failure.lines.map((line) => ({ job: 'pipeline', stream: 'system' as const, line })));
        queued = await tx.updateRunStatus(queued.id, 'failure', { reason: failure.reason.slice(0, 2000) });
      }
      return queued;
    });
    if (!stored) return;
    log(`${what}: run #${stored.number} of ${branch} for the tick of ${new Date(dueMs).toISOString()}${failure ? ` failed at planning: ${failure.reason.slice(0, 300)}` : ''}`);
    if (!failure) this.options.onQueued();
  }
}
