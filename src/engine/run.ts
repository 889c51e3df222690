// Runs a Pipeline: walks the job graph, starts every job whose needs are met (up to a concurrency
// limit), skips what cannot run and says why, and reports everything as RunEvents. The same
// engine runs under `slipway run` and, later, inside the server; its side effects come in through
// the Executor and RunStorage it is given.
import type { ExpressionContext, Job, JobOutputs, Pipeline } from '../spec/model.js';
import { evaluateCondition, renderTemplate } from '../spec/index.js';
import type { Executor } from '../executors/index.js';
import { isTerminal, type JobStatus, type RunEvent, type RunEventListener, type RunStatus } from './events.js';
import type { SourceSnapshot } from './workspace.js';
import type { RunStorage } from './storage.js';
import { runStepsJob, type JobAttemptResult, type WorkspaceCheckout } from './job-runner.js';
import { buildStepNames, runBuildJob, type RegistryTarget } from './build-runner.js';
import { DEPLOY_STEP, runDeployJob, type DeployTargets } from './deploy-runner.js';
import type { ImageBuilder } from '../build/index.js';
import { shortSecretsWarning } from './secrets.js';
import { ManualJobs, type ApprovalGate } from './approvals.js';
import { describeUnmetNeeds, MatrixRun } from './matrix.js';
import { pullRequestEnv, pullRequestSkipReason, resolvePreviewJob, type PullRequestInfo, type Untrusted } from './pull-requests.js';

export interface Trigger {
  event: 'push' | 'manual' | 'local' | 'pull_request' | 'schedule';
  /** for a pull request: its head branch */
  branch: string;
  commit: string;
  /** event pull_request: the pull request the run tests (`pr.*` in expressions, SLIPWAY_PR_* in steps) */
  pullRequest?: PullRequestInfo;
}

export interface RunOptions {
  runId: string;
  pipeline: Pipeline;
  trigger: Trigger;
  source: SourceSnapshot;
  executor: Executor;
  /**
   * a checkout of the run's commit a job's sandbox may fetch itself instead of being handed the
   * workspace (Pods fetch it from the server's git hosting); minted per job attempt
   */
  checkout?: () => WorkspaceCheckout;
  storage: RunStorage;
  /** values of the pipeline's secrets, by name */
  secrets: Record<string, string>;
  /** `--env K=V`: the strongest environment */
  envOverrides: Record<string, string>;
  /** run only these jobs (and the jobs they need); a matrix job's name selects all its combinations; undefined = all */
  only?: string[];
  concurrency: number;
  /** builds the images of build jobs; without one they are skipped */
  builder?: ImageBuilder;
  /** where built images are pushed; without one they stay in the local engine */
  registry?: RegistryTarget;
  /** the deploy targets of deploy jobs; without them deploy jobs are skipped */
  deployTargets?: DeployTargets;
  /**
   * A re-run of the failed jobs of run `fromRunId`: these jobs passed there and are taken as
   * passed here, with their outputs (image digests, …), without running again. Their artifacts
   * must already be in `storage`.
   */
  reuse?: { fromRunId: string; jobs: ReadonlyMap<string, Record<string, string>> };
  /** decides on manual jobs; without one they are skipped with a hint */
  approvals?: ApprovalGate;
  /** code the project does not vouch for (a fork's pull request): why it gets no secrets, why it releases nothing */
  untrusted?: Untrusted;
  /**
   * A run that waited for approval goes on: its finished jobs keep their results (and outputs),
   * its waiting jobs wait again until their decision. Nothing is reported for them again.
   */
  resume?: ReadonlyMap<string, ResumedJob>;
  signal: AbortSignal;
  onEvent: RunEventListener;
}

export interface ResumedJob {
  status: JobStatus;
  reason?: string;
  outputs?: Record<string, string>;
  attempts: number;
  /** a waiting job: since when */
  waitingSinceMs?: number;
}

export interface JobSummary {
  name: string;
  status: JobStatus;
  reason?: string;
  attempts: number;
  durationMs: number;
}

export interface RunResult {
  runId: string;
  status: RunStatus;
  durationMs: number;
  jobs: JobSummary[];
}

/** The jobs to run for `only`: the named ones and, transitively, every job they need. */
export function selectJobs(pipeline: Pipeline, only: string[] | undefined): Set<string> {
  if (!only) return new Set(pipeline.jobs.map((j) => j.name));
  const byName = new Map(pipeline.jobs.map((j) => [j.name, j]));
  const combinations = new Map<string, string[]>();
  for (const job of pipeline.jobs) if (job.matrix) combinations.set(job.matrix.base, [...(combinations.get(job.matrix.base) ?? []), job.name]);
  const selected = new Set<string>();
  const visit = (name: string): void => {
    if (selected.has(name)) return;
    const job = byName.get(name);
    if (!job) return;
    selected.add(name);
    job.needs.forEach(visit);
  };
  for (const name of only) (byName.has(name) ? [name] : combinations.get(name) ?? []).forEach(visit);
  return selected;
}

