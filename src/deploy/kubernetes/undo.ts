// Restoring a revision the way `kubectl rollout undo` does (kubectl polymorphichelpers/rollback.go):
// the target ReplicaSet's pod template (minus pod-template-hash) and its annotations (minus the
// Deployment's own bookkeeping) are patched into the Deployment, and the controller rolls it out.
import { PatchStrategy, setHeaderOptions, type V1Deployment, type V1PodTemplateSpec, type V1ReplicaSet } from '@kubernetes/client-node';
import { DeployError } from '../types.js';
import { toDeployError, type KubeClients } from './client.js';

export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
/** annotations that belong to the Deployment and survive a rollback unchanged */
const KEPT_ANNOTATIONS = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION_ANNOTATION,
  'deployment.kubernetes.io/revision-history',
  'deployment.kubernetes.io/desired-replicas',
  'deployment.kubernetes.io/max-replicas',
  'deprecated.deployment.rollback.to',
]);

export function revisionOf(rs: V1ReplicaSet): number {
  return Number(rs.metadata?.annotations?.[REVISION_ANNOTATION] ?? '0') || 0;
}

/** Which ReplicaSet to restore: exactly `toRevision`, or with none the previous (second-highest) revision. */
export function selectRevision(replicaSets: V1ReplicaSet[], name: string, toRevision?: number): V1ReplicaSet {
  if (toRevision) {
    const found = replicaSets.find((rs) => revisionOf(rs) === toRevision);
    if (!found) throw new DeployError('ROLLOUT_NO_REVISION', `unable to find specified revision ${toRevision} in history of deployment "${name}" (only revisions still held by its ReplicaSets can be restored: ${replicaSets.map(revisionOf).sort((a, b) => a - b).join(', ') || 'none'})`);
    return found;
  }
  const sorted = [...replicaSets].sort((a, b) => revisionOf(b) - revisionOf(a));
  if (sorted.length === 0) throw new DeployError('ROLLOUT_NO_REVISION', `no rollout history found for deployment "${name}"`);
  const previous = sorted[1];
  if (!previous) throw new DeployError('ROLLOUT_NO_REVISION', `no previous revision of deployment "${name}" to roll back to`);
  return previous;
}

export function withoutHash(template: V1PodTemplateSpec | undefined): V1PodTemplateSpec {
  const copy = structuredClone(template ?? {});
  if (copy.metadata?.labels) delete copy.metadata.labels['pod-template-hash'];
  return copy;
}

function equalTemplates(a: V1PodTemplateSpec | undefined, b: V1PodTemplateSpec | undefined): boolean {
  const norm = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(norm);
    if (v && typeof v === 'object' && !(v instanceof Date)) {
      return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined && x !== null).sort(([x], [y]) => x.localeCompare(y)).map(([k, x]) => [k, norm(x)]));
    }
    return v;
  };
  return JSON.stringify(norm(withoutHash(a))) === JSON.stringify(norm(withoutHash(b)));
}

/** The JSON patch `kubectl rollout undo` sends. */
export function undoPatch(deployment: V1Deployment, target: V1ReplicaSet): object[] {
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(deployment.metadata?.annotations ?? {})) if (KEPT_ANNOTATIONS.has(k)) annotations[k] = v;
  for (const [k, v] of Object.entries(target.metadata?.annotations ?? {})) if (!KEPT_ANNOTATIONS.has(k)) annotations[k] = v;
  return [
    { op: 'replace', path: '/spec/template', value: withoutHash(target.spec?.template) },
    { op: 'replace', path: '/metadata/annotations', value: annotations },
  ];
}

export async function listOwnedReplicaSets(clients: KubeClients, deployment: V1Deployment): Promise<V1ReplicaSet[]> {
  const namespace = deployment.metadata?.namespace ?? 'default';
  const selector = Object.entries(deployment.spec?.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
  const list = await clients.apps.listNamespacedReplicaSet({ namespace, labelSelector: selector });
  return list.items.filter((rs) => rs.metadata?.ownerReferences?.some((o) => o.controller && o.uid === deployment.metadata?.uid));
}

export interface UndoResult {
  /** false when the Deployment already runs the target's template */
  changed: boolean;
  /** the Kubernetes revision restored */
  fromRevision: number;
  message: string;
}

export async function undoDeployment(clients: KubeClients, namespace: string, name: string, toRevision?: number): Promise<UndoResult> {
  const doing = `roll back deployment ${name} in namespace ${namespace}`;
  try {
    const deployment = await clients.apps.readNamespacedDeployment({ name, namespace });
    if (deployment.spec?.paused) throw new DeployError('ROLLOUT_INVALID', `you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume deployment/${name}' and try again`);
    const target = selectRevision(await listOwnedReplicaSets(clients, deployment), name, toRevision);
    const revision = revisionOf(target);
    if (equalTemplates(target.spec?.template, deployment.spec?.template)) {
      return { changed: false, fromRevision: revision, message: `skipped rollback (current template already matches revision ${revision})` };
    }
    await clients.apps.patchNamespacedDeployment(
      { name, namespace, body: undoPatch(deployment, target), fieldManager: 'slipway' },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
    return { changed: true, fromRevision: revision, message: `deployment "${name}" rolled back to revision ${revision}` };
  } catch (err) {
    throw toDeployError(err, clients.server, doing);
  }
}
