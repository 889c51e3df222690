// An environment's status on the cluster: its Deployments' replicas and rollout state, the
// Service it is reached at, and how the live objects drifted from the current revision.
import { readScaleEvents } from '../scale-events.js';
import type { Drift, EnvironmentStatus, Revision } from '../types.js';
import type { KubeClients } from './client.js';
import { currentOf, DEFAULT_NAMESPACE, originalOf } from './environment.js';
import { LABEL_APP, LABEL_ENVIRONMENT, workloadName } from './manifests.js';
import { rolloutStatus } from './rollout-status.js';
import { expectedReplicas, liveDrift, type RevisionPlan } from './sync.js';

export async function environmentStatus(connect: () => KubeClients, dataDir: string, app: string, environment: string, history: Revision[]): Promise<EnvironmentStatus> {
  const current = currentOf(history);
  const latest = history.at(-1) as Revision;
  const namespace = latest.config.kubernetes?.namespace ?? DEFAULT_NAMESPACE;
  const status: EnvironmentStatus = { app, environment, target: 'kubernetes', ...(current ? { current } : {}), replicas: { desired: latest.config.replicas, ready: 0 } };
  try {
    const clients = connect();
    const deployments = (await clients.apps.listNamespacedDeployment({ namespace, labelSelector: `${LABEL_APP}=${app},${LABEL_ENVIRONMENT}=${environment}` })).items;
    status.replicas = {
      desired: deployments.reduce((n, d) => n + (d.spec?.replicas ?? 1), 0),
      ready: deployments.reduce((n, d) => n + (d.status?.readyReplicas ?? 0), 0),
      updated: deployments.reduce((n, d) => n + (d.status?.updatedReplicas ?? 0), 0),
    };
    status.message = deployments.map((d) => {
      const s = rolloutStatus(d);
      return s.error ?? s.message.trim();
    }).join('; ') || `no Deployment of ${app}/${environment} in namespace ${namespace}`;
    if (!latest.config.kubernetes?.manifests) {
      const name = workloadName(app, environment);
      status.endpoint = `${name}.${namespace}.svc:${latest.config.port}`;
    }
    if (current) status.drift = await driftOf(clients, dataDir, history, current);
  } catch (err) {
    status.message = err instanceof Error ? err.message : String(err);
  }
  return status;
}

/** How the live objects differ from the current revision, or why that is not known. */
async function driftOf(clients: KubeClients, dataDir: string, history: Revision[], current: Revision): Promise<Drift> {
  const latest = history.at(-1) as Revision;
  const drift: Drift = { revision: current.number, fields: [] };
  if (latest.outcome === 'in-progress') return { ...drift, unchecked: `revision ${latest.number} is being rolled out` };
  if (current.config.kubernetes?.manifests) return { ...drift, unchecked: 'the revision applied your own manifests (kubernetes.manifests), which Slipway does not keep to compare with' };
  try {
    drift.fields = (await liveDrift(clients, await planOf(dataDir, history, current))).fields;
  } catch (err) {
    // the rest of the status stands: a cluster that forbids reading the Service says so here only
    return { ...drift, unchecked: err instanceof Error ? err.message : String(err) };
  }
  return drift;
}

/** The current revision as the cluster should run it, with the replica count Slipway set last. */
export async function planOf(dataDir: string, history: Revision[], current: Revision): Promise<RevisionPlan> {
  const { app, environment } = current;
  const events = await readScaleEvents(dataDir, app, environment);
  return { app, environment, namespace: current.config.kubernetes?.namespace ?? DEFAULT_NAMESPACE, current, original: originalOf(history, current), replicas: expectedReplicas(current, events) };
}
