// The `kubernetes` deploy target: applies the environment's manifests with server-side apply,
// follows the rollout like `kubectl rollout status`, restores the previous revision like
// `kubectl rollout undo` when it fails, and keeps Slipway's revision history like the docker target.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { KubernetesObject, V1Deployment } from '@kubernetes/client-node';
import { RevisionStore } from '../revisions.js';
import { replicasForRollout, scaleProblem } from '../autoscale.js';
import { appendScaleEvent, type ScaleEvent, type ScaleOutcome, type ScaleRequest } from '../scale-events.js';
import { isSameRelease, pinnedDigest, rollbackTarget, unchangedOutcome } from '../changes.js';
import { DeployError, type DeployOutcome, type DeployRequest, type DeployTarget, type EnvironmentStatus, type Revision, type RollbackRequest } from '../types.js';
import { applyManifests } from './apply.js';
import { apiStatusOf, loadKubeConfig, makeClients, toDeployError, type KubeClients } from './client.js';
import { followRollout, type FollowResult } from './follow.js';
import { ANNOTATION_CHANGE_CAUSE, ANNOTATION_REVISION, changeCause, generateManifests, LABEL_APP, LABEL_ENVIRONMENT, loadManifests, restartPodTemplates, substituteImage, workloadName } from './manifests.js';
import { rolloutStatus } from './rollout-status.js';
import { listOwnedReplicaSets, REVISION_ANNOTATION, revisionOf, undoDeployment } from './undo.js';

export interface KubernetesTargetOptions {
  dataDir: string;
  /** a kubeconfig file; default: KUBECONFIG, ~/.kube/config, then the in-cluster service account */
  kubeconfig?: string;
  /** where relative `kubernetes.manifests` paths are read from when a request names no workspace */
  workspace?: string;
  /** how long past a Deployment's progress deadline Slipway waits for the controller to report it */
  deadlineGraceMs?: number;
}

/** A deploy request may carry the checked-out workspace its manifests folder is relative to. */
export type KubernetesDeployRequest = DeployRequest & { workspace?: string };

const DEFAULT_NAMESPACE = 'default';

