// The docker target's autoscaler: for each environment whose current revision has `autoscale`, it
// samples the requests in flight to it a few times a second and, every second, each ready
// replica's CPU from the engine's stats; then applies autoscale.ts's decision through the same path
// as `slipway scale` (Environment.scale, recorded as a scale event by "autoscaler").
import type Docker from 'dockerode';
import { afterScale, decide, startMemory, type AutoscaleMemory, type AutoscalePolicy, type Observation } from '../autoscale.js';
import type { ScaleOutcome } from '../scale-events.js';
import type { Replica } from './replicas.js';
import type { EnvironmentState } from './state.js';

/** One decision a second; in-flight requests are sampled this many times in between and averaged. */
export const AUTOSCALE_INTERVAL_MS = 1000;
const SAMPLES_PER_INTERVAL = 4;

/** What the autoscaler needs of an Environment. */
export interface ScalableEnvironment {
  readonly key: string;
  readonly state: EnvironmentState;
  readonly replicas: ReadonlySet<Replica>;
  /** requests in flight to the environment right now (each data plane answers its pool's count alone) */
  inflight(): Promise<number>;
  scale(replicas: number, by: string, progress: (line: string) => void, cause?: string): Promise<ScaleOutcome>;
}

export interface CpuSample {
  totalNs: number;
  systemNs: number;
}

interface Tracked {
  memory: AutoscaleMemory;
  /** the revision and count the memory is about: another count means someone else scaled */
  revision: number;
  replicas: number;
  inflight: number[];
  cpu: Map<string, CpuSample>;
  sampling: boolean;
  /** deciding, or carrying out a decision */
  busy: boolean;
  ticks: number;
}

export interface AutoscalerOptions {
  environments: () => Iterable<ScalableEnvironment>;
  log: (line: string) => void;
  intervalMs?: number;
  now?: () => number;
}

export class Autoscaler {
  private timer: NodeJS.Timeout | undefined;
  private readonly tracked = new Map<ScalableEnvironment, Tracked>();
  /** samples and decisions being made (stop waits for them) */
  private readonly work = new Set<Promise<void>>();
  /** decisions being carried out: the environment finishes them (or a removal cancels them) */
  private readonly scaling = new Set<Promise<void>>();
  private readonly intervalMs: number;
  private readonly now: () => number;

  constructor(private readonly options: AutoscalerOptions) {
    this.intervalMs = options.intervalMs ?? AUTOSCALE_INTERVAL_MS;
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.timer ??= setInterval(() => this.sample(), this.intervalMs / SAMPLES_PER_INTERVAL);
  }

