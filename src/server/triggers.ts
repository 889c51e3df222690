// What a push becomes: for every branch or tag it moved (deletions run nothing), the pipeline file
// of the new commit decides whether it runs (`on.push` filters), and a run is queued with that
// file as it was. A file that cannot be planned (invalid, too large, or one the planner fails on)
// still becomes a run, stored as failed at planning with the reason in its log: a push that
// succeeded always has its runs. A manual run (API, CLI) is the same, for a branch or commit a
// person names, without the filters.
import { formatDiagnostic, isBranchTriggered, isTagTriggered, MAX_PIPELINE_FILE_BYTES, parsePipeline, pathsAllow, type Pipeline } from '../spec/index.js';
import { filesChangedByPush } from './changed-files.js';
import type { EnqueueRun, Project, Run, Store, Trigger } from '../store/types.js';
import { git, gitMaybe } from '../git/index.js';
import { ZERO_SHA, type RefUpdate } from './git.js';
import { commitInfo, readCommitFile } from './workspace.js';
import type { PipelineSnapshot } from './runs/index.js';

export const PIPELINE_FILE = 'slipway.yaml';

/** Why a planned run failed before it could run: its first line is the run's reason. */
export interface PlanningFailure {
  reason: string;
  lines: string[];
}

export interface PlannedRun {
  run: EnqueueRun;
  ref: string;
  failure?: PlanningFailure;
}

/** The pipeline of a file, or why it cannot be run. */
function planFile(text: string): { pipeline: Pipeline; failure?: undefined } | { pipeline?: undefined; failure: PlanningFailure } {
  let loaded;
  try {
    loaded = parsePipeline(text, PIPELINE_FILE);
  } catch (err) {
    const reason = `${PIPELINE_FILE} could not be read: ${(err as Error).message.slice(0, 300)}`;
    return { failure: { reason, lines: [reason] } };
  }
  if (loaded.pipeline) return { pipeline: loaded.pipeline };
  const lines = loaded.diagnostics.map(formatDiagnostic);
  return { failure: { reason: `${PIPELINE_FILE} is not valid: ${lines[0] ?? 'no details'}`, lines } };
}

export interface SkippedRef {
  ref: string;
  why: string;
}

/** A commit's pipeline file as planning sees it: none, or its text with the pipeline or why it cannot run. */
export type PlannedFile = { kind: 'missing' } | { kind: 'planned'; text: string; pipeline?: Pipeline; failure?: PlanningFailure };

/** Reads and plans the pipeline file of a commit of the bare repository. */
export async function planCommitFile(repo: string, commit: string): Promise<PlannedFile> {
  const read = await readCommitFile(repo, commit, PIPELINE_FILE);
  if (read.kind === 'missing') return { kind: 'missing' };
  if (read.kind === 'too-large') {
    const reason = `${PIPELINE_FILE} is ${read.sizeBytes} bytes; a pipeline file has at most ${MAX_PIPELINE_FILE_BYTES} bytes`;
    // a file too large to plan is not stored with the run: its reason says all there is
    return { kind: 'planned', text: '', failure: { reason, lines: [`${PIPELINE_FILE}:1:1: ${reason}`] } };
  }
  const planned = planFile(read.text);
  return planned.pipeline ? { kind: 'planned', text: read.text, pipeline: planned.pipeline } : { kind: 'planned', text: read.text, failure: planned.failure };
}

