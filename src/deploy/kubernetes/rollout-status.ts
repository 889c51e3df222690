// When a Deployment's rollout is done, still waiting, or failed — exactly the rules of
// `kubectl rollout status` (kubectl/pkg/polymorphichelpers/rollout_status.go), as
// (message, done, error) so the table-driven tests can hold it to kubectl's answers.
import type { V1Deployment } from '@kubernetes/client-node';

export interface RolloutStatus {
  message: string;
  done: boolean;
  /** set when the rollout cannot finish: the progress deadline passed */
  error?: string;
}

export function rolloutStatus(deployment: V1Deployment): RolloutStatus {
  const name = deployment.metadata?.name ?? '';
  const generation = deployment.metadata?.generation ?? 0;
  const status = deployment.status ?? {};
  if (generation > (status.observedGeneration ?? 0)) {
    return { message: 'Waiting for deployment spec update to be observed...\n', done: false };
  }
  const progressing = status.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return { message: '', done: false, error: `deployment "${name}" exceeded its progress deadline` };
  }
  const want = deployment.spec?.replicas ?? 1;
  const updated = status.updatedReplicas ?? 0;
  const replicas = status.replicas ?? 0;
  const available = status.availableReplicas ?? 0;
  if (updated < want) {
    return { message: `Waiting for deployment "${name}" rollout to finish: ${updated} out of ${want} new replicas have been updated...\n`, done: false };
  }
  if (replicas > updated) {
    return { message: `Waiting for deployment "${name}" rollout to finish: ${replicas - updated} old replicas are pending termination...\n`, done: false };
  }
  if (available < updated) {
    return { message: `Waiting for deployment "${name}" rollout to finish: ${available} of ${updated} updated replicas are available...\n`, done: false };
  }
  return { message: `deployment "${name}" successfully rolled out\n`, done: true };
}

/** The short progress line Slipway shows: `2/3 updated, 1 available`. */
export function progressLine(deployment: V1Deployment): string {
  const status = deployment.status ?? {};
  const want = deployment.spec?.replicas ?? 1;
  const old = Math.max(0, (status.replicas ?? 0) - (status.updatedReplicas ?? 0));
  return `${status.updatedReplicas ?? 0}/${want} updated, ${status.availableReplicas ?? 0} available${old > 0 ? `, ${old} old pending termination` : ''}`;
}