export function builtinEnv(options: Pick<RunOptions, 'runId' | 'pipeline' | 'trigger' | 'registry'>): Record<string, string> {
  return {
    CI: 'true',
    SLIPWAY: 'true',
    SLIPWAY_COMMIT_SHA: options.trigger.commit,
    SLIPWAY_BRANCH: options.trigger.branch,
    SLIPWAY_RUN_ID: options.runId,
    SLIPWAY_EVENT: options.trigger.event,
    SLIPWAY_REGISTRY: options.registry?.host ?? '',
    SLIPWAY_PROJECT: options.pipeline.name,
    ...pullRequestEnv(options.trigger),
  };
}

export async function executeRun(given: RunOptions): Promise<RunResult> {
  // a run without the project's trust has no secret to give, whatever it was handed
  const options: RunOptions = given.untrusted?.secrets ? { ...given, secrets: {} } : given;
  const { pipeline, trigger, signal } = options;
  const started = Date.now();
  const emit = (event: RunEvent): void | Promise<void> => options.onEvent(event);
  const selected = selectJobs(pipeline, options.only);
  const jobs = pipeline.jobs.filter((j) => selected.has(j.name)).map((j) => resolvePreviewJob(j, trigger));

  const status = new Map<string, JobStatus>(jobs.map((j) => [j.name, 'pending']));
  const summaries = new Map<string, JobSummary>(
    jobs.map((j) => [j.name, { name: j.name, status: 'pending', attempts: 0, durationMs: 0 }]),
  );
  const outputs: Record<string, JobOutputs> = {};

  const baseEnv = builtinEnv(options);
  const pr = trigger.pullRequest && { number: trigger.pullRequest.number, base: trigger.pullRequest.base, head: trigger.pullRequest.head };
  const context: ExpressionContext = { branch: trigger.branch, event: trigger.event, commit: trigger.commit, env: {}, jobs: outputs, secrets: options.secrets, ...(pr ? { pr } : {}) };
  // pipeline env may refer to expressions of its own; render it once against the trigger
  const pipelineEnv: Record<string, string> = { ...baseEnv };
  context.env = pipelineEnv;
  for (const [key, template] of Object.entries(pipeline.env)) pipelineEnv[key] = renderTemplate(template, context);
  Object.assign(pipelineEnv, options.envOverrides);

  emit({
    type: 'run.started',
    runId: options.runId,
    pipeline: pipeline.name,
    branch: trigger.branch,
    commit: trigger.commit,
    at: started,
    jobs: jobs.map((j) => ({
      name: j.name,
      kind: j.kind,
      needs: j.needs.filter((n) => selected.has(n)),
      steps: j.kind === 'steps' ? j.steps.map((s) => s.name) : j.kind === 'build' ? buildStepNames(options.registry, j, options.untrusted?.release) : [DEPLOY_STEP],
      ...(j.matrix ? { matrix: { job: j.matrix.base, values: Object.fromEntries(Object.entries(j.matrix.values).map(([k, v]) => [k, String(v)])) } } : {}),
    })),
  });

  const matrix = new MatrixRun(jobs);
  const byName = new Map(jobs.map((j) => [j.name, j]));
  /** a matrix job reads as one in expressions: jobs.test.result, once all its combinations finished */
  const noteMatrixResult = (job: Job): void => {
    const combined = job.matrix && matrix.outputsOf(job.matrix.base, status);
    if (combined && job.matrix) outputs[job.matrix.base] = combined;
  };

  const finish = (job: Job, jobStatus: JobStatus, reason: string | undefined, attempt: number, durationMs = 0, extra: { outputs?: Record<string, string>; reused?: true } = {}): void => {
    status.set(job.name, jobStatus);
    outputs[job.name] = { ...(outputs[job.name] ?? {}), result: jobStatus === 'pending' || jobStatus === 'running' ? 'failure' : jobStatus } as JobOutputs;
    summaries.set(job.name, { name: job.name, status: jobStatus, ...(reason ? { reason } : {}), attempts: attempt, durationMs });
    noteMatrixResult(job);
    emit({ type: 'job.status', job: job.name, status: jobStatus, attempt, ...(reason ? { reason } : {}), durationMs, ...extra, at: Date.now() });
  };

  for (const job of jobs) {
    const reused = options.reuse?.jobs.get(job.name);
    if (!reused) continue;
    outputs[job.name] = { ...reused, result: 'success' } as JobOutputs;
    finish(job, 'success', `passed in run ${options.reuse!.fromRunId}; not run again`, 0, 0, { outputs: reused, reused: true });
  }

  // jobs that wait for a person's decision, and the decisions made
  const manual = new ManualJobs({
    runId: options.runId,
    ...(options.approvals ? { gate: options.approvals } : {}),
    log: (job, line) => void emit({ type: 'log', job, stream: 'system', line, at: Date.now() }),
    onWaiting: (job, wait) => {
      status.set(job.name, 'waiting');
      summaries.set(job.name, { name: job.name, status: 'waiting', attempts: 0, durationMs: 0 });
      const approval = { ...(wait.environment ? { environment: wait.environment } : {}), ...(wait.timeoutMs !== undefined ? { timeoutMs: wait.timeoutMs } : {}) };
      emit({ type: 'job.status', job: job.name, status: 'waiting', attempt: 0, reason: 'waits for approval', approval, at: wait.sinceMs });
    },
    onApproved: (job) => void status.set(job.name, 'pending'),
    onSkipped: (job, reason) => finish(job, 'skipped', reason, 0),
  });
  for (const job of jobs) {
    const resumed = options.resume?.get(job.name);
    if (!resumed || resumed.status === 'pending' || resumed.status === 'running') continue;
    // taken as it was, without a new event: the store and the log already have it
    status.set(job.name, resumed.status);
    summaries.set(job.name, { name: job.name, status: resumed.status, ...(resumed.reason ? { reason: resumed.reason } : {}), attempts: resumed.attempts, durationMs: 0 });
    if (resumed.status === 'waiting') manual.resume(job, resumed.waitingSinceMs ?? Date.now());
    else outputs[job.name] = { ...(resumed.outputs ?? {}), result: resumed.status } as JobOutputs;
    noteMatrixResult(job);
  }

  /** Why a job whose needs are all finished must not run, or undefined when it may. */
  const reasonToSkip = (job: Job): string | undefined => {
    const unmet = job.needs.filter((n) => status.get(n) !== 'success');
    if (unmet.length > 0) return describeUnmetNeeds(byName, unmet, (n) => describeOutcome(status.get(n)));
    if (job.if) {
      const jobContext = { ...context, env: { ...pipelineEnv } };
      if (!evaluateCondition(job.if, jobContext)) return `condition ${job.if.source} is false`;
    }
    const untrusted = pullRequestSkipReason(job, trigger, options.untrusted);
    if (untrusted) return untrusted;
    if (job.kind === 'build' && !options.builder) return 'no image builder is available here';
    if (job.kind === 'deploy' && !options.deployTargets) return 'no deploy target is available here';
    return undefined;
  };

  const running = new Map<string, Promise<void>>();
  // said in every job's log, where its output is read: such a value may show inside other words
  const shortSecrets = shortSecretsWarning(options.secrets);
  const runJob = async (job: Job): Promise<void> => {
    const jobStarted = Date.now();
    // fail-fast stops one combination of a matrix job without the run
    const jobSignal = matrix.signalFor(job, signal);
    let result: JobAttemptResult = { status: 'failure', reason: 'not run' };
    let attempt = 0;
    for (attempt = 1; attempt <= job.retry + 1; attempt++) {
      status.set(job.name, 'running');
      emit({ type: 'job.status', job: job.name, status: 'running', attempt, at: Date.now() });
      if (shortSecrets && attempt === 1) emit({ type: 'log', job: job.name, stream: 'system', line: shortSecrets, at: Date.now() });
      const jobContext: ExpressionContext = { ...context, env: { ...pipelineEnv }, ...(job.matrix ? { matrix: job.matrix.values } : {}) };
      result = await attemptJob({ ...options, signal: jobSignal }, job, attempt, jobContext, pipelineEnv, emit);
      if (result.status !== 'failure' || jobSignal.aborted) break;
      if (attempt <= job.retry) {
        emit({ type: 'log', job: job.name, stream: 'system', line: `attempt ${attempt} failed (${result.reason}); retrying`, at: Date.now() });
      }
    }
    matrix.release(job);
    if (result.outputs) outputs[job.name] = { result: 'success', ...result.outputs };
    // a combination that passed as fail-fast struck keeps its success
    const stoppedBy = result.status === 'success' ? undefined : matrix.cancelReasonOf(job);
    const jobStatus = signal.aborted || stoppedBy ? 'cancelled' : result.status;
    // a job's outputs are recorded with its success, for the jobs that a later re-run takes as passed
    finish(job, jobStatus, stoppedBy ?? result.reason, Math.min(attempt, job.retry + 1), Date.now() - jobStarted, jobStatus === 'success' && result.outputs ? { outputs: result.outputs } : {});
    if (jobStatus === 'failure') cancelSiblings(job);
  };

  /** fail-fast: a failed combination cancels the others of its matrix that have not finished */
  const cancelSiblings = (job: Job): void => {
    const stop = matrix.failFast(job, status);
    for (const sibling of stop?.stopped ?? []) {
      emit({ type: 'log', job: sibling.name, stream: 'system', line: `cancelled: ${job.name} failed (fail-fast: false lets the other combinations finish)`, at: Date.now() });
      // a running one ends by itself, its attempt aborted
      if (status.get(sibling.name) === 'running') continue;
      manual.cancel(sibling);
      finish(sibling, 'cancelled', stop?.reason, 0);
    }
  };

  const schedule = (): void => {
    if (signal.aborted) {
      for (const job of manual.cancelAll()) finish(job, 'cancelled', 'the run was cancelled while it waited for approval', 0);
    }
    for (const job of jobs) {
      if (status.get(job.name) !== 'pending' || running.has(job.name)) continue;
      if (signal.aborted) {
        finish(job, 'cancelled', 'the run was cancelled', 0);
        continue;
      }
      if (!job.needs.every((n) => !selected.has(n) || isTerminal(status.get(n) ?? 'pending'))) continue;
      const skip = reasonToSkip(job);
      if (skip) {
        finish(job, 'skipped', skip, 0);
        continue;
      }
      if (!manual.mayStart(job)) {
        manual.wait(job);
        continue;
      }
      if (running.size >= options.concurrency) continue;
      const promise = runJob(job).finally(() => running.delete(job.name));
      running.set(job.name, promise);
    }
  };

  // a skip can unblock further skips, so schedule until nothing changes, then wait for a job or a decision
  let parked = false;
  // a refused park means a decision came; if none is found, wait for one rather than spin
  let parkRefused = false;
  for (;;) {
    let before: string;
    do {
      before = [...status.values()].join();
      schedule();
    } while ([...status.values()].join() !== before);
    if (manual.count > 0 && !signal.aborted) {
      if (await manual.consult()) {
        parkRefused = false;
        continue;
      }
      if (running.size === 0) {
        if (parkRefused) {
          parkRefused = false;
          await manual.changed(signal);
          continue;
        }
        if (await manual.park()) {
          parked = true;
          break;
        }
        parkRefused = true;
        continue;
      }
      await Promise.race([...running.values(), manual.changed(signal)]);
      continue;
    }
    if (running.size === 0) break;
    await Promise.race(running.values());
  }

  const all = [...status.values()];
  const runStatus: RunStatus = signal.aborted
    ? 'cancelled'
    : all.some((s) => s === 'failure' || s === 'cancelled')
      ? 'failure'
      : parked
        ? 'waiting'
        : 'success';
  const durationMs = Date.now() - started;
  emit({ type: 'run.finished', runId: options.runId, status: runStatus, durationMs, at: Date.now() });
  return { runId: options.runId, status: runStatus, durationMs, jobs: jobs.map((j) => summaries.get(j.name)!) };
}

