// A push to the built-in git hosting, recorded: the branches and tags it moved run their pipeline
// (triggers.ts), and a push to refs/for/BRANCH — Gerrit's convention — opens a pull request into
// BRANCH with no forge at all. Such a push creates no branch: its commit is kept at
// refs/pull/N/head (as GitHub and Gitea keep theirs) and refs/for/BRANCH is removed again. Each
// push is a new pull request number (the highest refs/pull/N/head plus one), unless it names a
// topic — `refs/for/main%topic=NAME` — whose pull request it then updates (the topic is a symbolic
// ref refs/slipway/topics/NAME → refs/pull/N/head), so a newer push supersedes its older runs.
import { git, gitMaybe, isSafeBranchName } from '../git/index.js';
import type { Project, Run } from '../store/index.js';
import { ZERO_SHA, type RefUpdate } from './git.js';
import { repositoryPath } from './repositories.js';
import { isPullRequestTriggered, pathsAllow } from '../spec/index.js';
import { filesChangedByPullRequest } from './changed-files.js';
import { supersedeOlderRuns, type PullRequestRuns } from './pull-requests.js';
import { enqueuePlannedRuns, PIPELINE_FILE, planCommitFile, planPushRuns, pushMessages, type PlannedRun, type PlanningFailure, type SkippedRef } from './triggers.js';
import { commitInfo } from './workspace.js';

export interface GitPushContext extends PullRequestRuns {
  /** this server's URL, for the links the pusher is shown */
  publicUrl: string;
  /** runs were queued: the runner looks */
  wake(): void;
}

const REVIEW_PREFIX = 'refs/for/';
const TOPIC = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** A push to refs/for/…, read: the branch it is for and its topic, or why it is refused. */
type ReviewRef = { base: string; topic?: string } | { problem: string };

export function parseReviewRef(ref: string): ReviewRef {
  const rest = ref.slice(REVIEW_PREFIX.length);
  const cut = rest.indexOf('%');
  const base = cut === -1 ? rest : rest.slice(0, cut);
  if (!isSafeBranchName(base)) return { problem: `'${base.slice(0, 100)}' is not a branch name` };
  if (cut === -1) return { base };
  const option = rest.slice(cut + 1);
  const topic = option.startsWith('topic=') ? option.slice('topic='.length) : undefined;
  if (topic === undefined || !TOPIC.test(topic) || topic.endsWith('.lock')) {
    return { problem: `'%${option.slice(0, 100)}' is not a topic: push to refs/for/${base}%topic=NAME (letters, digits, . _ -)` };
  }
  return { base, topic };
}

interface ReviewRun {
  update: RefUpdate;
  number: number;
  topic?: string;
  planned: PlannedRun;
}

/** Records a push: plans and queues its runs in one transaction, then answers the pusher (`remote: …` lines). */
export async function recordGitPush(ctx: GitPushContext, project: Project, updates: RefUpdate[], who: string): Promise<string[]> {
  const repo = repositoryPath(ctx.reposDir, project.name);
  const reviewUpdates = updates.filter((u) => u.ref.startsWith(REVIEW_PREFIX));
  const pushed = await planPushRuns(repo, project, updates.filter((u) => !u.ref.startsWith(REVIEW_PREFIX)), { event: 'push', sender: who });
  const reviews = await planReviewRuns(repo, project, reviewUpdates, who);
  for (const skip of [...pushed.skipped, ...reviews.skipped]) ctx.log(`push to ${project.name} ${skip.ref}: nothing to run (${skip.why})`);
  // every run of a push is stored before git hears that the push is done
  const stored = await enqueuePlannedRuns(ctx.store, [...pushed.runs, ...reviews.runs.map((r) => r.planned)]);
  await keepReviewCommits(ctx, project, reviewUpdates, reviews.runs);
  const reviewStored = stored.filter((s) => s.ref.startsWith(REVIEW_PREFIX));
  for (const { run, failure } of reviewStored) {
    if (failure) continue;
    await supersedeOlderRuns(ctx, project, run).catch((err: unknown) => ctx.log(`push to ${project.name}: older runs of pull request #${run.trigger.pullRequest?.number ?? '?'} not cancelled: ${(err as Error).message}`));
  }
  if (stored.some((s) => !s.failure)) ctx.wake();
  return [
    ...pushMessages(stored.filter((s) => !s.ref.startsWith(REVIEW_PREFIX)), pushed.skipped, ctx.publicUrl),
    ...reviewStored.map(({ run, failure }) => reviewMessage(run, failure, ctx.publicUrl)),
    ...reviews.skipped.map((skip) => `slipway: ${skip.ref}: nothing to run (${skip.why})`),
  ];
}

function reviewMessage(run: Run, failure: PlanningFailure | undefined, publicUrl: string): string {
  const pr = run.trigger.pullRequest;
  const what = `pull request #${pr?.number ?? '?'} into ${pr?.base ?? '?'}`;
  const link = `${publicUrl}/api/runs/${run.id}`;
  return failure ? `slipway: ${what}: run #${run.number} failed at planning: ${failure.reason.slice(0, 300)} (${link})` : `slipway: ${what}: run #${run.number} queued: ${link}`;
}

