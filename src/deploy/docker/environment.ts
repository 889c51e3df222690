// One environment of an app as the agent runs it: its proxy, its replicas, its current revision, the
// rollouts that change it (one at a time) and the supervisor that keeps it at its current revision
// between rollouts (self-healing). Healthy replicas join the proxy; any other state leaves it.
import { EventEmitter } from 'node:events';
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type Docker from 'dockerode';
import { DeployError, type DeployOutcome, type Revision } from '../types.js';
import type { RevisionStore } from '../revisions.js';
import { DEFAULT_DRAIN_MS, Proxy } from './proxy.js';
import { startReplica, type Replica, type ReplicaInfo, type ReplicaState } from './replicas.js';
import { rollOut, type RolloutResult } from './rollout.js';
import type { EnvironmentState, RevisionRef, RolloutConfig } from './state.js';

export interface EnvironmentDeps {
  docker: Docker;
  agent: string;
  dataDir: string;
  store: RevisionStore;
  host: string;
  persist: () => Promise<void>;
  log: (line: string) => void;
  drainMs?: number;
}

export interface EnvironmentEvent {
  at: string;
  kind: 'rollout' | 'replaced' | 'recovered' | 'rollback';
  message: string;
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
}

export type Progress = (line: string) => void;

export class Environment {
  readonly replicas = new Set<Replica>();
  readonly proxy: Proxy;
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
    this.proxy = new Proxy({ host: deps.host });
  }

  get key(): string {
    return `${this.state.app}/${this.state.environment}`;
  }

  get isBusy(): boolean {
    return this.busy > 0;
  }

  /** Requests in flight through this environment's proxy right now (the autoscaler's measure). */
  async inflight(): Promise<number> {
    return this.proxy.inflight;
  }

  async listen(port: number): Promise<void> {
    this.state.port = await this.proxy.listen(port);
  }

  // ---- replicas ------------------------------------------------------------------------------

  track(replica: Replica): void {
    this.replicas.add(replica);
    replica.on('state', (r: Replica, previous: ReplicaState) => this.onReplicaState(r, previous));
    replica.monitor(this.deps.docker);
  }

  private onReplicaState(replica: Replica, previous: ReplicaState): void {
    if (replica.state === 'healthy') {
      this.proxy.add(replica.id, replica.hostPort);
      this.healFailures = 0;
    } else if (replica.state === 'failed' || replica.state === 'unhealthy') {
      // Out of rotation at once; requests in flight to a dead replica are retried elsewhere.
      void this.proxy.drain(replica.id, replica.state === 'failed' ? 0 : this.deps.drainMs ?? DEFAULT_DRAIN_MS);
    }
    this.deps.log(`${this.key}: replica ${replica.name} ${previous} → ${replica.state}${replica.lastProbe && replica.state !== 'healthy' ? ` (${replica.lastProbe.output})` : ''}`);
    this.changes.emit('change');
  }

  async startReplica(ref: RevisionRef): Promise<Replica> {
    const replica = await startReplica(this.deps.docker, {
      agent: this.deps.agent,
      app: this.state.app,
      environment: this.state.environment,
      revision: ref.number,
      config: ref.config,
    });
    this.track(replica);
    return replica;
  }

  async retire(replica: Replica): Promise<void> {
    if (replica.state === 'stopped') return;
    replica.apply({ type: 'retire' });
    await this.proxy.drain(replica.id, this.deps.drainMs ?? DEFAULT_DRAIN_MS);
    // One that never served has nothing in flight: no reason to wait 10 s on an app ignoring SIGTERM.
    await replica.remove(replica.everHealthy || replica.adopted ? 10 : 1);
    this.replicas.delete(replica);
    this.changes.emit('change');
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

  deploy(config: RolloutConfig, trigger: Revision['trigger'], progress: Progress): Promise<DeployOutcome> {
    return this.exclusive(async () => {
      const revision = await this.deps.store.append({
        app: this.state.app,
        environment: this.state.environment,
        target: 'docker',
        image: config.image,
        config: revisionConfig(config),
        trigger,
        createdAt: new Date().toISOString(),
        outcome: 'in-progress',
      });
      return this.roll(revision, config, progress);
    });
  }

  rollback(to: number | undefined, by: string, progress: Progress): Promise<DeployOutcome> {
    return this.exclusive(async () => {
      const revisions = await this.deps.store.list(this.state.app, this.state.environment);
      const current = this.state.current?.number;
      const target =
        to !== undefined
          ? revisions.find((r) => r.number === to)
          : [...revisions].reverse().find((r) => r.outcome === 'healthy' && current !== undefined && r.number < current);
      if (!target) {
        throw new DeployError('ROLLOUT_NO_REVISION', to !== undefined ? `${this.key} has no revision ${to}` : `${this.key} has no healthy revision before the current one (${current ?? 'none'})`);
      }
      if (target.outcome !== 'healthy') {
        throw new DeployError('ROLLOUT_NO_REVISION', `revision ${target.number} of ${this.key} never became healthy (${target.outcome}); only a healthy revision can be restored`);
      }
      if (target.number === current) throw new DeployError('ROLLOUT_INVALID', `revision ${target.number} is already the current revision of ${this.key}`);
      const config = rolloutConfig(target);
      const revision = await this.deps.store.append({
        app: this.state.app,
        environment: this.state.environment,
        target: 'docker',
        image: target.image,
        config: target.config,
        trigger: { by, kind: 'rollback' },
        restoredFrom: target.number,
        createdAt: new Date().toISOString(),
        outcome: 'in-progress',
      });
      progress(`${this.key}: rolling back to revision ${target.number} (${target.image}) as revision ${revision.number}`);
      return this.roll(revision, config, progress);
    });
  }

  private async roll(revision: Revision, config: RolloutConfig, progress: Progress): Promise<DeployOutcome> {
    const ref: RevisionRef = { number: revision.number, config };
    this.state.rollout = ref;
    await this.ensurePort(config.publish);
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

  /** The proxy moves when the deploy block names another port. */
  private async ensurePort(publish: number | undefined): Promise<void> {
    if (publish === undefined || publish === this.state.port) return;
    const old = this.state.port;
    const next = new Proxy({ host: this.deps.host });
    await next.listen(publish);
    for (const r of this.replicas) if (r.state === 'healthy') next.add(r.id, r.hostPort);
    const previous = this.proxy;
    (this as { proxy: Proxy }).proxy = next;
    void previous.close();
    this.state.port = publish;
    this.deps.log(`${this.key}: proxy moved from port ${old} to ${publish}`);
  }

  // ---- after a restart -----------------------------------------------------------------------

  /** Converges to the current revision after an agent restart; an interrupted rollout is failed. */
  recover(interrupted: RevisionRef | undefined): Promise<void> {
    return this.exclusive(async () => {
      // Adopted replicas get their first check at once; wait for it so that healthy ones of any
      // revision keep serving while the environment converges.
      const deadline = Date.now() + 3000;
      while ([...this.replicas].some((r) => r.state === 'starting' && !r.lastProbe) && Date.now() < deadline) await this.waitForChange(deadline - Date.now());
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
          void this.retire(r);
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
        for (const r of extra) void this.retire(r);
      }
      // Replicas of another revision outside a rollout: leftovers; they go once the current ones serve.
      const ready = live.filter((r) => r.state === 'healthy').length;
      if (others.length > 0 && ready >= current.config.replicas) for (const r of others) void this.retire(r);
    });
  }

  async record(kind: EnvironmentEvent['kind'], message: string): Promise<void> {
    const event: EnvironmentEvent = { at: new Date().toISOString(), kind, message };
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
    await this.proxy.close();
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
