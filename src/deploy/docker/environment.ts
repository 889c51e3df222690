// One environment of an app as the agent runs it: its replicas, its current revision, and the queue
// that runs the changes to it one at a time — rollouts (environment-rollouts.ts), scaling
// (environment-scaling.ts), self-healing and recovery (environment-healing.ts). Healthy replicas
// join the data plane's rotation (routes.ts); any other state leaves it. The data plane itself
// runs apart from the agent (dataplane-containers.ts).
import { EventEmitter } from 'node:events';
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type Docker from 'dockerode';
import type { DeployOutcome, Revision } from '../types.js';
import type { RevisionStore } from '../revisions.js';
import type { EnvironmentRoutes } from './routes.js';
import { DEFAULT_DRAIN_MS } from './dataplane/pool.js';
import { startReplica, type Replica, type ReplicaInfo, type ReplicaState } from './replicas.js';
import { rollOut, type RolloutResult } from './rollout.js';
import type { EnvironmentState, RevisionRef, RolloutConfig } from './state.js';
import type { ScaleEvent, ScaleOutcome } from '../scale-events.js';
import * as rollouts from './environment-rollouts.js';
import * as scaling from './environment-scaling.js';
import * as healing from './environment-healing.js';

export interface EnvironmentDeps {
  docker: Docker;
  agent: string;
  dataDir: string;
  store: RevisionStore;
  host: string;
  routes: EnvironmentRoutes;
  /** applies every environment's port and host names to the edge; ports chosen there land in the state */
  configureEdge: () => Promise<void>;
  persist: () => Promise<void>;
  log: (line: string) => void;
  drainMs?: number;
}

export interface EnvironmentEvent {
  at: string;
  kind: 'rollout' | 'replaced' | 'recovered' | 'rollback' | 'scale';
  message: string;
  /** kind scale: the event as the history shows it */
  scale?: ScaleEvent;
}

export interface DockerEnvironmentStatus {
  app: string;
  environment: string;
  target: 'docker';
  current?: Revision;
  endpoint?: string;
  replicas: { desired: number; ready: number; updated?: number };
  message?: string;
  /** every replica container with its state */
  replicaList: ReplicaInfo[];
  /** the revision being rolled out, if any */
  rollingOut?: number;
  /** the Docker network other apps of the environment reach it on, as `APP` and `APP.ENV` */
  network?: string;
  /** host names routed to it on the shared front */
  hosts?: string[];
}

export type Progress = (line: string) => void;

export class Environment {
  readonly replicas = new Set<Replica>();
  readonly routes: EnvironmentRoutes;
  private readonly changes = new EventEmitter();
  private queue: Promise<unknown> = Promise.resolve();
  private busy = 0;
  private activeRollout: AbortController | undefined;
  private lastEvent: EnvironmentEvent | undefined;
  /** self-healing backoff after replacements that crash again */
  readonly healBackoff = new healing.HealBackoff();
  /** removed (or the agent shutting down with its environments): nothing is healed any more */
  private destroyed = false;

  constructor(
    readonly state: EnvironmentState,
    readonly deps: EnvironmentDeps,
  ) {
    this.changes.setMaxListeners(0);
    this.routes = deps.routes;
  }

  get key(): string {
    return `${this.state.app}/${this.state.environment}`;
  }

  get isBusy(): boolean {
    return this.busy > 0;
  }

  get isDestroyed(): boolean {
    return this.destroyed;
  }

  /** Requests in flight to this environment right now, at the edge and from other apps (the autoscaler's measure). */
  inflight(): Promise<number> {
    return this.routes.inflight();
  }

  // ---- replicas ------------------------------------------------------------------------------

  track(replica: Replica): void {
    this.replicas.add(replica);
    replica.on('state', (r: Replica, previous: ReplicaState) => this.onReplicaState(r, previous));
    replica.monitor(this.deps.docker);
  }

  /**
   * Takes over a replica a restarted agent found running, once its first health check ran (within
   * the health timeout): the agent answers only after adopting, so status reports what that check
   * saw, never "down" for a replica that serves.
   */
  async adopt(replica: Replica): Promise<void> {
    this.track(replica);
    await replica.firstChecked();
  }

  private onReplicaState(replica: Replica, previous: ReplicaState): void {
    if (replica.state === 'healthy') {
      void this.announce(replica);
      this.healBackoff.reset();
    } else if (replica.state === 'failed' || replica.state === 'unhealthy') {
      // Out of rotation at once; requests in flight to a dead replica are retried elsewhere.
      replica.inRotation = false;
      void this.routes.drain(replica, replica.state === 'failed' ? 0 : this.deps.drainMs ?? DEFAULT_DRAIN_MS).catch((err: unknown) => this.deps.log(`${this.key}: could not take ${replica.name} out of rotation: ${(err as Error).message}`));
    }
    this.deps.log(`${this.key}: replica ${replica.name} ${previous} → ${replica.state}${replica.lastProbe && replica.state !== 'healthy' ? ` (${replica.lastProbe.output})` : ''}`);
    this.changes.emit('change');
  }

