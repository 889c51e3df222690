// DockerDeployTarget: the DeployTarget the engine, CLI and server use for `target: docker`. It is a
// thin client of the deploy agent, which it starts when none runs; history is read from the
// revision files directly (the agent is their only writer, and writes are atomic renames).
import { RevisionStore } from '../revisions.js';
import { DeployError, type DeployOutcome, type DeployRequest, type DeployTarget, type EnvironmentStatus, type Revision, type RollbackRequest } from '../types.js';
import { AgentClient, AgentLost } from './api.js';
import type { ScaleOutcome, ScaleRequest } from '../scale-events.js';
import type { DockerEnvironmentStatus } from './environment.js';
import type { RolloutConfig } from './state.js';

export interface DockerTargetOptions {
  /** where the agent keeps its state, socket, log and the revision history */
  dataDir: string;
}

export class DockerDeployTarget implements DeployTarget {
  readonly name = 'docker' as const;
  readonly client: AgentClient;
  private readonly store: RevisionStore;

  constructor(readonly options: DockerTargetOptions) {
    this.client = new AgentClient(options.dataDir);
    this.store = new RevisionStore(options.dataDir);
  }

  async deploy(request: DeployRequest): Promise<DeployOutcome> {
    const { spec } = request;
    const config: RolloutConfig = {
      environment: request.environment,
      image: request.image,
      replicas: spec.replicas,
      port: spec.port,
      ...(spec.publish !== undefined ? { publish: spec.publish } : {}),
      ...(spec.hosts?.length ? { hosts: spec.hosts } : {}),
      ...(spec.tls ? { tls: spec.tls } : {}),
      health: spec.health,
      strategy: spec.strategy,
      ...(spec.autoscale ? { autoscale: spec.autoscale } : {}),
    };
    const before = (await this.store.list(request.app, request.environment)).at(-1)?.number ?? 0;
    await this.client.ensureRunning();
    try {
      return await this.client.stream('/deploy', { app: request.app, environment: request.environment, config, trigger: request.trigger, ...(request.force ? { force: true } : {}) }, request.onProgress, request.signal);
    } catch (err) {
      if (!(err instanceof AgentLost)) throw err;
      return this.afterAgentLoss(request.app, request.environment, before, request.onProgress);
    }
  }

  async rollback(request: RollbackRequest): Promise<DeployOutcome> {
    const before = (await this.store.list(request.app, request.environment)).at(-1)?.number ?? 0;
    await this.client.ensureRunning();
    try {
      return await this.client.stream(
        '/rollback',
        { app: request.app, environment: request.environment, ...(request.to !== undefined ? { to: request.to } : {}), by: request.by },
        request.onProgress,
        request.signal,
      );
    } catch (err) {
      if (!(err instanceof AgentLost)) throw err;
      return this.afterAgentLoss(request.app, request.environment, before, request.onProgress);
    }
  }

  /** The agent sets the count and waits until that many replicas serve (see Environment.scale). */
  async scale(request: ScaleRequest): Promise<ScaleOutcome> {
    await this.client.ensureRunning();
    try {
      return await this.client.stream<ScaleOutcome>('/scale', { app: request.app, environment: request.environment, replicas: request.replicas, by: request.by }, request.onProgress, request.signal);
    } catch (err) {
      if (!(err instanceof AgentLost)) throw err;
      // The count is persisted before replicas start or stop: a new agent converges to it.
      request.onProgress('the deploy agent stopped during the scale; restarting it');
      await this.client.ensureRunning();
      const deadline = Date.now() + 120_000;
      for (;;) {
        const [status] = await this.client.status(request.app, request.environment);
        if (status && status.replicas.desired !== request.replicas) {
          throw new DeployError('ROLLOUT_TARGET_UNREACHABLE', `the deploy agent stopped before it kept the new count; ${request.app}/${request.environment} runs ${status.replicas.desired}: scale again`);
        }
        if (status && status.replicas.ready === request.replicas && status.current) {
          const at = new Date().toISOString();
          const event = { app: request.app, environment: request.environment, target: 'docker' as const, revision: status.current.number, from: request.replicas, to: request.replicas, by: request.by, at, finishedAt: at, outcome: 'healthy' as const };
          return { event, outcome: 'healthy' };
        }
        if (Date.now() > deadline) throw new DeployError('ROLLOUT_TARGET_UNREACHABLE', 'the deploy agent stopped during the scale and its outcome is unknown; see `slipway status`');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  /**
   * The agent died mid-rollout. A new one (started here) fails the interrupted revision and
   * converges the environment to its current revision; report that outcome.
   */
  private async afterAgentLoss(app: string, environment: string, before: number, onProgress: (line: string) => void): Promise<DeployOutcome> {
    onProgress('the deploy agent stopped during the rollout; restarting it');
    await this.client.ensureRunning();
    const deadline = Date.now() + 120_000;
    for (;;) {
      const revision = (await this.store.list(app, environment)).find((r) => r.number > before);
      if (revision && revision.outcome !== 'in-progress') {
        const outcome = revision.outcome === 'healthy' ? 'healthy' : revision.outcome === 'rolled-back' ? 'rolled-back' : 'failed';
        return { revision, outcome, ...(revision.reason !== undefined ? { reason: revision.reason } : {}) };
      }
      if (!revision || Date.now() > deadline) {
        const { DeployError } = await import('../types.js');
        throw new DeployError('ROLLOUT_TARGET_UNREACHABLE', 'the deploy agent stopped during the rollout and its outcome is unknown; see `slipway status`');
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  async history(app: string, environment?: string): Promise<Revision[]> {
    if (environment) return this.store.list(app, environment);
    const { readdir } = await import('node:fs/promises');
    const path = await import('node:path');
    const dirs = await readdir(path.join(this.options.dataDir, 'deploy', app)).catch(() => [] as string[]);
    const all = await Promise.all(dirs.map((env) => this.store.list(app, env).catch(() => [] as Revision[])));
    return all.flat().sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /** Status asks the agent (starting it: a restarted agent is what brings proxies back). */
  async status(app?: string, environment?: string): Promise<EnvironmentStatus[]> {
    return this.dockerStatus(app, environment);
  }

  /** The agent stops the environment's replicas and proxy and forgets it; the revision files stay. */
  async remove(app: string, environment: string): Promise<boolean> {
    await this.client.ensureRunning();
    return this.client.remove(app, environment);
  }

  async dockerStatus(app?: string, environment?: string): Promise<DockerEnvironmentStatus[]> {
    await this.client.ensureRunning();
    return this.client.status(app, environment);
  }
}