/** One attempt of a job, by its kind. */
function attemptJob(
  options: RunOptions,
  job: Job,
  attempt: number,
  context: ExpressionContext,
  pipelineEnv: Record<string, string>,
  emit: (event: RunEvent) => void | Promise<void>,
): Promise<JobAttemptResult> {
  const { signal } = options;
  if (job.kind === 'deploy') {
    const pr = options.trigger.pullRequest;
    return runDeployJob({ job, attempt, app: options.pipeline.name, runId: options.runId, context, workspace: options.source.dir, targets: options.deployTargets!, ...(pr ? { pullRequest: pr.number } : {}), signal, emit });
  }
  if (job.kind === 'build') {
    return runBuildJob({
      job,
      attempt,
      context,
      source: options.source,
      builder: options.builder!,
      ...(options.registry ? { registry: options.registry } : {}),
      ...(options.untrusted?.release ? { pushOff: options.untrusted.release } : {}),
      secrets: options.secrets,
      signal,
      emit,
    });
  }
  return runStepsJob({
    job,
    attempt,
    runId: options.runId,
    pipeline: options.pipeline,
    context,
    pipelineEnv,
    envOverrides: options.envOverrides,
    secrets: options.secrets,
    source: options.source,
    executor: options.executor,
    ...(options.checkout ? { checkout: options.checkout() } : {}),
    storage: options.storage,
    signal,
    emit,
  });
}

function describeOutcome(status: JobStatus | undefined): string {
  switch (status) {
    case 'failure':
      return 'failed';
    case 'skipped':
      return 'was skipped';
    case 'cancelled':
      return 'was cancelled';
    default:
      return 'did not run';
  }
}