/** The runs a push of these refs asks for, read from the bare repository. */
export async function planPushRuns(
  repo: string,
  project: Project,
  updates: RefUpdate[],
  trigger: Pick<Trigger, 'event' | 'sender' | 'deliveryId'>,
): Promise<{ runs: PlannedRun[]; skipped: SkippedRef[] }> {
  const runs: PlannedRun[] = [];
  const skipped: SkippedRef[] = [];
  for (const update of updates) {
    if (update.after === ZERO_SHA || /^0+$/.test(update.after)) {
      skipped.push({ ref: update.ref, why: 'deleted' });
      continue;
    }
    const isBranch = update.ref.startsWith('refs/heads/');
    const isTag = update.ref.startsWith('refs/tags/');
    if (!isBranch && !isTag) {
      skipped.push({ ref: update.ref, why: 'neither a branch nor a tag' });
      continue;
    }
    const name = refName(update.ref);
    const planned = await planCommitFile(repo, update.after);
    if (planned.kind === 'missing') {
      skipped.push({ ref: update.ref, why: `no ${PIPELINE_FILE} at ${update.after.slice(0, 7)}` });
      continue;
    }
    const { text, failure } = planned;
    if (planned.pipeline && !(isBranch ? isBranchTriggered(planned.pipeline, name) : isTagTriggered(planned.pipeline, name))) {
      skipped.push({ ref: update.ref, why: `on.push does not ask for ${isBranch ? 'branch' : 'tag'} ${name}` });
      continue;
    }
    // tags are releases: not filtered by what they changed
    if (planned.pipeline && isBranch) {
      const changed = await filesChangedByPush(repo, update.before, update.after);
      const paths = changed ? pathsAllow(planned.pipeline, 'push', changed) : { run: true };
      if (!paths.run) {
        skipped.push({ ref: update.ref, why: paths.why ?? 'on.push.paths: no changed file matches' });
        continue;
      }
    }
    const info = await commitInfo(repo, update.after);
    const snapshot: PipelineSnapshot = { file: PIPELINE_FILE, text };
    runs.push({
      ref: update.ref,
      ...(failure ? { failure } : {}),
      run: {
        projectId: project.id,
        pipeline: snapshot,
        trigger: {
          event: trigger.event,
          branch: name,
          commit: update.after,
          commitMessage: info.message.slice(0, 2000),
          commitTimestampMs: info.timestampMs,
          sender: trigger.sender,
          ...(trigger.deliveryId ? { deliveryId: trigger.deliveryId } : {}),
        },
      },
    });
  }
  return { runs, skipped };
}

/**
 * Queues the planned runs of one push (or poll) in one transaction: all of them or none. A run
 * that failed at planning is stored failed, with its reason and the file's errors as its log.
 */
export async function enqueuePlannedRuns(store: Store, planned: PlannedRun[]): Promise<Array<{ ref: string; run: Run; failure?: PlanningFailure }>> {
  if (planned.length === 0) return [];
  return store.transaction(async (tx) => {
    const stored: Array<{ ref: string; run: Run; failure?: PlanningFailure }> = [];
    for (const { run, ref, failure } of planned) {
      let queued = await tx.enqueueRun(run);
      if (failure) {
        await tx.appendLogs(queued.id, failure.lines.map((line) => ({ job: 'pipeline', stream: 'system' as const, line })));
        queued = await tx.updateRunStatus(queued.id, 'failure', { reason: failure.reason.slice(0, 2000) });
      }
      stored.push({ ref, run: queued, ...(failure ? { failure } : {}) });
    }
    return stored;
  });
}

