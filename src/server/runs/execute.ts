// Runs one claimed run to its end: reads its pipeline file (fetching a webhook's commit first),
// reports to the forge, runs the engine on the pushed commit, and records what happens.
import { parsePipeline, formatDiagnostic, type Pipeline } from '../../spec/index.js';
import { executeRun, RunStorage, type ResumedJob, type RunOptions, type RunResult, type SourceSnapshot, type Trigger, type WorkspaceCheckout } from '../../engine/index.js';
import type { Executor } from '../../executors/index.js';
import type { ImageBuilder } from '../../build/index.js';
import type { RegistryTarget } from '../../engine/build-runner.js';
import type { DeployTargets } from '../../engine/deploy-runner.js';
import type { Run, Store } from '../../store/types.js';
import { ensureBareRepository } from '../git.js';
import { repositoryPath } from '../repositories.js';
import { snapshotCommit } from '../workspace.js';
import { resumedJobsOf, serverApprovalGate } from './approvals.js';
import { commitStatusReporter, type ReportCommitStatus } from './commit-status-reporter.js';
import type { RunHub } from './hub.js';
import { pipelineSnapshotOf } from './pipeline-snapshot.js';
import { RunRecorder } from './recorder.js';
import { reusedJobs, type ReusedJobs } from './reuse.js';
import { recordingTargets } from './rollouts.js';
import { tidyRunFolder } from './run-folders.js';
import { fetchWebhookPipeline } from './webhook-fetch.js';
import { runTrust, trustNotice, type RunTrust } from './pull-request-trust.js';
import { messageLog, type Logger } from '../logger.js';

/** The server's parts a run is executed with. */
export interface RunExecutionOptions {
  store: Store;
  dataDir: string;
  reposDir: string;
  executor: Executor;
  builder?: ImageBuilder;
  registry?: RegistryTarget;
  deployTargets?: DeployTargets;
  /** runs at once; a run's jobs go as many at once (at least one) */
  concurrency: number;
  /** this server's URL, for links back to runs */
  publicUrl?: string;
  /** a checkout of a project's commit that a job's sandbox may fetch itself (Pods, with --clone-url) */
  checkout?: (project: string, commit: string) => WorkspaceCheckout;
  /** the server's logger; a run's lines go through a child of it that carries `runId` */
  logger: Logger;
}

/** A cancellation whose reason becomes the run's (superseded by a newer push, its pull request closed). */
export class CancelRequest extends Error {}

/** The recorded reason of a cancelled run, when whoever cancelled it gave one. */
function cancelReason(signal: AbortSignal): string | undefined {
  return signal.aborted && signal.reason instanceof CancelRequest ? signal.reason.message : undefined;
}

/** What a run needs that is ready before the engine starts. */
interface PreparedRun {
  pipeline: Pipeline;
  report: ReportCommitStatus;
  secrets: Record<string, string>;
  /** a pull request run's: what it may not have */
  trust: RunTrust;
  source: SourceSnapshot;
  projectName: string;
  reuse?: ReusedJobs;
  /** a run that waited for approval: its jobs so far */
  resume?: Map<string, ResumedJob>;
}

