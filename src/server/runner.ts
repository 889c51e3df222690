// The server's run queue worker: claims queued runs from the store (never the same run twice,
// even across server replicas), runs them with the engine on the commit that was pushed, and
// records every job, step, log line and event as it happens. At start it marks what a killed
// server left running as interrupted and reaps its containers.
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { copyFile, link, mkdir, readdir, rm } from 'node:fs/promises';
import { parsePipeline, formatDiagnostic, type Pipeline } from '../spec/index.js';
import { executeRun, RunStorage, runsRoot, type RunEvent } from '../engine/index.js';
import type { Executor } from '../executors/index.js';
import { isOwnerAlive } from '../executors/docker/labels.js';
import type { ImageBuilder } from '../build/index.js';
import type { RegistryTarget } from '../engine/build-runner.js';
import type { DeployTargets } from '../engine/deploy-runner.js';
import type { DeployOutcome } from '../deploy/index.js';
import type { LogLineInput, Run, Store } from '../store/types.js';
import { createBareRepository, repositoryPath } from './git.js';
import { reportCommitStatus, type CommitState } from './commit-status.js';
import { readFileAtCommit, snapshotCommit } from './workspace.js';
import { isBranchTriggered, isTagTriggered } from '../spec/index.js';
import { stat } from 'node:fs/promises';
import { fetchFromRemote, gitMaybe } from '../git/index.js';

/**
 * What the store keeps of a run's pipeline: the file as it was at the commit; or, for a webhook
 * run accepted before its commit was fetched, where to fetch it from.
 */
export interface PipelineSnapshot {
  file: string;
  text?: string;
  remote?: string;
  ref?: string;
  /** webhook runs: the forge repository (owner/name) commit statuses are reported to */
  repository?: string;
  provider?: 'github' | 'gitea' | 'gitlab';
}

export interface RunnerOptions {
  store: Store;
  dataDir: string;
  reposDir: string;
  executor: Executor;
  builder?: ImageBuilder;
  registry?: RegistryTarget;
  deployTargets?: DeployTargets;
  concurrency: number;
  workerId: string;
  /** re-queue runs a killed server left running, instead of only marking them interrupted */
  retryInterrupted: boolean;
  /** this server's URL, for links back to runs */
  publicUrl?: string;
  log: (message: string) => void;
}

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

const LOG_BATCH_LINES = 500;
const FLUSH_INTERVAL_MS = 100;