  /**
   * Puts a healthy replica in the data plane's rotation. Docker restarts a data plane container that
   * died, so a failed call is tried again while the replica stays healthy.
   */
  private async announce(replica: Replica): Promise<void> {
    for (let attempt = 0; replica.state === 'healthy' && !this.destroyed; attempt += 1) {
      try {
        await this.routes.add(replica);
        if (replica.state !== 'healthy') return; // it left while being added: its drain follows
        replica.inRotation = true;
        this.changes.emit('change');
        return;
      } catch (err) {
        if (attempt === 0) this.deps.log(`${this.key}: could not put ${replica.name} in rotation yet: ${(err as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  }

  async startReplica(ref: RevisionRef): Promise<Replica> {
    const replica = await startReplica(this.deps.docker, {
      agent: this.deps.agent,
      app: this.state.app,
      environment: this.state.environment,
      revision: ref.number,
      config: ref.config,
      network: this.routes.network,
    });
    this.track(replica);
    return replica;
  }

  async retire(replica: Replica): Promise<void> {
    if (replica.state === 'stopped') return;
    replica.apply({ type: 'retire' });
    replica.inRotation = false;
    await this.routes.drain(replica, this.deps.drainMs ?? DEFAULT_DRAIN_MS).catch((err: unknown) => this.deps.log(`${this.key}: could not drain ${replica.name}: ${(err as Error).message}`));
    // One that never served has nothing in flight: no reason to wait 10 s on an app ignoring SIGTERM.
    await replica.remove(replica.everHealthy || replica.adopted ? 10 : 1);
    this.replicas.delete(replica);
    this.changes.emit('change');
  }

  /** Retires without waiting; a failure (the engine going away, say) is logged, not thrown at no one. */
  retireLater(replica: Replica): void {
    this.retire(replica).catch((err: unknown) => this.deps.log(`${this.key}: could not stop ${replica.name}: ${(err as Error).message}`));
  }

  waitForChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const changes = this.changes;
      function done(): void {
        clearTimeout(timer);
        changes.off('change', done);
        resolve();
      }
      changes.once('change', done);
    });
  }

  // ---- rollouts ------------------------------------------------------------------------------

  /** Runs `fn` after every earlier rollout of this environment finished. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    this.busy += 1;
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined).finally(() => {
      this.busy -= 1;
    });
    return run;
  }

  cancel(): boolean {
    if (!this.activeRollout) return false;
    this.activeRollout.abort();
    return true;
  }

  /** Rolls the environment to `ref` as the rollout that cancel() stops. */
  async rollOutCancellable(ref: RevisionRef, progress: Progress): Promise<RolloutResult> {
    const controller = new AbortController();
    this.activeRollout = controller;
    try {
      return await rollOut(this, ref, { signal: controller.signal, progress });
    } finally {
      this.activeRollout = undefined;
    }
  }

  /** `digest`: the image's local id, resolved by the agent; `force`: roll out even when nothing changed. */
  deploy(config: RolloutConfig, trigger: Revision['trigger'], progress: Progress, options: { digest?: string; force?: boolean } = {}): Promise<DeployOutcome> {
    return rollouts.deploy(this, config, trigger, progress, options);
  }

  rollback(to: number | undefined, by: string, progress: Progress): Promise<DeployOutcome> {
    return rollouts.rollback(this, to, by, progress);
  }

  /** To another replica count of the current revision, without a new revision. */
  scale(replicas: number, by: string, progress: Progress, cause?: string): Promise<ScaleOutcome> {
    return scaling.scale(this, replicas, by, progress, cause);
  }

  // ---- between rollouts ----------------------------------------------------------------------

  /** Converges to the current revision after an agent restart; an interrupted rollout is failed. */
  recover(interrupted: RevisionRef | undefined): Promise<void> {
    return healing.recover(this, interrupted);
  }

  /** One pass of the supervisor: replace replicas of the current revision that exited or turned unhealthy. */
  heal(): Promise<void> {
    return healing.heal(this);
  }

  async record(kind: EnvironmentEvent['kind'], message: string, extra: Pick<EnvironmentEvent, 'scale'> = {}): Promise<void> {
    const event: EnvironmentEvent = { at: new Date().toISOString(), kind, message, ...extra };
    this.lastEvent = event;
    this.deps.log(`${this.key}: ${message}`);
    const file = path.join(this.deps.dataDir, 'deploy', this.state.app, this.state.environment, 'events.jsonl');
    await mkdir(path.dirname(file), { recursive: true });
    await appendFile(file, `${JSON.stringify(event)}\n`);
  }

  async status(): Promise<DockerEnvironmentStatus> {
    const revisions = await this.deps.store.list(this.state.app, this.state.environment);
    const current = this.state.current ? revisions.find((r) => r.number === this.state.current?.number) : undefined;
    const replicas = [...this.replicas];
    const ready = replicas.filter((r) => r.state === 'healthy' && (!current || r.revision === current.number)).length;
    const rolling = this.state.rollout?.number;
    return {
      app: this.state.app,
      environment: this.state.environment,
      target: 'docker',
      ...(current ? { current } : {}),
      endpoint: `http://127.0.0.1:${this.state.port}`,
      network: this.routes.network,
      ...(this.state.current?.config.hosts?.length ? { hosts: this.state.current.config.hosts } : {}),
      replicas: {
        desired: this.state.current?.config.replicas ?? this.state.rollout?.config.replicas ?? 0,
        ready,
        ...(rolling !== undefined ? { updated: replicas.filter((r) => r.revision === rolling && r.state === 'healthy').length } : {}),
      },
      ...(rolling !== undefined ? { rollingOut: rolling, message: `rolling out revision ${rolling}` } : this.lastEvent ? { message: `${this.lastEvent.at} ${this.lastEvent.message}` } : {}),
      replicaList: replicas.map((r) => r.info()),
    };
  }

  /** Removes every replica and stops the proxy (the environment is deleted). */
  async destroy(): Promise<void> {
    // the supervisor must not start a replacement for a replica being retired here
    this.destroyed = true;
    this.cancel();
    await this.exclusive(() => Promise.all([...this.replicas].map((r) => this.retire(r).catch(() => undefined))));
    await this.routes.remove();
  }
}
