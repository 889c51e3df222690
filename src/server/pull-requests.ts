// The runs of one pull request as a group: a newer push supersedes the older runs still going
// (unless the pipeline file turns that off), and closing the pull request ends them all.
import { parsePipeline, pullRequestConcurrency } from '../spec/index.js';
import { hasCommit, isCommitId } from '../git/index.js';
import { isFinishedRunState, StoreError, type Project, type Run, type RunSummary, type Store } from '../store/index.js';
import { repositoryPath } from './repositories.js';
import { PIPELINE_FILE } from './triggers.js';
import { readFileAtCommit } from './workspace.js';

export interface PullRequestRuns {
  store: Store;
  /** the runner's cancel: true when the run was running here */
  runner: { cancel(runId: string, reason?: string): boolean };
  reposDir: string;
  log(message: string): void;
  /** takes down the environments a pull request's runs deployed to */
  previews?: { closePullRequest(projectId: string, pullRequest: number, why: string): Promise<unknown> };
}

/**
 * After `newer` was queued for pull request #N: cancels N's older runs that are still queued,
 * running or waiting, with the reason naming the newer run. Whether it does is the pipeline file's
 * say (on by default): the newer commit's file when it is here (a push to refs/for/…), else — a
 * webhook's commit is fetched only when its run starts — the file of the run it would cancel.
 * Returns the runs cancelled.
 */
export async function supersedeOlderRuns(ctx: PullRequestRuns, project: Project, newer: Run): Promise<RunSummary[]> {
  const number = newer.trigger.pullRequest?.number;
  if (newer.trigger.event !== 'pull_request' || number === undefined) return [];
  const older = (await runsGoing(ctx.store, project.id, number)).filter((run) => run.number < newer.number);
  if (older.length === 0) return [];
  const repo = repositoryPath(ctx.reposDir, project.name);
  const newest = await concurrencyAt(repo, newer.trigger.commit);
  const reason = `superseded by run #${newer.number} (a newer push to pull request #${number})`;
  const cancelled: RunSummary[] = [];
  for (const run of older) {
    const cancels = newest ?? (await concurrencyAt(repo, run.trigger.commit)) ?? true;
    if (cancels && (await cancelRun(ctx, run, reason))) cancelled.push(run);
  }
  return cancelled;
}

/**
 * Pull request #N of the project was closed (or merged): its runs still going are cancelled.
 * Returns them. The place for everything else a closed pull request ends (its preview environment).
 */
export async function pullRequestClosed(ctx: PullRequestRuns, project: Project, number: number): Promise<RunSummary[]> {
  const reason = `pull request #${number} was closed`;
  const cancelled: RunSummary[] = [];
  for (const run of await runsGoing(ctx.store, project.id, number)) if (await cancelRun(ctx, run, reason)) cancelled.push(run);
  // taking previews down takes seconds per environment: the forge is answered first
  void ctx.previews?.closePullRequest(project.id, number, reason).catch((err: unknown) => ctx.log(`pull request #${number} of ${project.name}: its previews were not taken down: ${(err as Error).message}`));
  return cancelled;
}

async function runsGoing(store: Store, projectId: string, number: number): Promise<RunSummary[]> {
  // a pull request has few runs still going; 500 is the store's page and far more than enough
  const page = await store.listRuns({ projectId, pullRequest: number, limit: 500 });
  return page.runs.filter((run) => !isFinishedRunState(run.status) && run.trigger.event === 'pull_request');
}

/** The pipeline file's concurrency setting at a commit, or undefined when the commit or a valid file is not here. */
async function concurrencyAt(repo: string, commit: string): Promise<boolean | undefined> {
  if (!isCommitId(commit) || !(await hasCommit(repo, commit))) return undefined;
  const text = await readFileAtCommit(repo, commit, PIPELINE_FILE);
  const pipeline = text === undefined ? undefined : parsePipeline(text, PIPELINE_FILE).pipeline;
  return pipeline ? pullRequestConcurrency(pipeline) : undefined;
}

/**
 * Cancels one run with `reason`: in the store while no engine holds it (queued, waiting), else
 * through the runner that runs it. A run running on another replica finishes there: false.
 */
async function cancelRun(ctx: PullRequestRuns, run: RunSummary, reason: string): Promise<boolean> {
  if (run.status === 'queued' || run.status === 'waiting') {
    try {
      await ctx.store.updateRunStatus(run.id, 'cancelled', { reason });
      return true;
    } catch (err) {
      // claimed (or ended) since it was listed: cancel it where it runs now
      if (!(err instanceof StoreError && err.code === 'STORE_RUN_TRANSITION')) throw err;
    }
  }
  if (ctx.runner.cancel(run.id, reason)) return true;
  const now = await ctx.store.getRun(run.id);
  if (now?.status === 'running') ctx.log(`run ${run.id} was not cancelled (${reason}): it runs on another replica and finishes there`);
  return false;
}