/** Writes one run's events and logs to the store in order, batching log lines. */
class RunRecorder {
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
        const finished = event.status !== 'running' && event.status !== 'pending';
        await this.store.upsertJob({
          runId,
          name: event.job,
          status: event.status,
          attempt: event.attempt,
          ...(event.reason ? { reason: event.reason } : {}),
          ...(event.status === 'running' ? { startedAtMs: event.at } : {}),
          ...(finished ? { finishedAtMs: event.at } : {}),
          ...(event.outputs ? { outputs: event.outputs } : {}),
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

export class Runner {
  readonly hub = new RunHub();
  private readonly active = new Map<string, AbortController>();
  private stopped = false;
  private poller?: NodeJS.Timeout;
  private sweeper?: NodeJS.Timeout;
  private claiming = false;

  constructor(private readonly options: RunnerOptions) {}

  get activeCount(): number {
    return this.active.size;
  }

  async start(): Promise<void> {
    const { store, log } = this.options;
    // a replica that runs nothing (concurrency 0) leaves recovery to the ones that do
    if (this.options.concurrency === 0) return;
    // Only runs of workers that are gone: with several replicas on one database, the others' runs
    // are theirs. A worker is a process on a host; one on another host is judged by that host.
    const deadWorkers = new Set<string>();
    let cursor: string | undefined;
    do {
      const page = await store.listRuns({ status: 'running', limit: 500, ...(cursor ? { cursor } : {}) });
      for (const run of page.runs) if (run.worker !== undefined && !isOwnerAlive(run.worker)) deadWorkers.add(run.worker);
      cursor = page.nextCursor;
    } while (cursor);
    const interrupted = (await Promise.all([...deadWorkers].map((worker) => store.markInterrupted('the server stopped while the run was going on', worker)))).flat();
    for (const run of interrupted) {
      log(`run ${run.id} was interrupted by a server stop`);
      if (this.options.retryInterrupted) await store.requeueRun(run.id);
    }
    // leftovers are tidied, not state: a failure to remove one must not keep the server down
    const reaped = await this.options.executor.reapOrphans().catch((err: unknown) => {
      log(`could not remove everything interrupted runs left (the next start tries again): ${(err as Error).message}`);
      return { containers: 0, networks: 0, volumes: 0 };
    });
    if (reaped.containers + reaped.networks + reaped.volumes > 0) {
      log(`removed what interrupted runs left: ${reaped.containers} containers, ${reaped.networks} networks, ${reaped.volumes} volumes`);
    }
    // the first push after a restart need not wait for a container: the images of recent runs
    this.options.executor.prewarm?.(await recentJobImages(store).catch(() => []));
    const sweep = (): Promise<void> => sweepRunFolders(this.options.dataDir, new Set(this.active.keys())).catch((err: unknown) => log(`runs folder: ${(err as Error).message}`));
    await sweep();
    this.sweeper = setInterval(() => void sweep(), 3_600_000);
    this.sweeper.unref();
    // other replicas may queue runs too: look now and then besides being woken
    this.poller = setInterval(() => this.wake(), 1000);
    this.poller.unref();
    this.wake();
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
          void this.execute(run, controller.signal).finally(() => {
            this.active.delete(run.id);
            this.wake();
          });
        }
      } catch (err) {
        this.options.log(`claiming runs: ${(err as Error).message}`);
      } finally {
        this.claiming = false;
      }
    })();
  }

  /** Cancels a running run; true when it was running here. */
  cancel(runId: string): boolean {
    const controller = this.active.get(runId);
    if (!controller) return false;
    controller.abort(new Error('cancelled'));
    return true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.poller) clearInterval(this.poller);
    if (this.sweeper) clearInterval(this.sweeper);
    for (const controller of this.active.values()) controller.abort(new Error('the server is stopping'));
    while (this.active.size > 0) await new Promise((resolve) => setTimeout(resolve, 50));
  }

  private async fetchPipeline(repo: string, project: string, run: Run, snapshot: PipelineSnapshot): Promise<string | undefined> {
    const exists = await stat(repo).then(
      () => true,
      () => false,
    );
    if (!exists) await createBareRepository(this.options.reposDir, project);
    return fetchWebhookPipeline(this.options.store, repo, run, snapshot);
  }

  /** Reports this run's state to the forge its webhook came from, when the project asks for it. */
  private async commitStatusReporter(
    projectId: string,
    settings: { provider: 'github' | 'gitea' | 'gitlab'; apiUrl?: string } | undefined,
    snapshot: PipelineSnapshot,
    run: Run,
  ): Promise<(state: CommitState, description: string) => Promise<void>> {
    const token = settings && snapshot.repository ? await this.options.store.getCommitStatusToken(projectId) : undefined;
    if (!settings || !snapshot.repository || !token || (snapshot.provider && snapshot.provider !== settings.provider)) return async () => undefined;
    const target = { provider: settings.provider, token, repository: snapshot.repository, ...(settings.apiUrl ? { apiUrl: settings.apiUrl } : {}) };
    const targetUrl = this.options.publicUrl ? `${this.options.publicUrl}/api/runs/${run.id}` : undefined;
    return async (state, description) => {
      try {
        await reportCommitStatus(target, { commit: run.trigger.commit, state, description: `Slipway: ${description}`, ...(targetUrl ? { targetUrl } : {}) });
      } catch (err) {
        this.options.log(`run ${run.id}: commit status not reported: ${(err as Error).message}`);
      }
    };
  }

  /**
   * The jobs of a failed-jobs re-run that passed in the run it repeats, with their outputs; their
   * artifacts are linked into this run's storage. A job whose artifacts are gone runs again.
   */
  private async reusedJobs(
    runId: string,
    fromRunId: string,
    pipeline: Pipeline,
    storage: RunStorage,
    recorder: RunRecorder,
  ): Promise<{ fromRunId: string; jobs: Map<string, Record<string, string>> } | undefined> {
    const detail = await this.options.store.getRunDetail(runId);
    const copied = (detail?.jobs ?? []).filter((job) => job.reused && job.status === 'success');
    if (copied.length === 0) return undefined;
    const from = new RunStorage(this.options.dataDir, fromRunId);
    const jobs = new Map<string, Record<string, string>>();
    for (const job of copied) {
      const spec = pipeline.jobs.find((j) => j.name === job.name);
      if (!spec) continue;
      if (spec.kind === 'steps' && spec.artifacts.length > 0) {
        const linked = await linkArtifacts(from, storage, job.name, spec.artifacts.length);
        if (!linked) {
          await recorder.onEvent({ type: 'log', job: job.name, stream: 'system', line: `the artifacts of ${job.name} from run ${fromRunId} are gone; it runs again`, at: Date.now() });
          continue;
        }
      }
      const outputs = Object.fromEntries(Object.entries(job.outputs ?? {}).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
      jobs.set(job.name, outputs);
    }
    return { fromRunId, jobs };
  }

  private async execute(run: Run, signal: AbortSignal): Promise<void> {
    const { store, log } = this.options;
    const recorder = new RunRecorder(store, this.hub, run.id, log);
    const storage = new RunStorage(this.options.dataDir, run.id);
    let passed = false;
    try {
      const project = await store.getProject(run.projectId);
      if (!project) throw new Error(`project ${run.projectId} is gone`);
      const snapshot = run.pipeline as PipelineSnapshot;
      const repo = repositoryPath(this.options.reposDir, project.name);
      let text = snapshot.text;
      if (text === undefined) {
        text = await this.fetchPipeline(repo, project.name, run, snapshot);
        if (text === undefined) return;
      }
      const report = await this.commitStatusReporter(project.id, project.commitStatus, snapshot, run);
      await report('pending', 'running');
      const loaded = parsePipeline(text, snapshot.file);
      if (!loaded.pipeline) {
        await report('failure', `${snapshot.file} is not valid`);
        const problems = loaded.diagnostics.map(formatDiagnostic);
        await store.appendLogs(run.id, problems.map((line) => ({ job: 'pipeline', stream: 'system' as const, line })));
        await store.updateRunStatus(run.id, 'failure', { reason: `${snapshot.file} is not valid: ${problems[0] ?? ''}` });
        return;
      }
      const secrets: Record<string, string> = {};
      for (const name of loaded.pipeline.secrets) {
        const value = await store.getSecret(project.id, name);
        if (value !== undefined) secrets[name] = value;
      }
      await storage.prepare();
      const readsFiles = loaded.pipeline.jobs.some(
        (job) => (job.kind === 'steps' && job.cache !== undefined) || (job.kind === 'deploy' && job.deploy.kubernetes?.manifests !== undefined),
      );
      const source = await snapshotCommit(repo, run.trigger.commit, run.trigger.branch, storage.runDir, readsFiles);
      const reuse = run.rerunOf ? await this.reusedJobs(run.id, run.rerunOf, loaded.pipeline, storage, recorder) : undefined;
      const result = await executeRun({
        runId: run.id,
        pipeline: loaded.pipeline,
        trigger: { event: run.trigger.event === 'webhook' || run.trigger.event === 'poll' ? 'push' : run.trigger.event === 'push' ? 'push' : 'manual', branch: run.trigger.branch, commit: run.trigger.commit },
        source,
        executor: this.options.executor,
        storage,
        secrets,
        envOverrides: {},
        concurrency: Math.max(1, this.options.concurrency),
        ...(this.options.builder ? { builder: this.options.builder } : {}),
        ...(this.options.registry ? { registry: this.options.registry } : {}),
        ...(this.options.deployTargets ? { deployTargets: recordingTargets(this.options.deployTargets, store, run, log) } : {}),
        ...(reuse ? { reuse } : {}),
        signal,
        onEvent: (event) => recorder.onEvent(event),
      });
      passed = result.status === 'success';
      await recorder.close();
      const reason = result.jobs.find((j) => j.status === 'failure')?.reason;
      await store.updateRunStatus(run.id, result.status, reason ? { reason } : {});
      await report(result.status === 'success' ? 'success' : 'failure', result.status === 'success' ? 'passed' : (reason ?? result.status));
    } catch (err) {
      await recorder.close();
      log(`run ${run.id} failed to run: ${(err as Error).stack ?? String(err)}`);
      await store
        .updateRunStatus(run.id, signal.aborted ? 'cancelled' : 'failure', { reason: signal.aborted ? 'cancelled' : `the server could not run it: ${(err as Error).message}` })
        .catch(() => undefined);
    } finally {
      // the artifacts of a run that did not pass stay (a while), for a re-run of its failed jobs
      if (passed) await rm(storage.runDir, { recursive: true, force: true });
      else await keepOnlyArtifacts(storage.runDir);
      this.hub.emit(`end:${run.id}`);
    }
  }
}