/** Executes a claimed run; whatever happens, the run ends with a status and its hub hears `end:<run>`. */
export async function executeClaimedRun(options: RunExecutionOptions, hub: RunHub, run: Run, signal: AbortSignal): Promise<void> {
  const { store } = options;
  const logger = options.logger.child({ runId: run.id });
  logger.info({ projectId: run.projectId, number: run.number, event: run.trigger.event, commit: run.trigger.commit }, 'run started');
  // the parts below log through the run's child logger, so their lines carry runId
  const scoped: RunExecutionOptions = { ...options, logger };
  const recorder = new RunRecorder(store, hub, run.id, messageLog(logger, 'warn'));
  const storage = new RunStorage(options.dataDir, run.id);
  const startedAt = Date.now();
  // how the engine's run ended; undefined when it never started or the server failed it
  let outcome: RunResult['status'] | undefined;
  try {
    const prepared = await prepareRun(scoped, run, storage, recorder);
    if (!prepared) {
      logger.info({ status: (await store.getRun(run.id))?.status }, 'run ended before its jobs started');
      return;
    }
    const result = await executeRun(engineOptions(scoped, hub, run, prepared, storage, recorder, signal));
    outcome = result.status;
    await recordResult(store, run, result, recorder, prepared.report, cancelReason(signal));
    if (result.status === 'waiting') {
      const waiting = result.jobs.filter((j) => j.status === 'waiting').map((j) => j.name);
      logger.info({ waiting, ms: Date.now() - startedAt }, 'run waits for approval');
    } else {
      logger.info({ status: result.status, ms: Date.now() - startedAt }, 'run finished');
    }
  } catch (err) {
    await recorder.close();
    logger.error({ err }, `run ${run.id} failed to run`);
    await store
      .updateRunStatus(run.id, signal.aborted ? 'cancelled' : 'failure', { reason: signal.aborted ? (cancelReason(signal) ?? 'cancelled') : `the server could not run it: ${(err as Error).message}` })
      .catch(() => undefined);
  } finally {
    // a parked run's folder is its resumed execution's (on any replica sharing the data
    // directory, which may claim it at once): that one prepares it again and tidies it at the end
    if (outcome !== 'waiting') await tidyRunFolder(storage.runDir, outcome === 'success');
    hub.emit(`end:${run.id}`);
  }
}

/**
 * Everything before the engine starts, in order: the file (fetched for a webhook run), the
 * pending status, the parsed pipeline, its secrets, the commit's files and the jobs a re-run reuses.
 * Undefined when the run already ended (its status says why).
 */
async function prepareRun(options: RunExecutionOptions, run: Run, storage: RunStorage, recorder: RunRecorder): Promise<PreparedRun | undefined> {
  const { store } = options;
  const project = await store.getProject(run.projectId);
  if (!project) throw new Error(`project ${run.projectId} is gone`);
  const snapshot = pipelineSnapshotOf(run);
  if (!snapshot) throw new Error(`run ${run.id} has no pipeline snapshot the server can read`);
  const repo = repositoryPath(options.reposDir, project.name);
  let text = snapshot.text;
  if (text === undefined) {
    await ensureBareRepository(options.reposDir, project.name);
    text = await fetchWebhookPipeline(store, repo, run, snapshot);
    if (text === undefined) return undefined;
  }
  // the reporter and the recording targets only log what failed
  const report = await commitStatusReporter({ store, publicUrl: options.publicUrl, log: messageLog(options.logger, 'warn') }, project, snapshot, run);
  await report('pending', 'running');
  const pipeline = await parseOrFail(store, run, snapshot.file, text, report);
  if (!pipeline) return undefined;
  const trust = runTrust(run, project);
  const secrets = trust.secretsWithheld ? {} : await readSecrets(store, project.id, pipeline.secrets);
  await storage.prepare();
  const source = await snapshotCommit(repo, run.trigger.commit, run.trigger.branch, storage.runDir, readsCommitFiles(pipeline));
  // a run that goes on after a decision keeps what it had; only a fresh re-run takes jobs from another run
  const resume = await resumedJobsOf(store, run.id);
  // said once, as the run starts: a run going on after a decision said it already
  const notice = resume ? undefined : trustNotice(trust);
  if (notice) await store.appendLogs(run.id, [{ job: 'pipeline', stream: 'system', line: notice }]);
  if (resume) return { pipeline, report, secrets, trust, source, projectName: project.name, resume };
  const reuse = run.rerunOf
    ? await reusedJobs({ store, dataDir: options.dataDir, runId: run.id, fromRunId: run.rerunOf, pipeline, storage, onEvent: (event) => recorder.onEvent(event) })
    : undefined;
  return { pipeline, report, secrets, trust, source, projectName: project.name, ...(reuse ? { reuse } : {}) };
}

/** The run's pipeline; when its file is not valid, the run fails with the file's problems in its log. */
async function parseOrFail(store: Store, run: Run, file: string, text: string, report: ReportCommitStatus): Promise<Pipeline | undefined> {
  const loaded = parsePipeline(text, file);
  if (loaded.pipeline) return loaded.pipeline;
  await report('failure', `${file} is not valid`);
  const problems = loaded.diagnostics.map(formatDiagnostic);
  await store.appendLogs(run.id, problems.map((line) => ({ job: 'pipeline', stream: 'system' as const, line })));
  await store.updateRunStatus(run.id, 'failure', { reason: `${file} is not valid: ${problems[0] ?? ''}` });
  return undefined;
}