/** The pull request runs of pushes to refs/for/…; numbers are given only to pushes that run. */
async function planReviewRuns(repo: string, project: Project, updates: RefUpdate[], who: string): Promise<{ runs: ReviewRun[]; skipped: SkippedRef[] }> {
  const runs: ReviewRun[] = [];
  const skipped: SkippedRef[] = [];
  let next: number | undefined;
  for (const update of updates) {
    if (update.after === ZERO_SHA) {
      skipped.push({ ref: update.ref, why: 'deleted' });
      continue;
    }
    const parsed = parseReviewRef(update.ref);
    if ('problem' in parsed) {
      skipped.push({ ref: update.ref, why: parsed.problem });
      continue;
    }
    const planned = await planCommitFile(repo, update.after);
    if (planned.kind === 'missing') {
      skipped.push({ ref: update.ref, why: `no ${PIPELINE_FILE} at ${update.after.slice(0, 7)}` });
      continue;
    }
    if (planned.pipeline && !isPullRequestTriggered(planned.pipeline, parsed.base)) {
      skipped.push({ ref: update.ref, why: `on.pull_request does not ask for pull requests into ${parsed.base}` });
      continue;
    }
    if (planned.pipeline) {
      const changed = await filesChangedByPullRequest(repo, parsed.base, update.after);
      const paths = changed ? pathsAllow(planned.pipeline, 'pull_request', changed) : { run: true };
      if (!paths.run) {
        skipped.push({ ref: update.ref, why: paths.why ?? 'on.pull_request.paths: no changed file matches' });
        continue;
      }
    }
    let number = parsed.topic !== undefined ? await topicNumber(repo, parsed.topic) : undefined;
    if (number === undefined) {
      next ??= (await highestPullRequestNumber(repo)) + 1;
      number = next++;
    }
    const head = parsed.topic ?? `change-${number}`;
    const info = await commitInfo(repo, update.after);
    runs.push({
      update,
      number,
      ...(parsed.topic !== undefined ? { topic: parsed.topic } : {}),
      planned: {
        ref: update.ref,
        ...(planned.failure ? { failure: planned.failure } : {}),
        run: {
          projectId: project.id,
          pipeline: { file: PIPELINE_FILE, text: planned.text },
          trigger: {
            event: 'pull_request',
            branch: head,
            commit: update.after,
            commitMessage: info.message.slice(0, 2000),
            commitTimestampMs: info.timestampMs,
            sender: who,
            pullRequest: { number, base: parsed.base, head, fork: false, ...(info.message ? { title: info.message.split('\n')[0]!.slice(0, 300) } : {}) },
          },
        },
      },
    });
  }
  return { runs, skipped };
}

async function highestPullRequestNumber(repo: string): Promise<number> {
  const refs = await git(['for-each-ref', '--format=%(refname)', 'refs/pull/'], { cwd: repo });
  let highest = 0;
  for (const ref of refs.split('\n')) {
    const match = /^refs\/pull\/([1-9][0-9]{0,9})\/head$/.exec(ref);
    if (match) highest = Math.max(highest, Number(match[1]));
  }
  return highest;
}

/** The pull request number a topic was given by an earlier push, if any. */
async function topicNumber(repo: string, topic: string): Promise<number | undefined> {
  const target = (await gitMaybe(['symbolic-ref', '-q', '--', `refs/slipway/topics/${topic}`], { cwd: repo }))?.trim();
  const match = target ? /^refs\/pull\/([1-9][0-9]{0,9})\/head$/.exec(target) : null;
  return match ? Number(match[1]) : undefined;
}

/**
 * Moves each queued push from refs/for/… to refs/pull/N/head (and points its topic there); every
 * refs/for/… ref goes, so the next push to it is a new one. The runs are stored already, so what
 * fails here is logged: the commit then stays where the push put it, and the run still finds it.
 */
async function keepReviewCommits(ctx: GitPushContext, project: Project, updates: RefUpdate[], runs: ReviewRun[]): Promise<void> {
  const repo = repositoryPath(ctx.reposDir, project.name);
  const kept = new Map(runs.map((r) => [r.update.ref, r]));
  for (const update of updates) {
    if (update.after === ZERO_SHA) continue;
    const run = kept.get(update.ref);
    try {
      if (run) {
        await git(['update-ref', '--', `refs/pull/${run.number}/head`, update.after], { cwd: repo });
        if (run.topic !== undefined) await git(['symbolic-ref', '--', `refs/slipway/topics/${run.topic}`, `refs/pull/${run.number}/head`], { cwd: repo });
      }
      await git(['update-ref', '-d', '--', update.ref, update.after], { cwd: repo });
    } catch (err) {
      ctx.log(`push to ${project.name}: ${update.ref} not moved to its pull request ref: ${(err as Error).message}`);
    }
  }
}