/**
 * A webhook run: fetches its commit from the remote into the project's repository, then applies
 * the `on.push` filter of the file found there. Returns the file, or undefined when the run ended.
 */
async function fetchWebhookPipeline(store: Store, repo: string, run: Run, snapshot: PipelineSnapshot): Promise<string | undefined> {
  const commit = run.trigger.commit;
  if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(commit)) {
    await store.updateRunStatus(run.id, 'failure', { reason: `'${commit.slice(0, 80)}' is not a commit id` });
    return undefined;
  }
  const present = (await gitMaybe(['cat-file', '-e', `${commit}^{commit}`], { cwd: repo })) !== undefined;
  if (!present) {
    if (!snapshot.remote) {
      await store.updateRunStatus(run.id, 'failure', { reason: `commit ${commit} is not in the project's repository and the webhook named no clone URL` });
      return undefined;
    }
    try {
      // the URL and ref were checked when the delivery was accepted; fetchFromRemote checks again
      await fetchFromRemote(repo, snapshot.remote, snapshot.ref ?? commit);
    } catch (err) {
      await store.updateRunStatus(run.id, 'failure', { reason: `fetching ${snapshot.ref ?? commit} from ${snapshot.remote} failed: ${(err as Error).message.trim().slice(-500)}` });
      return undefined;
    }
  }
  const text = await readFileAtCommit(repo, commit, snapshot.file);
  if (text === undefined) {
    await store.updateRunStatus(run.id, 'failure', { reason: `there is no ${snapshot.file} at ${commit.slice(0, 7)}` });
    return undefined;
  }
  const loaded = parsePipeline(text, snapshot.file);
  const isTag = snapshot.ref?.startsWith('refs/tags/') ?? false;
  if (loaded.pipeline && !(isTag ? isTagTriggered(loaded.pipeline, run.trigger.branch) : isBranchTriggered(loaded.pipeline, run.trigger.branch))) {
    await store.updateRunStatus(run.id, 'cancelled', { reason: `on.push does not ask for ${isTag ? 'tag' : 'branch'} ${run.trigger.branch}` });
    return undefined;
  }
  return text;
}

