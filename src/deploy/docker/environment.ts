// One environment of an app as the agent runs it: its replicas, its current revision, the rollouts
// that change it (one at a time) and the supervisor that keeps it at its current revision between
// rollouts (self-healing). Healthy replicas join the data plane's rotation (routes.ts); any other
// state leaves it. The data plane itself runs apart from the agent (dataplane-containers.ts).
import { EventEmitter } from 'node:events';
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type Docker from 'dockerode';
import { DeployError, type DeployOutcome, type Revision } from '../types.js';
import { isSameRelease, rollbackTarget, unchangedOutcome } from '../changes.js';
import { imageOf } from './images.js';
import type { RevisionStore } from '../revisions.js';
import type { EnvironmentRoutes } from './routes.js';
import { DEFAULT_DRAIN_MS } from './dataplane/pool.js';
import { startReplica, type Replica, type ReplicaInfo, type ReplicaState } from './replicas.js';
import { rollOut, type RolloutResult } from './rollout.js';
import type { EnvironmentState, RevisionRef, RolloutConfig } from './state.js';
import { replicasForRollout, scaleProblem } from '../autoscale.js';
import { scaleMessage, type ScaleEvent, type ScaleOutcome } from '../scale-events.js';


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
  private healFailures = 0;
  private healNotBefore = 0;
  /** removed (or the agent shutting down with its environments): nothing is healed any more */
  private destroyed = false;

  constructor(
    readonly state: EnvironmentState,
    private readonly deps: EnvironmentDeps,
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
      this.healFailures = 0;
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
  private retireLater(replica: Replica): void {
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

  /** `digest`: the image's local id, resolved by the agent; `force`: roll out even when nothing changed. */
  deploy(config: RolloutConfig, trigger: Revision['trigger'], progress: Progress, options: { digest?: string; force?: boolean } = {}): Promise<DeployOutcome> {
    return this.exclusive(async () => {
      const release = { image: config.image, config: revisionConfig(config), ...(options.digest !== undefined ? { digest: options.digest } : {}) };
      const current = await this.currentRevision();
      // A revision without a digest (recorded before digests were) cannot vouch for its tag: a change.
      if (current?.digest !== undefined && !options.force && isSameRelease(current, release, { byReference: false })) return unchangedOutcome(current);
      const revision = await this.deps.store.append({
        app: this.state.app,
        environment: this.state.environment,
        target: 'docker',
        ...release,
        trigger,
        createdAt: new Date().toISOString(),
        outcome: 'in-progress',
      });
      if (current && options.force && isSameRelease(current, release, { byReference: false })) progress(`revision ${current.number} already runs this image and config; --force: restarting its replicas as revision ${revision.number}`);
      return this.roll(revision, this.withLiveCount(config, 'deploy', current, progress), progress);
    });
  }

  /** The revision the environment serves, as its history records it. */
  private async currentRevision(): Promise<Revision | undefined> {
    const number = this.state.current?.number;
    if (number === undefined) return undefined;
    return (await this.deps.store.list(this.state.app, this.state.environment)).find((r) => r.number === number);
  }

  rollback(to: number | undefined, by: string, progress: Progress): Promise<DeployOutcome> {
    return this.exclusive(async () => {
      const revisions = await this.deps.store.list(this.state.app, this.state.environment);
      const current = revisions.find((r) => r.number === this.state.current?.number);
      const target = rollbackTarget(revisions, current, this.key, to);
      const config = { ...rolloutConfig(target), image: await imageOf(this.deps.docker, target, progress) };
      const revision = await this.deps.store.append({
        app: this.state.app,
        environment: this.state.environment,
        target: 'docker',
        image: target.image,
        ...(target.digest !== undefined ? { digest: target.digest } : {}),
        config: target.config,
        trigger: { by, kind: 'rollback' },
        restoredFrom: target.number,
        createdAt: new Date().toISOString(),
        outcome: 'in-progress',
      });
      progress(`${this.key}: rolling back to revision ${target.number} (${target.image}) as revision ${revision.number}`);
      return this.roll(revision, this.withLiveCount(config, 'rollback', current, progress), progress);
    });
  }

  /** Once the environment was scaled, the count a new revision starts with (see replicasForRollout). */
  private withLiveCount(config: RolloutConfig, kind: 'deploy' | 'rollback', current: Revision | undefined, progress: Progress): RolloutConfig {
    const replicas = replicasForRollout({
      kind,
      replicas: config.replicas,
      autoscale: config.autoscale,
      live: this.state.current?.config.replicas,
      currentReplicas: current?.config.replicas,
      currentAutoscale: current?.config.autoscale !== undefined,
    });
    if (replicas === config.replicas) return config;
    progress(`${replicas} replicas: the count ${this.key} runs now${config.autoscale ? ` (autoscale ${config.autoscale.min}..${config.autoscale.max})` : ''}, not the deploy block's ${config.replicas} (see slipway scale --help)`);
    return { ...config, replicas };
  }

  // ---- scaling -------------------------------------------------------------------------------

  /**
   * Sets the current revision's replica count — persisted, so self-healing and restarts keep it —
   * and waits until that many serve; surplus replicas leave through the proxy's drain. After any
   * rollout under way. When the new count does not serve, the previous one is restored.
   */
  scale(replicas: number, by: string, progress: Progress, cause?: string): Promise<ScaleOutcome> {
    return this.exclusive(async () => {
      const current = this.state.current;
      if (this.destroyed || !current) throw new DeployError('ROLLOUT_NO_REVISION', `${this.key} serves no revision to scale${this.destroyed ? ' (it was removed)' : ''}; deploy it first`);
      const problem = scaleProblem(replicas, current.config.autoscale);
      if (problem) throw new DeployError('ROLLOUT_INVALID', `${this.key}: ${problem}`, [{ field: 'replicas', message: problem.replace(/^replicas: /, '') }]);
      const from = current.config.replicas;
      const event: ScaleEvent = {
        app: this.state.app,
        environment: this.state.environment,
        target: 'docker',
        revision: current.number,
        from,
        to: replicas,
        by,
        ...(cause !== undefined ? { cause } : {}),
        at: new Date().toISOString(),
        outcome: 'healthy',
      };
      const say: Progress = (line) => {
        this.deps.log(`${this.key}: ${line}`);
        progress(line);
      };
      if (from === replicas) {
        say(`revision ${current.number} already runs ${replicas} replica${replicas === 1 ? '' : 's'}; nothing to change`);
        return { event, outcome: 'healthy', unchanged: true };
      }
      const ref: RevisionRef = { number: current.number, config: { ...current.config, replicas } };
      this.state.current = ref;
      await this.deps.persist();
      say(`scaling revision ${current.number} from ${from} to ${replicas} replica${replicas === 1 ? '' : 's'}${cause ? ` (${cause})` : ''}`);
      // the replicas serving already are no news: only the ones that join or leave are told
      const serving = [...this.replicas].filter((r) => r.serving).map((r) => `replica ${r.name} is healthy and in the proxy`);
      const tell: Progress = (line) => {
        if (!serving.some((prefix) => line.startsWith(prefix))) say(line);
      };
      const controller = new AbortController();
      this.activeRollout = controller;
      let result: RolloutResult;
      try {
        result = await rollOut(this, ref, { signal: controller.signal, progress: tell });
      } finally {
        this.activeRollout = undefined;
      }
      let finished: ScaleEvent = { ...event, finishedAt: new Date().toISOString() };
      if (!result.ok) {
        say(`${replicas} replicas did not serve: ${result.reason}; back to ${from}`);
        this.state.current = { number: current.number, config: { ...ref.config, replicas: from } };
        await this.deps.persist();
        const back = await rollOut(this, this.state.current, { signal: new AbortController().signal, progress: say });
        if (!back.ok) say(`${from} replicas did not serve either: ${back.reason}`);
        finished = { ...finished, outcome: 'failed', reason: result.reason, finishedAt: new Date().toISOString() };
      } else {
        say(`${replicas}/${replicas} replicas of revision ${current.number} serve`);
      }
      await this.record('scale', scaleMessage(finished), { scale: finished });
      return { event: finished, outcome: finished.outcome, ...(finished.reason !== undefined ? { reason: finished.reason } : {}) };
    });
  }

  private async roll(revision: Revision, config: RolloutConfig, progress: Progress): Promise<DeployOutcome> {
    const ref: RevisionRef = { number: revision.number, config };
    this.state.rollout = ref;
    try {
      await this.prepareRoutes(config);
    } catch (err) {
      delete this.state.rollout;
      const reason = (err as Error).message;
      const failed: Revision = { ...revision, outcome: 'failed', finishedAt: new Date().toISOString(), reason };
      await this.deps.store.update(failed);
      progress(`revision ${revision.number} failed: ${reason}`);
      return { revision: failed, outcome: 'failed', reason };
    }
    await this.deps.persist();
    const say: Progress = (line) => {
      this.deps.log(`${this.key}: ${line}`);
      progress(line);
    };
    say(`rolling out revision ${revision.number}: ${config.replicas} × ${config.image} behind http://127.0.0.1:${this.state.port}`);
    const controller = new AbortController();
    this.activeRollout = controller;
    let result: RolloutResult;
    try {
      result = await rollOut(this, ref, { signal: controller.signal, progress: say });
    } finally {
      this.activeRollout = undefined;
    }
    let outcome: DeployOutcome['outcome'] = 'healthy';
    let reason: string | undefined;
    if (result.ok) {
      this.state.current = ref;
      say(`revision ${revision.number} is healthy: ${config.replicas}/${config.replicas} replicas serve`);
    } else {
      reason = result.reason;
      say(`revision ${revision.number} failed: ${reason}`);
      const previous = this.state.current;
      if (previous) {
        // Auto-rollback (or, with autoRollback off, the supervisor would converge to the current
        // revision anyway: an environment has one current revision and restores only that one).
        say(`rolling back to revision ${previous.number} (${previous.config.image})`);
        const back = await rollOut(this, previous, { signal: new AbortController().signal, progress: say });
        if (back.ok) {
          outcome = 'rolled-back';
          say(`rolled back: revision ${previous.number} serves again`);
        } else {
          outcome = 'failed';
          reason = `${reason}\nthe rollback to revision ${previous.number} failed too: ${back.reason}`;
        }
      } else {
        outcome = 'failed';
        for (const r of [...this.replicas]) if (r.revision === revision.number) await this.retire(r);
      }
    }
    delete this.state.rollout;
    await this.deps.persist();
    const finished: Revision = {
      ...revision,
      outcome: outcome === 'healthy' ? 'healthy' : outcome,
      finishedAt: new Date().toISOString(),
      ...(reason !== undefined ? { reason } : {}),
    };
    await this.deps.store.update(finished);
    await this.record(revision.trigger.kind === 'rollback' ? 'rollback' : 'rollout', `revision ${revision.number}: ${outcome}${reason ? `: ${reason.split('\n')[0]}` : ''}`);
    return { revision: finished, outcome, ...(reason !== undefined ? { reason } : {}) };
  }

  /**
   * Before a rollout: the network and mesh proxy exist, and the edge serves the environment's port
   * (moved when the deploy block names another) and host names.
   */
  private async prepareRoutes(config: RolloutConfig): Promise<void> {
    await this.routes.prepare(config.port);
    const old = this.state.port;
    if (config.publish !== undefined && config.publish !== old) this.state.port = config.publish;
    try {
      await this.deps.configureEdge();
    } catch (err) {
      this.state.port = old;
      throw new DeployError('ROLLOUT_INVALID', `${this.key}: the edge could not serve port ${config.publish ?? old}: ${(err as Error).message}`);
    }
    if (old !== 0 && old !== this.state.port) this.deps.log(`${this.key}: moved from port ${old} to ${this.state.port}`);
  }

  // ---- after a restart -----------------------------------------------------------------------

  /** Converges to the current revision after an agent restart; an interrupted rollout is failed. */
  recover(interrupted: RevisionRef | undefined): Promise<void> {
    return this.exclusive(async () => {
      // Adopted replicas were checked once before the agent answered (adopt); one whose check took
      // longer than its timeout is given a little more, so that healthy ones of any revision keep
      // serving while the environment converges.
      const deadline = Date.now() + 3000;
      while ([...this.replicas].some((r) => r.state === 'starting' && !r.lastProbe) && Date.now() < deadline) await this.waitForChange(deadline - Date.now());
      await this.restoreRoutes();
      if (interrupted) {
        const revision = (await this.deps.store.list(this.state.app, this.state.environment)).find((r) => r.number === interrupted.number);
        const to = this.state.current;
        const reason = `interrupted: the deploy agent stopped during the rollout; ${to ? `restored revision ${to.number}` : 'no earlier revision to restore'}`;
        if (revision && revision.outcome === 'in-progress') {
          await this.deps.store.update({ ...revision, outcome: to ? 'rolled-back' : 'failed', finishedAt: new Date().toISOString(), reason });
        }
        delete this.state.rollout;
        await this.deps.persist();
        await this.record('recovered', `revision ${interrupted.number} ${reason}`);
      }
      const current = this.state.current;
      if (!current) {
        for (const r of [...this.replicas]) await this.retire(r);
        return;
      }
      const result = await rollOut(this, current, { signal: new AbortController().signal, progress: (line) => this.deps.log(`${this.key}: recovery: ${line}`) });
      if (!result.ok) this.deps.log(`${this.key}: recovery did not converge: ${result.reason}`);
    });
  }

  /** The mesh proxy runs, and the data planes route to no replica that is gone. */
  private async restoreRoutes(): Promise<void> {
    const config = (this.state.current ?? this.state.rollout)?.config;
    try {
      if (config) await this.routes.prepare(config.port);
      const gone = await this.routes.reconcile(new Set([...this.replicas].filter((r) => r.isLive).map((r) => r.id)));
      if (gone.length > 0) this.deps.log(`${this.key}: ${gone.length} replica(s) gone while no agent ran left the rotation`);
    } catch (err) {
      this.deps.log(`${this.key}: could not check the data plane's routes: ${(err as Error).message}`);
    }
  }

  // ---- self-healing --------------------------------------------------------------------------

  /** One pass of the supervisor: replace replicas of the current revision that exited or turned unhealthy. */
  async heal(): Promise<void> {
    const current = this.state.current;
    if (!current || this.isBusy || this.destroyed) return;
    await this.exclusive(async () => {
      // a removal queued ahead of this pass has run by now
      if (this.destroyed) return;
      for (const r of [...this.replicas]) {
        if (r.state === 'failed' || r.state === 'unhealthy') {
          const why = r.state === 'failed' ? `exited with code ${r.exitCode ?? '?'}` : `turned unhealthy (${r.lastProbe?.output ?? 'no output'})`;
          if (r.revision === current.number) {
            await this.record('replaced', `replica ${r.name} (revision ${r.revision}) ${why}; replacing it`);
            if (r.state === 'failed' || r.state === 'unhealthy') this.healFailures += r.counters.successes === 0 && r.state === 'failed' ? 1 : 0;
          }
          this.retireLater(r);
        }
      }
      const live = [...this.replicas].filter((r) => r.revision === current.number && r.isLive);
      const others = [...this.replicas].filter((r) => r.revision !== current.number && r.isLive);
      if (live.length < current.config.replicas && Date.now() >= this.healNotBefore) {
        for (let i = live.length; i < current.config.replicas; i += 1) {
          try {
            const replica = await this.startReplica(current);
            this.deps.log(`${this.key}: started replacement ${replica.name} (revision ${current.number})`);
          } catch (err) {
            this.deps.log(`${this.key}: could not start a replacement: ${(err as Error).message}`);
            this.healFailures += 1;
            break;
          }
        }
        // Replacements that crash again are retried later and later, up to 30 s apart.
        if (this.healFailures > 0) this.healNotBefore = Date.now() + Math.min(30_000, 500 * 2 ** Math.min(this.healFailures, 6));
      } else if (live.length > current.config.replicas) {
        const extra = live.sort((a, b) => Number(a.state === 'healthy') - Number(b.state === 'healthy')).slice(0, live.length - current.config.replicas);
        for (const r of extra) this.retireLater(r);
      }
      // Replicas of another revision outside a rollout: leftovers; they go once the current ones serve.
      const ready = live.filter((r) => r.state === 'healthy').length;
      if (others.length > 0 && ready >= current.config.replicas) for (const r of others) this.retireLater(r);
    });
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

/** Revision.config is typed `DeploySpec & { image: string }`; what it holds is the rendered block. */
export function revisionConfig(config: RolloutConfig): Revision['config'] {
  return { ...config, target: 'docker' } as unknown as Revision['config'];
}

export function rolloutConfig(revision: Revision): RolloutConfig {
  const { target: _target, kubernetes: _k, ...rest } = revision.config as unknown as RolloutConfig & { target?: string; kubernetes?: unknown };
  return { ...rest, image: revision.image };
}
