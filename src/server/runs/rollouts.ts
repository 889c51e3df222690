// The server's history of revisions, which the API and the DORA metrics read: every rollout, by a
// run's deploy job or through the API, is recorded in the store with where it came from.
import type { DeployTargets } from '../../engine/deploy-runner.js';
import type { DeployOutcome } from '../../deploy/index.js';
import type { Run, Store } from '../../store/types.js';

/**
 * The run's deploy targets, each rollout also recorded in the store: the server's history of
 * revisions that the API and the DORA metrics read (the targets keep their own for rollbacks).
 */
export function recordingTargets(
  targets: DeployTargets,
  store: Store,
  run: Run,
  log: (message: string) => void,
  /** a pull request's preview that became healthy, with where it is reached */
  onPreview?: (environment: string, endpoint: string) => Promise<void>,
): DeployTargets {
  return async (name) => {
    const target = await targets(name);
    return {
      name: target.name,
      history: (app, environment) => target.history(app, environment),
      status: (app, environment) => target.status(app, environment),
      rollback: (request) => target.rollback(request),
      remove: (app, environment) => target.remove(app, environment),
      scale: (request) => target.scale(request),
      async deploy(request) {
        const outcome = await target.deploy(request);
        const origin = {
          projectId: run.projectId,
          commit: run.trigger.commit,
          commitTimestampMs: run.trigger.commitTimestampMs,
          runId: run.id,
          ...(request.preview ? { previewTtlMs: request.preview.ttlMs } : {}),
        };
        // a no-op added no revision: nothing to record (it would count as a deploy in the DORA metrics)
        if (outcome.outcome !== 'unchanged') {
          await recordRollout(store, outcome, origin).catch((err: unknown) => {
            log(`run ${run.id}: revision ${outcome.revision.number} of ${outcome.revision.app}/${outcome.revision.environment} not recorded: ${(err as Error).message}`);
          });
        }
        if (request.preview && (outcome.outcome === 'healthy' || outcome.outcome === 'unchanged') && onPreview) {
          const endpoint = (await target.status(request.app, request.environment).catch(() => []))[0]?.endpoint;
          if (endpoint) {
            request.onProgress(`preview of pull request #${request.preview.pullRequest}: ${endpoint}`);
            await onPreview(request.environment, endpoint).catch(() => undefined);
          }
        }
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
  origin: { projectId?: string; commit?: string; commitTimestampMs?: number; runId?: string; previewTtlMs?: number },
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
    ...(origin.previewTtlMs !== undefined ? { previewTtlMs: origin.previewTtlMs } : {}),
    ...(outcome.reason ? { reason: outcome.reason.slice(0, 4000) } : {}),
    createdAtMs: Date.parse(revision.createdAt) || Date.now(),
    finishedAtMs: revision.finishedAt ? Date.parse(revision.finishedAt) || Date.now() : Date.now(),
  });
}