/**
 * The run's deploy targets, each rollout also recorded in the store: the server's history of
 * revisions that the API and the DORA metrics read (the targets keep their own for rollbacks).
 */
function recordingTargets(targets: DeployTargets, store: Store, run: Run, log: (message: string) => void): DeployTargets {
  return async (name) => {
    const target = await targets(name);
    return {
      name: target.name,
      history: (app, environment) => target.history(app, environment),
      status: (app, environment) => target.status(app, environment),
      rollback: (request) => target.rollback(request),
      async deploy(request) {
        const outcome = await target.deploy(request);
        const origin = { projectId: run.projectId, commit: run.trigger.commit, commitTimestampMs: run.trigger.commitTimestampMs, runId: run.id };
        await recordRollout(store, outcome, origin).catch((err: unknown) => {
          log(`run ${run.id}: revision ${outcome.revision.number} of ${outcome.revision.app}/${outcome.revision.environment} not recorded: ${(err as Error).message}`);
        });
        return outcome;
      },
    };
  };
}

/**
 * Records a finished rollout in the store (the server's history of revisions that the API and the
 * DORA metrics read), with what is known of where it came from: a run's project and commit, or,
 * for a deploy or rollback through the API, the environment's project.
 */
export async function recordRollout(
  store: Store,
  outcome: DeployOutcome,
  origin: { projectId?: string; commit?: string; commitTimestampMs?: number; runId?: string },
): Promise<void> {
  const revision = outcome.revision;
  await store.recordRevision({
    app: revision.app,
    environment: revision.environment,
    number: revision.number,
    ...(origin.projectId !== undefined ? { projectId: origin.projectId } : {}),
    target: revision.target,
    image: revision.image,
    outcome: revision.outcome,
    trigger: { kind: revision.trigger.kind, by: revision.trigger.by },
    ...(origin.commit !== undefined ? { commit: origin.commit } : {}),
    ...(origin.commitTimestampMs !== undefined ? { commitTimestampMs: origin.commitTimestampMs } : {}),
    ...(origin.runId !== undefined ? { runId: origin.runId } : {}),
    ...(outcome.reason ? { reason: outcome.reason.slice(0, 4000) } : {}),
    createdAtMs: Date.parse(revision.createdAt) || Date.now(),
    finishedAtMs: revision.finishedAt ? Date.parse(revision.finishedAt) || Date.now() : Date.now(),
  });
}

