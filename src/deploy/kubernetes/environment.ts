// What the kubernetes target reads of an environment besides the cluster's answers: the revision
// that serves (and, through rollbacks, the one whose template it restored), the folders of the
// history, and the environment's Deployments found by their labels.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { KubernetesObject, V1Deployment } from '@kubernetes/client-node';
import type { RevisionStore } from '../revisions.js';
import { DeployError, type Revision } from '../types.js';
import { toDeployError, type KubeClients } from './client.js';
import { LABEL_APP, LABEL_ENVIRONMENT } from './manifests.js';

export const DEFAULT_NAMESPACE = 'default';

export function isDeployment(obj: KubernetesObject): obj is V1Deployment {
  return obj.kind === 'Deployment' && (obj.apiVersion === 'apps/v1' || obj.apiVersion === undefined);
}

export function keyOf(d: V1Deployment): string {
  return `${d.metadata?.namespace ?? ''}/${d.metadata?.name ?? ''}`;
}

/** The revision an environment serves: the newest one that became healthy. */
export function currentOf(history: Revision[]): Revision | undefined {
  return [...history].reverse().find((r) => r.outcome === 'healthy');
}

/** Through rollbacks of rollbacks, the revision whose template the cluster's ReplicaSet holds. */
export function originalOf(history: Revision[], revision: Revision): Revision {
  let r = revision;
  for (let i = 0; i < history.length && r.restoredFrom !== undefined; i++) {
    const from = history.find((x) => x.number === r.restoredFrom);
    if (!from) break;
    r = from;
  }
  return r;
}

/** The environment's Deployments (found by label); none is an environment with nothing to act on. */
export async function deploymentsOf(clients: KubeClients, namespace: string, app: string, environment: string): Promise<V1Deployment[]> {
  let deployments: V1Deployment[];
  try {
    deployments = (await clients.apps.listNamespacedDeployment({ namespace, labelSelector: `${LABEL_APP}=${app},${LABEL_ENVIRONMENT}=${environment}` })).items;
  } catch (err) {
    throw toDeployError(err, clients.server, `list the deployments of ${app}/${environment} in namespace ${namespace}`);
  }
  if (deployments.length === 0) throw new DeployError('ROLLOUT_NO_REVISION', `no Deployment of ${app}/${environment} in namespace ${namespace} on ${clients.server}`);
  return deployments;
}

function removedMarker(dataDir: string, app: string, environment: string): string {
  return path.join(dataDir, 'deploy', app, environment, 'removed.json');
}

/** Marks the environment taken down at revision `revision` (status no longer lists it). */
export async function markRemoved(dataDir: string, app: string, environment: string, revision: number): Promise<void> {
  await writeFile(removedMarker(dataDir, app, environment), JSON.stringify({ removedAt: new Date().toISOString(), revision }));
}

/** Whether the environment was removed after its newest revision (a later deploy brings it back). */
export async function removedAfter(dataDir: string, app: string, environment: string, latest: Revision): Promise<boolean> {
  const marker = await readFile(removedMarker(dataDir, app, environment), 'utf8').catch(() => undefined);
  if (marker === undefined) return false;
  try {
    return (JSON.parse(marker) as { revision?: unknown }).revision === latest.number;
  } catch {
    return false;
  }
}

export interface KubernetesEnvironment {
  app: string;
  environment: string;
  history: Revision[];
  /** the revision that serves, if one does */
  current?: Revision;
}

/** The environments (or those of `app`, `environment`) whose newest revision went to kubernetes and that were not removed since. */
export async function kubernetesEnvironments(dataDir: string, revisions: RevisionStore, app?: string, environment?: string): Promise<KubernetesEnvironment[]> {
  const out: KubernetesEnvironment[] = [];
  const all = app && environment ? [{ app, environment }] : (await revisions.environments(app)).filter((e) => !environment || e.environment === environment);
  for (const { app: a, environment: e } of all) {
    const history = await revisions.list(a, e);
    const latest = history.at(-1);
    if (!latest || latest.target !== 'kubernetes' || (await removedAfter(dataDir, a, e, latest))) continue;
    const current = currentOf(history);
    out.push({ app: a, environment: e, history, ...(current ? { current } : {}) });
  }
  return out;
}