/** The branch or tag name of a ref (refs/heads/main → main). */
function refName(ref: string): string {
  return ref.replace(/^refs\/(heads|tags)\//, '');
}

/** One line per stored run, and per ref that runs nothing, for the pusher's terminal (`remote: …`). */
export function pushMessages(stored: Array<{ ref: string; run: Run; failure?: PlanningFailure }>, skipped: SkippedRef[], publicUrl: string): string[] {
  const runs = stored.map(({ ref, run, failure }) => {
    const link = `${publicUrl}/api/runs/${run.id}`;
    return failure ? `slipway: ${refName(ref)}: run #${run.number} failed at planning: ${failure.reason.slice(0, 300)} (${link})` : `slipway: ${refName(ref)}: run #${run.number} queued: ${link}`;
  });
  return [...runs, ...skipped.map((skip) => `slipway: ${refName(skip.ref)}: nothing to run (${skip.why})`)];
}

/** Why a manual run cannot be queued: the person named something the repository does not have. */
export class ManualRunError extends Error {
  constructor(
    readonly code: 'RUN_REF_INVALID' | 'RUN_REF_NOT_FOUND' | 'RUN_NO_PIPELINE',
    message: string,
  ) {
    super(message);
  }
}

// git's own ref rules are looser; this keeps option-like and odd names away from the git command line
const BRANCH = /^(?!-)(?!.*\.\.)[A-Za-z0-9._\/-]{1,200}$/;
const COMMIT = /^[0-9a-f]{4,40}$/;

async function revParse(repo: string, rev: string): Promise<string | undefined> {
  return (await gitMaybe(['rev-parse', '--verify', '-q', '--end-of-options', `${rev}^{commit}`], { cwd: repo }))?.trim() || undefined;
}

/**
 * The run a person asks for: `commit` (full or abbreviated), else the tip of `branch`, else the
 * tip of the repository's default branch. The branch of a named commit is the one whose tip it
 * is, if any, so that `if: branch == …` conditions see what a push of it would have shown.
 * `on.push` filters do not apply: a person asked for this run.
 */
export async function planManualRun(repo: string, project: Project, ask: { branch?: string; commit?: string }, sender: string): Promise<EnqueueRun> {
  if (ask.branch !== undefined && !BRANCH.test(ask.branch)) throw new ManualRunError('RUN_REF_INVALID', `'${ask.branch}' is not a branch name`);
  if (ask.commit !== undefined && !COMMIT.test(ask.commit)) throw new ManualRunError('RUN_REF_INVALID', `'${ask.commit}' is not a commit id (4 to 40 lower-case hex digits)`);
  let branch = ask.branch;
  if (branch === undefined && ask.commit === undefined) {
    branch = ((await gitMaybe(['symbolic-ref', '--short', 'HEAD'], { cwd: repo })) ?? 'main').trim();
  }
  let commit: string | undefined;
  if (ask.commit !== undefined) {
    commit = await revParse(repo, ask.commit);
    if (!commit) throw new ManualRunError('RUN_REF_NOT_FOUND', `project '${project.name}' has no commit ${ask.commit} (push it first)`);
  } else {
    commit = await revParse(repo, `refs/heads/${branch ?? ''}`);
    if (!commit) {
      const branches = ((await gitMaybe(['for-each-ref', '--format=%(refname:short)', 'refs/heads'], { cwd: repo })) ?? '').split('\n').filter(Boolean);
      throw new ManualRunError('RUN_REF_NOT_FOUND', `project '${project.name}' has no branch '${branch ?? ''}'${branches.length ? ` (branches: ${branches.slice(0, 20).join(', ')})` : ' (nothing was pushed to it yet)'}`);
    }
  }
  if (branch === undefined) {
    const tips = (await git(['for-each-ref', `--points-at=${commit}`, '--format=%(refname:short)', 'refs/heads'], { cwd: repo })).split('\n').filter(Boolean);
    branch = tips[0] ?? '';
  }
  const read = await readCommitFile(repo, commit, PIPELINE_FILE);
  if (read.kind === 'missing') throw new ManualRunError('RUN_NO_PIPELINE', `there is no ${PIPELINE_FILE} at ${commit.slice(0, 7)} of project '${project.name}'`);
  if (read.kind === 'too-large') throw new ManualRunError('RUN_NO_PIPELINE', `${PIPELINE_FILE} at ${commit.slice(0, 7)} is ${read.sizeBytes} bytes; a pipeline file has at most ${MAX_PIPELINE_FILE_BYTES} bytes`);
  const text = read.text;
  const info = await commitInfo(repo, commit);
  const snapshot: PipelineSnapshot = { file: PIPELINE_FILE, text };
  return {
    projectId: project.id,
    pipeline: snapshot,
    trigger: { event: 'manual', branch, commit, commitMessage: info.message.slice(0, 2000), commitTimestampMs: info.timestampMs, sender },
  };
}