  /** Stops sampling; waits for decisions being made, not for scales under way (the environment finishes those). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await Promise.allSettled([...this.work]);
    this.tracked.clear();
  }

  private track(promise: Promise<void>, set = this.work): void {
    const p = promise.finally(() => set.delete(p));
    set.add(p);
  }

  private sample(): void {
    const seen = new Set<ScalableEnvironment>();
    for (const env of this.options.environments()) {
      seen.add(env);
      const current = env.state.current;
      const policy = current?.config.autoscale;
      // nothing to scale, or a rollout under way: its end sets the count
      if (!current || !policy || env.state.rollout) {
        this.tracked.delete(env);
        continue;
      }
      let t = this.tracked.get(env);
      const now = this.now();
      if (!t || t.revision !== current.number) {
        t = { memory: startMemory(now, current.config.replicas), revision: current.number, replicas: current.config.replicas, inflight: [], cpu: new Map(), sampling: false, busy: false, ticks: 0 };
        this.tracked.set(env, t);
      } else if (t.replicas !== current.config.replicas) {
        t.memory = afterScale(t.memory, now, current.config.replicas);
        t.replicas = current.config.replicas;
      }
      if (t.busy) continue;
      const tracked = t;
      if (!tracked.sampling) {
        tracked.sampling = true;
        this.track(
          env
            .inflight()
            .then((n) => void tracked.inflight.push(n))
            .catch(() => undefined)
            .finally(() => {
              tracked.sampling = false;
            }),
        );
      }
      tracked.ticks += 1;
      if (tracked.ticks % SAMPLES_PER_INTERVAL === 0) {
        tracked.busy = true;
        const done = (): void => {
          tracked.busy = false;
        };
        const failed = (err: unknown): void => this.options.log(`${env.key}: autoscaler: ${(err as Error).message}`);
        this.track(
          this.evaluate(env, tracked, policy).then(
            (decided) => {
              if (decided) this.track(decided.scaling.catch(failed).finally(done), this.scaling);
              else done();
            },
            (err: unknown) => {
              failed(err);
              done();
            },
          ),
        );
      }
    }
    for (const env of this.tracked.keys()) if (!seen.has(env)) this.tracked.delete(env);
  }

  /** Measures and decides; a decision being carried out comes back as its scale (wrapped: an async function would wait for it). */
  private async evaluate(env: ScalableEnvironment, t: Tracked, policy: AutoscalePolicy): Promise<{ scaling: Promise<void> } | undefined> {
    const current = env.state.current;
    if (!current) return undefined;
    const ready = [...env.replicas].filter((r) => r.revision === current.number && r.serving);
    const samples = t.inflight.splice(0);
    const observation: Observation = { ready: ready.length };
    if (policy.targetInflight !== undefined && samples.length > 0 && ready.length > 0) {
      observation.inflightPerReplica = samples.reduce((a, b) => a + b, 0) / samples.length / ready.length;
    }
    if (policy.targetCPU !== undefined && ready.length > 0) {
      const cpu = await cpuPerReplica(ready, t.cpu);
      if (cpu !== undefined) observation.cpuPercentPerReplica = cpu;
    }
    const now = this.now();
    const { memory, decision } = decide(policy, t.memory, current.config.replicas, observation, now);
    t.memory = memory;
    if (!decision || decision.replicas === current.config.replicas) return undefined;
    this.options.log(`${env.key}: autoscaler: ${current.config.replicas} → ${decision.replicas} (${decision.reason})`);
    const scaling = (async () => {
      const outcome = await env.scale(decision.replicas, 'autoscaler', () => undefined, decision.reason);
      const replicas = env.state.current?.config.replicas ?? current.config.replicas;
      t.memory = afterScale(t.memory, this.now(), replicas);
      t.replicas = replicas;
      t.inflight.length = 0;
      if (outcome.outcome !== 'healthy') this.options.log(`${env.key}: autoscaler: the scale to ${decision.replicas} failed: ${outcome.reason ?? ''}`);
    })();
    return { scaling };
  }
}

/**
 * CPU per replica in percent of one core, averaged over the replicas measured twice: the engine's
 * one-shot stats give cumulative CPU time, so each sample is the difference from the one before.
 */
export async function cpuPerReplica(replicas: Array<Pick<Replica, 'id' | 'container'>>, last: Map<string, CpuSample>): Promise<number | undefined> {
  const percents = await Promise.all(
    replicas.map(async (replica) => {
      let stats: Docker.ContainerStats;
      try {
        stats = await replica.container.stats({ stream: false, 'one-shot': true });
      } catch {
        return undefined;
      }
      const cpu = stats.cpu_stats;
      const sample: CpuSample = { totalNs: cpu?.cpu_usage?.total_usage ?? 0, systemNs: cpu?.system_cpu_usage ?? 0 };
      const before = last.get(replica.id);
      last.set(replica.id, sample);
      const cores = cpu?.online_cpus || cpu?.cpu_usage?.percpu_usage?.length || 1;
      if (!before || sample.systemNs <= before.systemNs || sample.totalNs < before.totalNs) return undefined;
      return ((sample.totalNs - before.totalNs) / (sample.systemNs - before.systemNs)) * cores * 100;
    }),
  );
  const ids = new Set(replicas.map((r) => r.id));
  for (const id of last.keys()) if (!ids.has(id)) last.delete(id);
  const measured = percents.filter((p): p is number => p !== undefined);
  return measured.length > 0 ? measured.reduce((a, b) => a + b, 0) / measured.length : undefined;
}
