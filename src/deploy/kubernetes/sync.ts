// Drift and sync of an environment on the cluster: the objects its current revision renders are
// read back live and compared (drift.ts); a sync replaces the drifted ones with their fields put
// back, then applies the revision's objects again (server-side apply) — without a new revision.
import type { KubernetesObject, V1Deployment, V1Service, V2HorizontalPodAutoscaler } from '@kubernetes/client-node';
import { clamp } from '../autoscale.js';
import type { ScaleEvent } from '../scale-events.js';
import { DeployError, type DriftField, type RegistryPullAccess, type Revision } from '../types.js';
import { applyManifests, FIELD_MANAGER } from './apply.js';
import { apiStatusOf, toDeployError, type KubeClients } from './client.js';
import { autoscalerDrift, deploymentDrift, missingObject, serviceDrift, type ReplicasExpectation } from './drift.js';
import { isDeployment } from './environment.js';
import { generateManifests } from './manifests.js';
import { ensurePullSecret, pullSecretName, usePullSecret } from './pull-secret.js';

const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';

/** An environment's serving revision, as the cluster should run it. */
export interface RevisionPlan {
  app: string;
  environment: string;
  namespace: string;
  /** the revision that serves */
  current: Revision;
  /** through rollbacks, the revision whose template `current` restored: its number and change cause are on the objects */
  original: Revision;
  replicas: ReplicasExpectation;
}

/**
 * The count the Deployment should run: the last `slipway scale` of the current revision, else the
 * count its rollout set; none with a HorizontalPodAutoscaler, which sets it.
 */
export function expectedReplicas(current: Revision, events: ScaleEvent[]): ReplicasExpectation {
  if (current.config.autoscale?.targetCPU !== undefined) return { replicas: undefined, says: 'the HorizontalPodAutoscaler sets it' };
  const scaled = events.filter((e) => e.outcome === 'healthy' && e.revision === current.number).at(-1);
  if (scaled) return { replicas: scaled.to, says: `slipway scale set ${scaled.to}` };
  const replicas = current.appliedReplicas ?? current.config.replicas;
  return { replicas, says: `revision says ${replicas}` };
}

/** What the revision renders (manifests.ts), as its own rollout applied it. */
export function renderRevision(plan: RevisionPlan, replicas: number): KubernetesObject[] {
  const { app, environment, namespace, current, original } = plan;
  return generateManifests({ app, environment, namespace, spec: { ...current.config, replicas }, image: current.image, revision: original.number, trigger: original.trigger });
}

function keyOf(obj: KubernetesObject): string {
  return `${obj.kind ?? ''}/${obj.metadata?.name ?? ''}`;
}

async function readLive(clients: KubeClients, obj: KubernetesObject): Promise<KubernetesObject | undefined> {
  const name = obj.metadata?.name ?? '';
  const namespace = obj.metadata?.namespace ?? 'default';
  try {
    if (obj.kind === 'Deployment') return await clients.apps.readNamespacedDeployment({ name, namespace });
    if (obj.kind === 'Service') return await clients.core.readNamespacedService({ name, namespace });
    if (obj.kind === 'HorizontalPodAutoscaler') return await clients.autoscaling.readNamespacedHorizontalPodAutoscaler({ name, namespace });
    return undefined;
  } catch (err) {
    if (apiStatusOf(err)?.code === 404) return undefined;
    throw toDeployError(err, clients.server, `read ${obj.kind} ${name} in namespace ${namespace}`);
  }
}

export interface LiveDrift {
  fields: DriftField[];
  /** the drifted objects with their fields put back */
  corrections: KubernetesObject[];
  /** the live objects by kind/name; absent: not in the cluster */
  live: Map<string, KubernetesObject>;
}

/** How the environment's live objects differ from what its current revision renders. */
export async function liveDrift(clients: KubeClients, plan: RevisionPlan): Promise<LiveDrift> {
  const rendered = renderRevision(plan, plan.replicas.replicas ?? plan.current.config.replicas);
  const out: LiveDrift = { fields: [], corrections: [], live: new Map() };
  for (const obj of rendered) {
    const live = await readLive(clients, obj);
    if (!live) {
      out.fields.push(missingObject(obj));
      continue;
    }
    out.live.set(keyOf(obj), live);
    const drift =
      obj.kind === 'Deployment'
        ? deploymentDrift(live as V1Deployment, obj as V1Deployment, plan.replicas)
        : obj.kind === 'Service'
          ? serviceDrift(live as V1Service, obj as V1Service)
          : autoscalerDrift(live as V2HorizontalPodAutoscaler, obj as V2HorizontalPodAutoscaler);
    out.fields.push(...drift.fields);
    if (drift.corrected) out.corrections.push(drift.corrected);
  }
  return out;
}

