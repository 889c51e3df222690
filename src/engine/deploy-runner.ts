// A deploy job: hands the rendered deploy block to its target (docker or kubernetes), which rolls
// it out, follows its health and rolls back by itself; the job fails when the rollout did.
import type { DeployJob, ExpressionContext } from '../spec/model.js';
import { isEnvironmentName, renderTemplate } from '../spec/index.js';
import { DeployError, describeUnchanged, type DeployTarget } from '../deploy/index.js';
import type { RunEvent } from './events.js';
import type { JobAttemptResult } from './job-runner.js';

/** Gives the target of a deploy block; may start what the target needs (the docker agent). */
export type DeployTargets = (name: 'docker' | 'kubernetes') => Promise<DeployTarget>;

export interface DeployAttemptInput {
  job: DeployJob;
  attempt: number;
  app: string;
  runId: string;
  context: ExpressionContext;
  /** the workspace folder, for targets that read files from it (kubernetes manifests) */
  workspace: string;
  targets: DeployTargets;
  /** a pull-request run's number: a deploy to a preview environment is marked as that pull request's */
  pullRequest?: number;
  signal: AbortSignal;
  emit: (event: RunEvent) => void | Promise<void>;
}

export const DEPLOY_STEP = 'roll out';

export async function runDeployJob(input: DeployAttemptInput): Promise<JobAttemptResult> {
  const { job, attempt, emit, context } = input;
  const spec = job.deploy;
  const image = renderTemplate(spec.image, context).trim();
  const log = (line: string): void => void emit({ type: 'log', job: job.name, step: 0, stream: 'stdout', line, at: Date.now() });
  const started = Date.now();
  const finished = (exitCode: number): void =>
    void emit({ type: 'step.finished', job: job.name, step: 0, name: DEPLOY_STEP, attempt, exitCode, durationMs: Date.now() - started, at: Date.now() });
  if (!image) return { status: 'failure', reason: `the deploy image '${spec.image.source}' renders empty` };
  // a preview's name is made at run time: it must still be a name every target accepts
  if (!isEnvironmentName(spec.environment)) return { status: 'failure', reason: `'${spec.environment}' is not a valid environment name (lower-case letters, digits, -)` };
  const preview = spec.preview && input.pullRequest !== undefined ? { pullRequest: input.pullRequest, ttlMs: spec.preview.ttlMs } : undefined;

  void emit({ type: 'step.started', job: job.name, step: 0, name: DEPLOY_STEP, attempt, at: started });
  log(`deploying ${image} to ${spec.environment} (${preview ? `the preview of pull request #${preview.pullRequest}, ` : ''}${spec.target}, ${spec.replicas} replicas)`);
  try {
    const target = await input.targets(spec.target);
    const outcome = await target.deploy({
      app: input.app,
      environment: spec.environment,
      spec,
      image,
      workspace: input.workspace,
      ...(preview ? { preview } : {}),
      trigger: { by: `commit ${context.commit.slice(0, 7)}`, runId: input.runId, commit: context.commit, kind: 'pipeline' },
      signal: input.signal,
      onProgress: log,
    });
    const outputs = { revision: String(outcome.revision.number), environment: spec.environment, image };
    if (outcome.outcome === 'unchanged') {
      // the environment already serves this image and config: a success that changed nothing
      finished(0);
      log(describeUnchanged(outcome.revision));
      return { status: 'success', outputs };
    }
    if (outcome.outcome === 'healthy') {
      finished(0);
      log(`revision ${outcome.revision.number} is healthy in ${spec.environment}`);
      return { status: 'success', outputs };
    }
    finished(1);
    const what = outcome.outcome === 'rolled-back' ? 'rolled back' : 'failed';
    return { status: 'failure', reason: `rollout of revision ${outcome.revision.number} ${what}: ${outcome.reason ?? 'no reason given'}`, outputs };
  } catch (err) {
    finished(1);
    if (input.signal.aborted) return { status: 'cancelled', reason: 'the run was cancelled' };
    if (err instanceof DeployError) return { status: 'failure', reason: `${err.code}: ${err.message}` };
    return { status: 'failure', reason: `deploy failed: ${(err as Error).message}` };
  }
}