/** The values of the secrets the pipeline names that the project has; the others stay unset. */
async function readSecrets(store: Store, projectId: string, names: readonly string[]): Promise<Record<string, string>> {
  const secrets: Record<string, string> = {};
  for (const name of names) {
    const value = await store.getSecret(projectId, name);
    if (value !== undefined) secrets[name] = value;
  }
  return secrets;
}

/** Whether a job reads files of the commit itself (cache keys, Kubernetes manifests), so the commit is unpacked, not only archived. */
function readsCommitFiles(pipeline: Pipeline): boolean {
  return pipeline.jobs.some((job) => (job.kind === 'steps' && job.cache !== undefined) || (job.kind === 'deploy' && job.deploy.kubernetes?.manifests !== undefined));
}

/**
 * The engine's trigger: a push, a webhook or a poll ran the run because a ref moved; a pull
 * request (not a push of its head branch: `if: event == 'push'` guards must not let it through)
 * and the clock are events of their own; the others (manual, api) asked for it.
 */
function engineTrigger(run: Run): Trigger {
  const { event, branch, commit, pullRequest: pr } = run.trigger;
  const engineEvent = event === 'webhook' || event === 'poll' || event === 'push' ? 'push' : event === 'pull_request' || event === 'schedule' ? event : 'manual';
  const pullRequest = event === 'pull_request' && pr ? { pullRequest: { number: pr.number, base: pr.base, head: pr.head, fork: pr.fork } } : {};
  return { event: engineEvent, branch, commit, ...pullRequest };
}

function engineOptions(options: RunExecutionOptions, hub: RunHub, run: Run, prepared: PreparedRun, storage: RunStorage, recorder: RunRecorder, signal: AbortSignal): RunOptions {
  return {
    runId: run.id,
    pipeline: prepared.pipeline,
    trigger: engineTrigger(run),
    source: prepared.source,
    executor: options.executor,
    ...(options.checkout ? { checkout: () => options.checkout!(prepared.projectName, run.trigger.commit) } : {}),
    storage,
    secrets: prepared.secrets,
    envOverrides: {},
    concurrency: Math.max(1, options.concurrency),
    ...(options.builder ? { builder: options.builder } : {}),
    // a fork's run: without a registry its images stay on this host, without targets its deploy jobs are skipped
    ...(options.registry && !prepared.trust.releaseWithheld ? { registry: options.registry } : {}),
    ...(options.deployTargets && !prepared.trust.releaseWithheld
      ? {
          deployTargets: recordingTargets(options.deployTargets, options.store, run, messageLog(options.logger, 'warn'), (environment, endpoint) =>
            // the forge shows the preview as a check of its own whose link is the preview
            prepared.report('success', `preview ${environment} at ${endpoint}`, { context: 'slipway/preview', targetUrl: endpoint }),
          ),
        }
      : {}),
    ...(prepared.reuse ? { reuse: prepared.reuse } : {}),
    ...(prepared.resume ? { resume: prepared.resume } : {}),
    approvals: serverApprovalGate({ store: options.store, hub, runId: run.id, flush: () => recorder.flushLogs(), report: prepared.report }),
    // the engine skips, with these reasons, the jobs that need what the run may not have
    untrusted: { secrets: prepared.trust.secretsWithheld, release: prepared.trust.releaseWithheld },
    signal,
    onEvent: (event) => recorder.onEvent(event),
  };
}

/** Records how the engine's run ended, once every event and log line of it is in the store. */
async function recordResult(store: Store, run: Run, result: RunResult, recorder: RunRecorder, report: ReportCommitStatus, cancelledBecause: string | undefined): Promise<void> {
  await recorder.close();
  // parked by the engine's gate already, which told the forge: the store says waiting
  if (result.status === 'waiting') return;
  const reason = (result.status === 'cancelled' ? cancelledBecause : undefined) ?? result.jobs.find((j) => j.status === 'failure')?.reason;
  await store.updateRunStatus(run.id, result.status, reason ? { reason } : {});
  await report(result.status === 'success' ? 'success' : 'failure', result.status === 'success' ? 'passed' : (reason ?? result.status));
}
