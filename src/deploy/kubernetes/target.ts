// The `kubernetes` deploy target: applies the environment's manifests with server-side apply,
// follows the rollout like `kubectl rollout status`, restores the previous revision like
// `kubectl rollout undo` when it fails, and keeps Slipway's revision history like the docker target.
import type { KubernetesObject, V1Deployment } from '@kubernetes/client-node';
import { RevisionStore } from '../revisions.js';
import { replicasForRollout, scaleProblem } from '../autoscale.js';
import { appendScaleEvent, type ScaleEvent, type ScaleOutcome, type ScaleRequest } from '../scale-events.js';
import { isSameRelease, pinnedDigest, rollbackTarget, unchangedOutcome } from '../changes.js';
import { DeployError, type DeployOutcome, type DeployRequest, type DeployTarget, type EnvironmentStatus, type RegistryPullAccess, type Revision, type RollbackRequest, type SyncRequest } from '../types.js';
import { applyManifests } from './apply.js';
import { apiStatusOf, loadKubeConfig, makeClients, toDeployError, type KubeClients } from './client.js';
import { followRollout, type FollowResult } from './follow.js';
import { currentOf, DEFAULT_NAMESPACE, deploymentsOf, isDeployment, keyOf, kubernetesEnvironments, markRemoved, originalOf, removedAfter } from './environment.js';
import { ANNOTATION_CHANGE_CAUSE, ANNOTATION_REVISION, changeCause, generateManifests, LABEL_APP, LABEL_ENVIRONMENT, loadManifests, restartPodTemplates, substituteImage, workloadName } from './manifests.js';
import { deletePullSecret, ensurePullSecret, repositoryInRegistry, usePullSecret } from './pull-secret.js';
import { reapplyRevision } from './sync.js';
import { environmentStatus, planOf } from './status.js';
import { listOwnedReplicaSets, REVISION_ANNOTATION, revisionOf, undoDeployment } from './undo.js';

export interface KubernetesTargetOptions {
  dataDir: string;
  /** a kubeconfig file; default: KUBECONFIG, ~/.kube/config, then the in-cluster service account */
  kubeconfig?: string;
  /** where relative `kubernetes.manifests` paths are read from when a request names no workspace */
  workspace?: string;
  /** how long past a Deployment's progress deadline Slipway waits for the controller to report it */
  deadlineGraceMs?: number;
  /** the server's registry: images in it get a pull secret with a pull-only credential (pull-secret.ts) */
  registry?: RegistryPullAccess;
}