/** How long the artifacts of a run that did not pass are kept for a re-run of its failed jobs. */
export const KEPT_ARTIFACTS_MS = 7 * 24 * 3_600_000;

/** Removes a run's folder but for its artifacts (and the folder, if nothing else is left). */
async function keepOnlyArtifacts(runDir: string): Promise<void> {
  const entries = await readdir(runDir).catch(() => [] as string[]);
  await Promise.all(entries.filter((name) => name !== 'artifacts').map((name) => rm(path.join(runDir, name), { recursive: true, force: true })));
  if (!entries.includes('artifacts')) await rm(runDir, { recursive: true, force: true });
}

/** Hard-links (or copies) a job's `count` artifact tars from one run's storage into another's; false when one is missing. */
async function linkArtifacts(from: RunStorage, to: RunStorage, job: string, count: number): Promise<boolean> {
  await mkdir(to.artifactDir(job), { recursive: true });
  for (let index = 0; index < count; index++) {
    const [source, target] = [from.artifactPath(job, index), to.artifactPath(job, index)];
    try {
      await link(source, target).catch(async (err: NodeJS.ErrnoException) => {
        if (err.code === 'EXDEV' || err.code === 'EPERM') await copyFile(source, target);
        else throw err;
      });
    } catch {
      return false;
    }
  }
  return true;
}

/**
 * What runs left in the data directory's runs/ folder: a killed server's whole folders lose all
 * but their artifacts, and artifacts kept longer than KEPT_ARTIFACTS_MS go.
 */
export async function sweepRunFolders(dataDir: string, active: ReadonlySet<string>, now = Date.now()): Promise<void> {
  const root = runsRoot(dataDir);
  for (const name of await readdir(root).catch(() => [] as string[])) {
    if (active.has(name)) continue;
    const dir = path.join(root, name);
    const info = await stat(dir).catch(() => undefined);
    if (!info) continue;
    if (now - info.mtimeMs > KEPT_ARTIFACTS_MS) await rm(dir, { recursive: true, force: true });
    else await keepOnlyArtifacts(dir);
  }
}

/** The images of the jobs (without services, named literally) of the newest runs, most used first. */
async function recentJobImages(store: Store, runs = 20): Promise<string[]> {
  const counts = new Map<string, number>();
  for (const summary of (await store.listRuns({ limit: runs })).runs) {
    const text = ((await store.getRun(summary.id))?.pipeline as PipelineSnapshot | undefined)?.text;
    if (text === undefined) continue;
    for (const job of parsePipeline(text, 'slipway.yaml').pipeline?.jobs ?? []) {
      if (job.kind !== 'steps' || job.services.length > 0 || !job.image.isLiteral) continue;
      counts.set(job.image.source, (counts.get(job.image.source) ?? 0) + 1);
    }
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([image]) => image);
}
