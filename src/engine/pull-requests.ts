// What a pull-request run, and a run of code the project does not vouch for, may do: the
// pull request's variables, its preview environment's name, and the jobs it skips and why.
// Code under review never touches a shared environment; a fork's code gets no secret and
// releases nothing (as GitHub treats forks).
import type { Job } from '../spec/model.js';
import { previewEnvironmentName } from '../spec/index.js';

/** The pull request a pull-request run tests. */
export interface PullRequestInfo {
  number: number;
  /** the branch it would merge into */
  base: string;
  /** its own branch (on the fork, for one from a fork) */
  head: string;
  /** from another repository */
  fork: boolean;
}

/**
 * Why a run holds less than the project's trust: the server says, for a fork's pull request (or
 * a project that keeps secrets from pull requests). Each is the reason jobs are skipped with.
 */
export interface Untrusted {
  /** why the run gets no secret: a job that uses one is skipped */
  secrets?: string;
  /** why the run releases nothing: deploy jobs are skipped, build jobs build but do not push */
  release?: string;
}

interface RunShape {
  event: string;
  pullRequest?: PullRequestInfo;
}

/** SLIPWAY_PR_NUMBER, SLIPWAY_PR_BASE_BRANCH, SLIPWAY_PR_HEAD_BRANCH in a pull-request run; nothing in others. */
export function pullRequestEnv(trigger: RunShape): Record<string, string> {
  const pr = trigger.pullRequest;
  if (!pr) return {};
  return { SLIPWAY_PR_NUMBER: String(pr.number), SLIPWAY_PR_BASE_BRANCH: pr.base, SLIPWAY_PR_HEAD_BRANCH: pr.head };
}

/**
 * The job as this run runs it: a deploy to a preview environment gets its pull request's name
 * (`pr-${{ pr.number }}` → `pr-7`), so approvals, logs and the target all see the real one.
 */
export function resolvePreviewJob(job: Job, trigger: RunShape): Job {
  if (job.kind !== 'deploy' || !job.deploy.preview || !trigger.pullRequest) return job;
  return { ...job, deploy: { ...job.deploy, environment: previewEnvironmentName(job.deploy.environment, trigger.pullRequest.number) } };
}

/** The secrets the job cannot do without here: a build that will not push needs no push password. */
function secretsNeeded(job: Job, pushes: boolean): string[] {
  const used = job.secretsUsed ?? [];
  if (job.kind !== 'build' || pushes || !job.build.push?.passwordSecret) return used;
  const password = job.build.push.passwordSecret;
  return used.filter((name) => name !== password);
}

function deploySkipReason(job: Extract<Job, { kind: 'deploy' }>, trigger: RunShape, untrusted: Untrusted | undefined): string | undefined {
  if (untrusted?.release) return `deploys are off in this run: ${untrusted.release}`;
  const isPullRequestRun = trigger.event === 'pull_request';
  if (isPullRequestRun && !job.deploy.preview) {
    return 'a pull-request run deploys only to its own preview environment (e.g. environment: pr-${{ pr.number }})';
  }
  if (job.deploy.preview && !isPullRequestRun) return `environment ${job.deploy.environment} is a pull request's preview: it is deployed only in pull-request runs`;
  if (job.deploy.preview && !trigger.pullRequest) return 'the run does not say which pull request it tests, so its preview environment has no name';
  return undefined;
}

/** Why this run must not run `job` for what the run is (a pull request, untrusted code), or undefined. */
export function pullRequestSkipReason(job: Job, trigger: RunShape, untrusted: Untrusted | undefined): string | undefined {
  if (job.kind === 'deploy') {
    const reason = deploySkipReason(job, trigger, untrusted);
    if (reason) return reason;
  }
  if (!untrusted?.secrets) return undefined;
  const needed = secretsNeeded(job, !untrusted.release);
  if (needed.length === 0) return undefined;
  return `it uses secret${needed.length > 1 ? 's' : ''} ${needed.join(', ')}, and ${untrusted.secrets}`;
}
