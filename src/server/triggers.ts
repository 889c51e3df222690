// What a push becomes: for every branch or tag it moved (deletions run nothing), the pipeline file
// of the new commit decides whether it runs (`on.push` filters), and a run is queued with that
// file as it was — an invalid file still queues a run, which fails showing the file's errors.
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