/** A deploy request may carry the checked-out workspace its manifests folder is relative to. */
export type KubernetesDeployRequest = DeployRequest & { workspace?: string };

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
    let appliedReplicas: number | undefined;
    const finishAs = async (outcome: Revision['outcome'], reason?: string): Promise<Revision> => {
      revision = { ...revision, outcome, finishedAt: new Date().toISOString(), ...(reason ? { reason } : {}), ...(appliedReplicas !== undefined ? { appliedReplicas } : {}) };
      await this.revisions.update(revision);
      return revision;
    };
    try {
      const clients = this.connect();
      const replicas = await this.replicasToRun(clients, request, namespace, current);
      const objects = await this.manifestsFor(replicas === spec.replicas ? request : { ...request, spec: { ...spec, replicas } }, namespace, revision.number);
      if (!spec.kubernetes?.manifests) appliedReplicas = replicas;
      if (request.force) restartPodTemplates(objects.filter(isDeployment));
      const secret = await ensurePullSecret(clients, { access: this.options.registry, namespace, app, environment, image, onProgress: request.onProgress });
      if (secret) usePullSecret(objects, secret, image);
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
      const { latest, current } = await this.servedOnKubernetes(app, environment, 'scale');
      const problem = scaleProblem(request.replicas, current.config.autoscale);
      if (problem) throw new DeployError('ROLLOUT_INVALID', `${app}/${environment}: ${problem}`, [{ field: 'replicas', message: problem.replace(/^replicas: /, '') }]);
      const namespace = latest.config.kubernetes?.namespace ?? DEFAULT_NAMESPACE;
      const clients = this.connect();
      const deployments = await deploymentsOf(clients, namespace, app, environment);
      // new pods may land on nodes that have never pulled the image
      await ensurePullSecret(clients, { access: this.options.registry, namespace, app, environment, image: current.image, onProgress: request.onProgress });
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
      // a rollback keeps the count the environment runs, as `kubectl rollout undo` does
      ...(!target.config.kubernetes?.manifests && deployments[0] ? { appliedReplicas: deployments[0].spec?.replicas ?? 1 } : {}),
    });
    const finishAs = async (outcome: Revision['outcome'], reason?: string) => {
      revision = { ...revision, outcome, finishedAt: new Date().toISOString(), ...(reason ? { reason } : {}) };
      await this.revisions.update(revision);
      return revision;
    };
    try {
      // the restored template names the pull secret when its rollout had one: it must hold a credential for that image
      await ensurePullSecret(clients, { access: this.options.registry, namespace, app, environment, image: target.image, onProgress: request.onProgress });
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
    const out: EnvironmentStatus[] = [];
    for (const e of await kubernetesEnvironments(this.options.dataDir, this.revisions, app, environment)) out.push(await environmentStatus(() => this.connect(), this.options.dataDir, e.app, e.environment, e.history));
    return out;
  }

  /**
   * Applies the current revision again as recorded — no revision is added — putting back what was
   * changed by hand (sync.ts), and follows the rollout that may start.
   */
  sync(request: SyncRequest): Promise<DeployOutcome> {
    const { app, environment } = request;
    return this.serialised(app, environment, async () => {
      const { history, current } = await this.servedOnKubernetes(app, environment, 'sync');
      if (current.config.kubernetes?.manifests) {
        throw new DeployError('ROLLOUT_INVALID', `revision ${current.number} of ${app}/${environment} applied your own manifests (kubernetes.manifests), which Slipway does not keep: run its pipeline's deploy job again instead`);
      }
      const clients = this.connect();
      const plan = await planOf(this.options.dataDir, history, current);
      request.onProgress(`applying revision ${current.number} of ${app}/${environment} again to namespace ${plan.namespace} on ${clients.server}`);
      const { corrected, deployments } = await reapplyRevision(clients, plan, this.options.registry, request.onProgress);
      const failed = await this.followAll(clients, deployments, request.signal, request.onProgress, current.config.health.unhealthy);
      if (failed) {
        const reason = `${failed.code}: ${failed.reason}\nrevision ${current.number} was applied again and did not become healthy; it is still the current revision`;
        return { revision: current, outcome: 'failed', reason, sync: { corrected } };
      }
      request.onProgress(corrected.length > 0 ? `revision ${current.number} is back: ${corrected.length} drifted field(s) put back` : `revision ${current.number} applied again; nothing had drifted`);
      return { revision: current, outcome: 'healthy', sync: { corrected } };
    });
  }

  /**
   * Renews the pull secrets of the environments whose current revision runs an image of Slipway's
   * registry once their credential is past half its lifetime; the server calls it periodically, so
   * nodes can pull while it runs however long ago the last deploy was. Failures are reported, not thrown.
   */
  async renewCredentials(onProblem: (message: string) => void): Promise<void> {
    const access = this.options.registry;
    if (!access) return;
    for (const { app, environment, current } of await kubernetesEnvironments(this.options.dataDir, this.revisions)) {
      if (!current || !repositoryInRegistry(current.image, access.host)) continue;
      const namespace = current.config.kubernetes?.namespace ?? DEFAULT_NAMESPACE;
      await this.serialised(app, environment, () => ensurePullSecret(this.connect(), { access, namespace, app, environment, image: current.image, onProgress: () => undefined })).catch((err: unknown) => {
        onProblem(`the pull secret of ${app}/${environment}: ${err instanceof Error ? err.message : String(err)}`);
      });
    }
  }

  /**
   * Deletes the environment's Deployments and Services (by their app and environment labels) and
   * marks it removed, so that status no longer lists it; its revision history stays.
   */
  async remove(app: string, environment: string): Promise<boolean> {
    return this.serialised(app, environment, async () => {
      const latest = (await this.revisions.list(app, environment)).at(-1);
      if (!latest || latest.target !== 'kubernetes' || (await removedAfter(this.options.dataDir, app, environment, latest))) return false;
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
        await deletePullSecret(clients, namespace, app, environment);
        await waitUntilGone(clients, namespace, labelSelector);
      } catch (err) {
        throw toDeployError(err, clients.server, `removing ${app}/${environment} from namespace ${namespace}`);
      }
      await markRemoved(this.options.dataDir, app, environment, latest.number);
      return true;
    });
  }

  /** The newest and the current revision of an environment kubernetes serves, or why `verb` cannot act on it. */
  private async servedOnKubernetes(app: string, environment: string, verb: string): Promise<{ history: Revision[]; latest: Revision; current: Revision }> {
    const history = await this.revisions.list(app, environment);
    const latest = history.at(-1);
    const current = currentOf(history);
    if (!latest || latest.target !== 'kubernetes' || !current || (await removedAfter(this.options.dataDir, app, environment, latest))) {
      throw new DeployError('ROLLOUT_NO_REVISION', `${app}/${environment} serves no revision on kubernetes to ${verb}; deploy it first`);
    }
    return { history, latest, current };
  }

  /**
   * The revision the environment serves: none once it was removed (a later deploy brings it back
   * rather than being a no-op).
   */
  private async servingRevision(app: string, environment: string): Promise<Revision | undefined> {
    const history = await this.revisions.list(app, environment);
    const latest = history.at(-1);
    if (!latest || (await removedAfter(this.options.dataDir, app, environment, latest))) return undefined;
    return currentOf(history);
  }

  private async environmentsOf(app: string): Promise<string[]> {
    return (await this.revisions.environments(app)).map((e) => e.environment);
  }
}

export function createKubernetesTarget(options: { dataDir: string; kubeconfig?: string; workspace?: string; registry?: RegistryPullAccess }): KubernetesDeployTarget {
  return new KubernetesDeployTarget(options);
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