export class KubernetesDeployTarget implements DeployTarget {
  readonly name = 'kubernetes' as const;
  private readonly revisions: RevisionStore;
  private clients?: KubeClients;
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly options: KubernetesTargetOptions) {
    this.revisions = new RevisionStore(options.dataDir);
  }

  /** Credentials are read on first use, so a server without a cluster still starts. */
  private connect(): KubeClients {
    this.clients ??= makeClients(loadKubeConfig(this.options.kubeconfig));
    return this.clients;
  }

  /** One rollout at a time per environment; others wait their turn. */
  private serialised<T>(app: string, environment: string, work: () => Promise<T>): Promise<T> {
    const key = `${app}\u0000${environment}`;
    const previous = this.queues.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    this.queues.set(key, next);
    return next;
  }

  deploy(request: KubernetesDeployRequest): Promise<DeployOutcome> {
    return this.serialised(request.app, request.environment, () => this.runDeploy(request));
  }

  private async runDeploy(request: KubernetesDeployRequest): Promise<DeployOutcome> {
    const { app, environment, spec, image } = request;
    const namespace = spec.kubernetes?.namespace ?? DEFAULT_NAMESPACE;
    const digest = pinnedDigest(image);
    // Revision['config'] intersects DeploySpec's Template image with a string; the rendered image is what is stored
    const release = { image, config: { ...spec, image } as unknown as Revision['config'], ...(digest ? { digest } : {}) };
    const current = await this.servingRevision(app, environment);
    if (current && !request.force && !spec.kubernetes?.manifests && isSameRelease(current, release, { byReference: true })) return unchangedOutcome(current);
    let revision = await this.revisions.append({
      app,
      environment,
      target: 'kubernetes',
      ...release,
      trigger: request.trigger,
      createdAt: new Date().toISOString(),
      outcome: 'in-progress',
    });
    const finishAs = async (outcome: Revision['outcome'], reason?: string): Promise<Revision> => {
      revision = { ...revision, outcome, finishedAt: new Date().toISOString(), ...(reason ? { reason } : {}) };
      await this.revisions.update(revision);
      return revision;
    };
    try {
      const clients = this.connect();
      const replicas = await this.replicasToRun(clients, request, namespace, current);
      const objects = await this.manifestsFor(replicas === spec.replicas ? request : { ...request, spec: { ...spec, replicas } }, namespace, revision.number);
      if (request.force) restartPodTemplates(objects.filter(isDeployment));
      const deployments = objects.filter(isDeployment);
      // what each Deployment ran before this rollout: the revision to restore if it fails
      const before = new Map<string, number | undefined>();
      for (const d of deployments) before.set(keyOf(d), await this.currentRevision(clients, d));
      request.onProgress(`applying ${objects.length} object(s) to namespace ${namespace} on ${clients.server}`);
      await applyManifests(clients, objects, request.onProgress);
      if (!spec.kubernetes?.manifests && current?.config.autoscale) await this.removeStaleAutoscaler(clients, objects, namespace, workloadName(app, environment), request.onProgress);
      const failed = await this.followAll(clients, deployments, request.signal, request.onProgress, spec.health.unhealthy);
      if (!failed) {
        request.onProgress(`revision ${revision.number} is healthy`);
        return { revision: await finishAs('healthy'), outcome: 'healthy' };
      }
      const reason = `${failed.code}: ${failed.reason}`;
      request.onProgress(`rollout failed: ${reason}`);
      if (!spec.strategy.autoRollback) {
        return { revision: await finishAs('failed', reason), outcome: 'failed', reason };
      }
      const restored: string[] = [];
      for (const d of deployments) {
        const previous = before.get(keyOf(d));
        const name = d.metadata?.name ?? '';
        const ns = d.metadata?.namespace ?? namespace;
        if (previous === undefined) continue;
        const undo = await undoDeployment(clients, ns, name, previous);
        request.onProgress(undo.message);
        if (!undo.changed) continue;
        const back = await this.follow(clients, d, request.signal, request.onProgress, spec.health.unhealthy);
        if (!back.ok) {
          const why = `${reason}\nthe rollback of deployment "${name}" to revision ${previous} did not become healthy either: ${back.reason}`;
          return { revision: await finishAs('failed', why), outcome: 'failed', reason: why };
        }
        restored.push(`deployment "${name}" to revision ${previous}`);
      }
      if (restored.length === 0) {
        const why = `${reason}\nno previous revision to roll back to`;
        return { revision: await finishAs('failed', why), outcome: 'failed', reason: why };
      }
      const why = `${reason}\nrolled back ${restored.join(', ')}`;
      request.onProgress(`rolled back ${restored.join(', ')}`);
      return { revision: await finishAs('rolled-back', why), outcome: 'rolled-back', reason: why };
    } catch (err) {
      const error = err instanceof DeployError ? err : this.clients ? toDeployError(err, this.clients.server, `deploy ${app} to ${environment}`) : err;
      await finishAs('failed', error instanceof Error ? `${error instanceof DeployError ? `${error.code}: ` : ''}${error.message}` : String(error));
      throw error;
    }
  }

  private async manifestsFor(request: KubernetesDeployRequest, namespace: string, revisionNumber: number): Promise<KubernetesObject[]> {
    const { app, environment, spec, image, trigger } = request;
    const ctx = { app, environment, namespace, spec, image, revision: revisionNumber, trigger };
    let objects: KubernetesObject[];
    if (spec.kubernetes?.manifests) {
      const root = request.workspace ?? this.options.workspace ?? process.cwd();
      objects = await loadManifests(root, spec.kubernetes.manifests);
      if (substituteImage(objects, image) === 0) {
        throw new DeployError('ROLLOUT_INVALID', `no container in ${spec.kubernetes.manifests} uses the repository of ${image}: name it in a container's image (any tag) so Slipway can put the built image there`);
      }
      for (const obj of objects) {
        // objects without a namespace go to the environment's namespace (cluster-scoped kinds ignore it)
        if (obj.metadata && !obj.metadata.namespace && obj.kind !== 'Namespace' && !obj.kind?.startsWith('Cluster')) obj.metadata.namespace = namespace;
      }
      if (!objects.some(isDeployment)) throw new DeployError('ROLLOUT_INVALID', `${spec.kubernetes.manifests} holds no Deployment: Slipway follows and rolls back Deployments`);
    } else {
      objects = generateManifests(ctx);
    }
    for (const d of objects.filter(isDeployment)) {
      // labels on the Deployment object only (never its selector or template): how Slipway finds it again
      d.metadata = {
        ...d.metadata,
        labels: { ...d.metadata?.labels, [LABEL_APP]: app, [LABEL_ENVIRONMENT]: environment },
        annotations: { ...d.metadata?.annotations, [ANNOTATION_CHANGE_CAUSE]: changeCause(ctx), [ANNOTATION_REVISION]: String(revisionNumber) },
      };
    }
    return objects;
  }

  /**
   * The count the generated Deployment gets: the block's, or the live one once the environment was
   * scaled or is autoscaled (replicasForRollout); the HorizontalPodAutoscaler's count is kept.
   */
  private async replicasToRun(clients: KubeClients, request: KubernetesDeployRequest, namespace: string, current: Revision | undefined): Promise<number> {
    const { spec } = request;
    if (spec.kubernetes?.manifests) return spec.replicas;
    let live: number | undefined;
    const name = workloadName(request.app, request.environment);
    try {
      live = (await clients.apps.readNamespacedDeployment({ name, namespace })).spec?.replicas;
    } catch (err) {
      if (apiStatusOf(err)?.code !== 404) throw toDeployError(err, clients.server, `read deployment ${name} in namespace ${namespace}`);
    }
    const replicas = replicasForRollout({ kind: 'deploy', replicas: spec.replicas, autoscale: spec.autoscale, live, currentReplicas: current?.config.replicas, currentAutoscale: current?.config.autoscale !== undefined });
    if (replicas !== spec.replicas) request.onProgress(`${replicas} replicas: the count deployment "${name}" runs now${spec.autoscale ? ` (autoscale ${spec.autoscale.min}..${spec.autoscale.max})` : ''}, not the deploy block's ${spec.replicas}`);
    return replicas;
  }

  /** A HorizontalPodAutoscaler Slipway made goes when the deploy block no longer asks for one. */
  private async removeStaleAutoscaler(clients: KubeClients, objects: KubernetesObject[], namespace: string, name: string, onProgress: (line: string) => void): Promise<void> {
    if (objects.some((o) => o.kind === 'HorizontalPodAutoscaler')) return;
    try {
      await clients.autoscaling.deleteNamespacedHorizontalPodAutoscaler({ name, namespace });
      onProgress(`deleted HorizontalPodAutoscaler/${name} in namespace ${namespace}: the deploy block has no autoscale with targetCPU`);
    } catch (err) {
      if (apiStatusOf(err)?.code !== 404) throw toDeployError(err, clients.server, `delete HorizontalPodAutoscaler ${name} in namespace ${namespace}`);
    }
  }

  /**
   * Sets the replica count of the environment's Deployments through their scale subresource (as
   * `kubectl scale` does) and follows them until that many are ready; a scale event in the history,
   * no new revision. With a HorizontalPodAutoscaler, it decides again from its next sync.
   */
  scale(request: ScaleRequest): Promise<ScaleOutcome> {
    const { app, environment } = request;
    return this.serialised(app, environment, async () => {
      const history = await this.revisions.list(app, environment);
      const latest = history.at(-1);
      const current = currentOf(history);
      if (!latest || latest.target !== 'kubernetes' || !current || (await this.removedAfter(app, environment, latest))) {
        throw new DeployError('ROLLOUT_NO_REVISION', `${app}/${environment} serves no revision on kubernetes to scale; deploy it first`);
      }
      const problem = scaleProblem(request.replicas, current.config.autoscale);
      if (problem) throw new DeployError('ROLLOUT_INVALID', `${app}/${environment}: ${problem}`, [{ field: 'replicas', message: problem.replace(/^replicas: /, '') }]);
      const namespace = latest.config.kubernetes?.namespace ?? DEFAULT_NAMESPACE;
      const clients = this.connect();
      const deployments = await deploymentsOf(clients, namespace, app, environment);
      const from = deployments[0]?.spec?.replicas ?? 1;
      const event: ScaleEvent = { app, environment, target: 'kubernetes', revision: current.number, from, to: request.replicas, by: request.by, ...(request.cause ? { cause: request.cause } : {}), at: new Date().toISOString(), outcome: 'healthy' };
      if (deployments.every((d) => (d.spec?.replicas ?? 1) === request.replicas)) {
        request.onProgress(`${app}/${environment} already runs ${request.replicas} replica${request.replicas === 1 ? '' : 's'}; nothing to change`);
        return { event, outcome: 'healthy', unchanged: true };
      }
      for (const d of deployments) {
        const name = d.metadata?.name ?? '';
        try {
          await clients.apps.replaceNamespacedDeploymentScale({ name, namespace, body: { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name, namespace }, spec: { replicas: request.replicas } } });
        } catch (err) {
          throw toDeployError(err, clients.server, `scale deployment ${name} in namespace ${namespace}`);
        }
        request.onProgress(`scaled deployment "${name}" from ${d.spec?.replicas ?? 1} to ${request.replicas}`);
      }
      if (current.config.autoscale?.targetCPU !== undefined) request.onProgress(`the HorizontalPodAutoscaler of ${app}/${environment} decides the count again from its next sync (${current.config.autoscale.min}..${current.config.autoscale.max})`);
      const failed = await this.followAll(clients, deployments, request.signal, request.onProgress, current.config.health.unhealthy);
      const finished: ScaleEvent = { ...event, finishedAt: new Date().toISOString(), ...(failed ? { outcome: 'failed' as const, reason: `${failed.code}: ${failed.reason}` } : {}) };
      await appendScaleEvent(this.options.dataDir, finished);
      return { event: finished, outcome: finished.outcome, ...(finished.reason !== undefined ? { reason: finished.reason } : {}) };
    });
  }

  private async currentRevision(clients: KubeClients, d: V1Deployment): Promise<number | undefined> {
    const name = d.metadata?.name ?? '';
    const namespace = d.metadata?.namespace ?? DEFAULT_NAMESPACE;
    try {
      const existing = await clients.apps.readNamespacedDeployment({ name, namespace });
      const revision = Number(existing.metadata?.annotations?.[REVISION_ANNOTATION] ?? '0');
      return revision > 0 ? revision : undefined;
    } catch (err) {
      if (apiStatusOf(err)?.code === 404 && !/namespaces? "/.test(apiStatusOf(err)?.message ?? '')) return undefined;
      throw toDeployError(err, clients.server, `read deployment ${name} in namespace ${namespace}`);
    }
  }

  /**
   * Follows several Deployments at once; the first failure ends the others' watches (and so does an
   * error), so nothing keeps a connection open after the outcome is known.
   */
  private async followAll(clients: KubeClients, deployments: V1Deployment[], signal: AbortSignal, onProgress: (line: string) => void, crashLoopRestarts: number): Promise<Extract<FollowResult, { ok: false }> | undefined> {
    const group = new AbortController();
    const cancel = () => group.abort(signal.reason);
    signal.addEventListener('abort', cancel, { once: true });
    if (signal.aborted) cancel();
    let firstFailure: Extract<FollowResult, { ok: false }> | undefined;
    try {
      await Promise.all(
        deployments.map(async (d) => {
          try {
            const result = await this.follow(clients, d, group.signal, onProgress, crashLoopRestarts);
            if (!result.ok && !firstFailure) {
              firstFailure = result;
              group.abort(new Error('another deployment of this rollout failed'));
            }
          } catch (err) {
            if (firstFailure && !signal.aborted) return; // stopped because a sibling failed
            group.abort(err);
            throw err;
          }
        }),
      );
    } finally {
      signal.removeEventListener('abort', cancel);
    }
    return firstFailure;
  }

  private async follow(clients: KubeClients, d: V1Deployment, signal: AbortSignal, onProgress: (line: string) => void, crashLoopRestarts: number): Promise<FollowResult> {
    const deadlineSeconds = d.spec?.progressDeadlineSeconds ?? 600;
    return followRollout({
      clients,
      namespace: d.metadata?.namespace ?? DEFAULT_NAMESPACE,
      name: d.metadata?.name ?? '',
      signal,
      onProgress,
      timeoutMs: deadlineSeconds * 1000 + (this.options.deadlineGraceMs ?? 15_000),
      crashLoopRestarts,
    });
  }

  rollback(request: RollbackRequest): Promise<DeployOutcome> {
    return this.serialised(request.app, request.environment, () => this.runRollback(request));
  }

  private async runRollback(request: RollbackRequest): Promise<DeployOutcome> {
    const { app, environment } = request;
    const history = await this.revisions.list(app, environment);
    const target = rollbackTarget(history, currentOf(history), `${app}/${environment}`, request.to);
    const namespace = target.config.kubernetes?.namespace ?? DEFAULT_NAMESPACE;
    const clients = this.connect();
    // the ReplicaSets remember the Slipway revision whose template they hold (a rollback restores an older one)
    const original = originalOf(history, target);
    const deployments = await deploymentsOf(clients, namespace, app, environment);
    const plan: { deployment: V1Deployment; k8sRevision: number }[] = [];
    for (const deployment of deployments) {
      const replicaSets = await listOwnedReplicaSets(clients, deployment).catch((err: unknown) => {
        throw toDeployError(err, clients.server, `list the ReplicaSets of deployment ${deployment.metadata?.name}`);
      });
      const rs = replicaSets.find((r) => r.metadata?.annotations?.[ANNOTATION_REVISION] === String(original.number));
      if (!rs) {
        throw new DeployError('ROLLOUT_NO_REVISION', `revision ${target.number} of ${app}/${environment} is no longer held by the ReplicaSets of deployment "${deployment.metadata?.name}" (the cluster keeps revisionHistoryLimit old ones); deploy its image ${target.image} again instead`);
      }
      plan.push({ deployment, k8sRevision: revisionOf(rs) });
    }
    let revision = await this.revisions.append({
      app,
      environment,
      target: 'kubernetes',
      image: target.image,
      ...(target.digest !== undefined ? { digest: target.digest } : {}),
      config: target.config,
      trigger: { by: request.by, kind: 'rollback' },
      restoredFrom: target.number,
      createdAt: new Date().toISOString(),
      outcome: 'in-progress',
    });
    const finishAs = async (outcome: Revision['outcome'], reason?: string) => {
      revision = { ...revision, outcome, finishedAt: new Date().toISOString(), ...(reason ? { reason } : {}) };
      await this.revisions.update(revision);
      return revision;
    };
    try {
      for (const { deployment, k8sRevision } of plan) {
        const name = deployment.metadata?.name ?? '';
        const undo = await undoDeployment(clients, namespace, name, k8sRevision);
        request.onProgress(undo.message);
        const result = await this.follow(clients, deployment, request.signal, request.onProgress, target.config.health.unhealthy);
        if (!result.ok) {
          const reason = `${result.code}: ${result.reason}`;
          return { revision: await finishAs('failed', reason), outcome: 'failed', reason };
        }
      }
      request.onProgress(`revision ${revision.number} (restoring revision ${target.number}) is healthy`);
      return { revision: await finishAs('healthy'), outcome: 'healthy' };
    } catch (err) {
      await finishAs('failed', err instanceof Error ? err.message : String(err));
      throw err;
    }
  }

  async history(app: string, environment?: string): Promise<Revision[]> {
    const environments = environment ? [environment] : await this.environmentsOf(app);
    const all = (await Promise.all(environments.map((env) => this.revisions.list(app, env)))).flat();
    return all.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.number - b.number);
  }

  async status(app?: string, environment?: string): Promise<EnvironmentStatus[]> {
    const apps = app ? [app] : await listDirs(path.join(this.options.dataDir, 'deploy'));
    const out: EnvironmentStatus[] = [];
    for (const a of apps) {
      for (const env of environment ? [environment] : await this.environmentsOf(a)) {
        const history = await this.revisions.list(a, env);
        const latest = history.at(-1);
        if (!latest || latest.target !== 'kubernetes' || (await this.removedAfter(a, env, latest))) continue;
        out.push(await this.environmentStatus(a, env, history));
      }
    }
    return out;
  }

  private async environmentStatus(app: string, environment: string, history: Revision[]): Promise<EnvironmentStatus> {
    const current = currentOf(history);
    const latest = history.at(-1) as Revision;
    const namespace = latest.config.kubernetes?.namespace ?? DEFAULT_NAMESPACE;
    const status: EnvironmentStatus = { app, environment, target: 'kubernetes', ...(current ? { current } : {}), replicas: { desired: latest.config.replicas, ready: 0 } };
    try {
      const clients = this.connect();
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
    } catch (err) {
      status.message = err instanceof Error ? err.message : String(err);
    }
    return status;
  }

  /**
   * Deletes the environment's Deployments and Services (by their app and environment labels) and
   * marks it removed, so that status no longer lists it; its revision history stays.
   */
  async remove(app: string, environment: string): Promise<boolean> {
    return this.serialised(app, environment, async () => {
      const latest = (await this.revisions.list(app, environment)).at(-1);
      if (!latest || latest.target !== 'kubernetes' || (await this.removedAfter(app, environment, latest))) return false;
      const namespace = latest.config.kubernetes?.namespace ?? DEFAULT_NAMESPACE;
      const labelSelector = `${LABEL_APP}=${app},${LABEL_ENVIRONMENT}=${environment}`;
      const clients = this.connect();
      try {
        const deployments = (await clients.apps.listNamespacedDeployment({ namespace, labelSelector })).items;
        const services = (await clients.core.listNamespacedService({ namespace, labelSelector })).items;
        const autoscalers = (await clients.autoscaling.listNamespacedHorizontalPodAutoscaler({ namespace, labelSelector })).items;
        for (const hpa of autoscalers) await clients.autoscaling.deleteNamespacedHorizontalPodAutoscaler({ name: hpa.metadata?.name ?? '', namespace });
        for (const d of deployments) await clients.apps.deleteNamespacedDeployment({ name: d.metadata?.name ?? '', namespace, propagationPolicy: 'Foreground' });
        for (const svc of services) await clients.core.deleteNamespacedService({ name: svc.metadata?.name ?? '', namespace });
        await waitUntilGone(clients, namespace, labelSelector);
      } catch (err) {
        throw toDeployError(err, clients.server, `removing ${app}/${environment} from namespace ${namespace}`);
      }
      await writeFile(this.removedMarker(app, environment), JSON.stringify({ removedAt: new Date().toISOString(), revision: latest.number }));
      return true;
    });
  }

  private removedMarker(app: string, environment: string): string {
    return path.join(this.options.dataDir, 'deploy', app, environment, 'removed.json');
  }

  /** Whether the environment was removed after its newest revision (a later deploy brings it back). */
  private async removedAfter(app: string, environment: string, latest: Revision): Promise<boolean> {
    const marker = await readFile(this.removedMarker(app, environment), 'utf8').catch(() => undefined);
    if (marker === undefined) return false;
    try {
      return (JSON.parse(marker) as { revision?: unknown }).revision === latest.number;
    } catch {
      return false;
    }
  }

  /**
   * The revision the environment serves: none once it was removed (a later deploy brings it back
   * rather than being a no-op).
   */
  private async servingRevision(app: string, environment: string): Promise<Revision | undefined> {
    const history = await this.revisions.list(app, environment);
    const latest = history.at(-1);
    if (!latest || (await this.removedAfter(app, environment, latest))) return undefined;
    return currentOf(history);
  }

  private async environmentsOf(app: string): Promise<string[]> {
    return listDirs(path.join(this.options.dataDir, 'deploy', app));
  }
}

