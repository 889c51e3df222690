// What a push becomes: for every branch or tag it moved (deletions run nothing), the pipeline file
// of the new commit decides whether it runs (`on.push` filters), and a run is queued with that
// file as it was — an invalid file still queues a run, which fails showing the file's errors.
// A manual run (API, CLI) is the same, for a branch or commit a person names, without the filters.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { isBranchTriggered, isTagTriggered, parsePipeline } from '../spec/index.js';
import type { EnqueueRun, Project, Store, Trigger } from '../store/types.js';
import { ZERO_SHA, type RefUpdate } from './git.js';
import { commitInfo, readFileAtCommit } from './workspace.js';
import type { PipelineSnapshot } from './runner.js';

export const PIPELINE_FILE = 'slipway.yaml';

export interface PlannedRun {
  run: EnqueueRun;
  ref: string;
}

export interface SkippedRef {
  ref: string;
  why: string;
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
    const name = update.ref.replace(/^refs\/(heads|tags)\//, '');
    const text = await readFileAtCommit(repo, update.after, PIPELINE_FILE);
    if (text === undefined) {
      skipped.push({ ref: update.ref, why: `no ${PIPELINE_FILE} at ${update.after.slice(0, 7)}` });
      continue;
    }
    const loaded = parsePipeline(text, PIPELINE_FILE);
    if (loaded.pipeline) {
      const wanted = isBranch ? isBranchTriggered(loaded.pipeline, name) : isTagTriggered(loaded.pipeline, name);
      if (!wanted) {
        skipped.push({ ref: update.ref, why: `on.push does not ask for ${isBranch ? 'branch' : 'tag'} ${name}` });
        continue;
      }
    }
    const info = await commitInfo(repo, update.after);
    const snapshot: PipelineSnapshot = { file: PIPELINE_FILE, text };
    runs.push({
      ref: update.ref,
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

/** Queues the planned runs of one push (or poll) in one transaction: all of them or none. */
export async function enqueuePlannedRuns(store: Store, planned: PlannedRun[]): Promise<void> {
  if (planned.length === 0) return;
  await store.transaction(async (tx) => {
    for (const { run } of planned) await tx.enqueueRun(run);
  });
}

const git = promisify(execFile);

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
  try {
    return (await git('git', ['-C', repo, 'rev-parse', '--verify', '-q', `${rev}^{commit}`])).stdout.trim() || undefined;
  } catch {
    return undefined;
  }
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
    branch = (await git('git', ['-C', repo, 'symbolic-ref', '--short', 'HEAD']).catch(() => ({ stdout: 'main' }))).stdout.trim();
  }
  let commit: string | undefined;
  if (ask.commit !== undefined) {
    commit = await revParse(repo, ask.commit);
    if (!commit) throw new ManualRunError('RUN_REF_NOT_FOUND', `project '${project.name}' has no commit ${ask.commit} (push it first)`);
  } else {
    commit = await revParse(repo, `refs/heads/${branch ?? ''}`);
    if (!commit) {
      const branches = (await git('git', ['-C', repo, 'for-each-ref', '--format=%(refname:short)', 'refs/heads']).catch(() => ({ stdout: '' }))).stdout.split('\n').filter(Boolean);
      throw new ManualRunError('RUN_REF_NOT_FOUND', `project '${project.name}' has no branch '${branch ?? ''}'${branches.length ? ` (branches: ${branches.slice(0, 20).join(', ')})` : ' (nothing was pushed to it yet)'}`);
    }
  }
  if (branch === undefined) {
    const tips = (await git('git', ['-C', repo, 'for-each-ref', `--points-at=${commit}`, '--format=%(refname:short)', 'refs/heads'])).stdout.split('\n').filter(Boolean);
    branch = tips[0] ?? '';
  }
  const text = await readFileAtCommit(repo, commit, PIPELINE_FILE);
  if (text === undefined) throw new ManualRunError('RUN_NO_PIPELINE', `there is no ${PIPELINE_FILE} at ${commit.slice(0, 7)} of project '${project.name}'`);
  const info = await commitInfo(repo, commit);
  const snapshot: PipelineSnapshot = { file: PIPELINE_FILE, text };
  return {
    projectId: project.id,
    pipeline: snapshot,
    trigger: { event: 'manual', branch, commit, commitMessage: info.message.slice(0, 2000), commitTimestampMs: info.timestampMs, sender },
  };
}