/** How many times a put-back is tried again after a conflict (the controllers write status all the time). */
const CONFLICT_ATTEMPTS = 5;

/** Replaces `obj` as read, with its resourceVersion: false when it changed since (a 409 conflict). */
async function replace(clients: KubeClients, obj: KubernetesObject): Promise<boolean> {
  const name = obj.metadata?.name ?? '';
  const namespace = obj.metadata?.namespace ?? 'default';
  try {
    if (obj.kind === 'Deployment') await clients.apps.replaceNamespacedDeployment({ name, namespace, body: obj as V1Deployment, fieldManager: FIELD_MANAGER });
    else if (obj.kind === 'Service') await clients.core.replaceNamespacedService({ name, namespace, body: obj as V1Service, fieldManager: FIELD_MANAGER });
    else await clients.autoscaling.replaceNamespacedHorizontalPodAutoscaler({ name, namespace, body: obj as V2HorizontalPodAutoscaler, fieldManager: FIELD_MANAGER });
    return true;
  } catch (err) {
    if (apiStatusOf(err)?.code === 409) return false;
    throw toDeployError(err, clients.server, `put back ${obj.kind} ${name} in namespace ${namespace}`);
  }
}

/**
 * Replaces each drifted object with its fields put back. A change made meanwhile (by a person or a
 * controller writing status) is never overwritten: the object is read and compared again.
 */
async function putBack(clients: KubeClients, plan: RevisionPlan, onProgress: (line: string) => void): Promise<LiveDrift> {
  const found = await liveDrift(clients, plan);
  let drift = found;
  for (let attempt = 1; ; attempt++) {
    let conflicted = false;
    for (const obj of drift.corrections) {
      if (!(await replace(clients, obj))) {
        conflicted = true;
        continue;
      }
      const object = `${(obj.kind ?? '').toLowerCase()}/${obj.metadata?.name ?? ''}`;
      onProgress(`put back ${object}: ${drift.fields.filter((f) => f.object === object).map((f) => f.path).join(', ')}`);
    }
    if (!conflicted) return { ...drift, fields: found.fields };
    if (attempt >= CONFLICT_ATTEMPTS) throw new DeployError('ROLLOUT_INVALID', `the objects of ${plan.app}/${plan.environment} in namespace ${plan.namespace} kept changing while Slipway put them back (${attempt} attempts); sync again`);
    drift = await liveDrift(clients, plan);
  }
}

/**
 * Applies the current revision again: the drifted objects are replaced with their fields put back
 * (a field someone added, such as an environment variable, is owned by them and a server-side apply
 * alone would leave it), then the revision's objects are applied as its rollout did. The
 * Deployments to follow, and the fields put back.
 */
export async function reapplyRevision(clients: KubeClients, plan: RevisionPlan, access: RegistryPullAccess | undefined, onProgress: (line: string) => void): Promise<{ corrected: DriftField[]; deployments: V1Deployment[] }> {
  const { current } = plan;
  const drift = await putBack(clients, plan, onProgress);
  const rendered = renderRevision(plan, plan.replicas.replicas ?? current.config.replicas);
  const name = rendered.find(isDeployment)?.metadata?.name ?? '';
  const live = drift.live.get(`Deployment/${name}`) as V1Deployment | undefined;
  const autoscale = current.config.autoscale;
  // with an autoscaler, the count it set (within its bounds) stays
  const replicas = plan.replicas.replicas ?? (autoscale ? clamp(live?.spec?.replicas ?? current.config.replicas, autoscale) : current.config.replicas);
  const objects = renderRevision(plan, replicas);
  const template = live?.spec?.template;
  const restartedAt = template?.metadata?.annotations?.[RESTARTED_AT];
  for (const d of objects.filter(isDeployment)) {
    // a forced deploy's restart stays: taking it away would restart the pods once more
    const t = d.spec?.template;
    if (t && restartedAt) t.metadata = { ...t.metadata, annotations: { ...t.metadata?.annotations, [RESTARTED_AT]: restartedAt } };
  }
  const secret = (await ensurePullSecret(clients, { access, namespace: plan.namespace, app: plan.app, environment: plan.environment, image: current.image, onProgress })) ??
    // without the server's registry at hand (a local CLI), a secret the pods already use stays named
    template?.spec?.imagePullSecrets?.find((s) => s.name === pullSecretName(plan.app, plan.environment))?.name;
  if (secret) usePullSecret(objects, secret, current.image);
  await applyManifests(clients, objects, onProgress);
  return { corrected: drift.fields, deployments: objects.filter(isDeployment) };
}