function isDeployment(obj: KubernetesObject): obj is V1Deployment {
  return obj.kind === 'Deployment' && (obj.apiVersion === 'apps/v1' || obj.apiVersion === undefined);
}

function keyOf(d: V1Deployment): string {
  return `${d.metadata?.namespace ?? ''}/${d.metadata?.name ?? ''}`;
}

/** The revision an environment serves: the newest one that became healthy. */
function currentOf(history: Revision[]): Revision | undefined {
  return [...history].reverse().find((r) => r.outcome === 'healthy');
}

/** Through rollbacks of rollbacks, the revision whose template the cluster's ReplicaSet holds. */
function originalOf(history: Revision[], revision: Revision): Revision {
  let r = revision;
  for (let i = 0; i < history.length && r.restoredFrom !== undefined; i++) {
    const from = history.find((x) => x.number === r.restoredFrom);
    if (!from) break;
    r = from;
  }
  return r;
}

async function listDirs(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  } catch {
    return [];
  }
}

export function createKubernetesTarget(options: { dataDir: string; kubeconfig?: string; workspace?: string }): KubernetesDeployTarget {
  return new KubernetesDeployTarget(options);
}

/** The environment's Deployments (found by label); none is an environment with nothing to act on. */
async function deploymentsOf(clients: KubeClients, namespace: string, app: string, environment: string): Promise<V1Deployment[]> {
  let deployments: V1Deployment[];
  try {
    deployments = (await clients.apps.listNamespacedDeployment({ namespace, labelSelector: `${LABEL_APP}=${app},${LABEL_ENVIRONMENT}=${environment}` })).items;
  } catch (err) {
    throw toDeployError(err, clients.server, `list the deployments of ${app}/${environment} in namespace ${namespace}`);
  }
  if (deployments.length === 0) throw new DeployError('ROLLOUT_NO_REVISION', `no Deployment of ${app}/${environment} in namespace ${namespace} on ${clients.server}`);
  return deployments;
}

/**
 * A Foreground delete returns while the garbage collector still removes the pods, and the
 * Deployment stays listed (with a deletionTimestamp) until it has: a deploy straight after would
 * meet an object being deleted. Waits until the environment's Deployments are gone, for at most
 * a minute; past that the deletion goes on in the cluster without us.
 */
async function waitUntilGone(clients: KubeClients, namespace: string, labelSelector: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const left = (await clients.apps.listNamespacedDeployment({ namespace, labelSelector })).items;
    if (left.length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
