// The rolling update: converge an environment's replicas to one revision, honouring maxSurge and
// maxUnavailable. Start new replicas, wait until healthy (the environment puts healthy ones in the
// proxy), take an old one out of the proxy, drain it, stop it; repeat. The same procedure serves a
// deploy, a rollback (automatic or to a named revision) and the recovery after an agent restart.
import type { Replica } from './replicas.js';
import type { RevisionRef } from './state.js';

export interface RolloutHost {
  readonly replicas: ReadonlySet<Replica>;
  startReplica(ref: RevisionRef): Promise<Replica>;
  /** out of the proxy, drained, stopped, removed; marks the replica draining before it returns */
  retire(replica: Replica): Promise<void>;
  /** resolves at the next replica state change, or after `ms` */
  waitForChange(ms: number): Promise<void>;
}

export type RolloutResult =
  | { ok: true }
  | { ok: false; code: 'ROLLOUT_PROGRESS_DEADLINE' | 'ROLLOUT_UNHEALTHY' | 'ROLLOUT_CANCELLED'; reason: string };

export interface RolloutOptions {
  signal: AbortSignal;
  progress: (line: string) => void;
}

/**
 * Rolls the host to `target`. Returns when `replicas` replicas of it are healthy and every other
 * replica is stopped, or with the reason it could not: a new replica crashed, turned unhealthy, or
 * no new replica became healthy within the progress deadline (reset at each one that does, as
 * Kubernetes does).
 */
export async function rollOut(host: RolloutHost, target: RevisionRef, options: RolloutOptions): Promise<RolloutResult> {
  const { config } = target;
  const desired = config.replicas;
  let maxSurge = Math.max(0, config.strategy.maxSurge);
  const maxUnavailable = Math.min(desired, Math.max(0, config.strategy.maxUnavailable));
  // Both zero would never make progress; Kubernetes refuses it, we surge by one instead.
  if (maxSurge === 0 && maxUnavailable === 0) maxSurge = 1;
  const retiring: Array<Promise<void>> = [];
  const retire = (replica: Replica, why: string): void => {
    options.progress(`replica ${replica.name} (revision ${replica.revision}) ${why}`);
    retiring.push(host.retire(replica).catch((err: unknown) => options.progress(`replica ${replica.name}: could not be stopped: ${(err as Error).message}`)));
  };
  let deadline = Date.now() + config.strategy.progressDeadlineMs;
  const announced = new Set<Replica>();
  // Only replicas this rollout started can fail it; an older replica of the same revision that
  // crashed is replaced like any other (a rollback to a revision whose replica just died).
  const startedHere = new Set<Replica>();

  for (;;) {
    if (options.signal.aborted) return { ok: false, code: 'ROLLOUT_CANCELLED', reason: `the rollout of revision ${target.number} was cancelled` };
    const all = [...host.replicas];
    const mine = all.filter((r) => r.revision === target.number);
    const broken = mine.find((r) => startedHere.has(r) && (r.state === 'failed' || r.state === 'unhealthy'));
    if (broken) {
      const what = broken.state === 'failed' ? 'crashed' : 'turned unhealthy';
      return { ok: false, code: 'ROLLOUT_UNHEALTHY', reason: `revision ${target.number} ${what}: ${await broken.explain()}` };
    }
    for (const r of all) if (r.state === 'failed' || (r.state === 'unhealthy' && r.revision === target.number)) retire(r, `is ${r.state}; removing it`);

    const news = mine.filter((r) => r.isLive);
    const newHealthy = news.filter((r) => r.serving);
    for (const r of newHealthy) {
      if (announced.has(r)) continue;
      announced.add(r);
      deadline = Date.now() + config.strategy.progressDeadlineMs;
      options.progress(`replica ${r.name} is healthy and in the proxy (${Math.min(announced.size, desired)}/${desired})`);
    }
    const olds = all.filter((r) => r.revision !== target.number && (r.isLive || r.state === 'unhealthy'));

    if (newHealthy.length >= desired && olds.length === 0) {
      // More new replicas than wanted (the count went down): the ones not yet healthy go first.
      const extra = [...news].sort((a, b) => Number(a.serving) - Number(b.serving)).slice(0, news.length - desired);
      for (const r of extra) retire(r, 'is surplus; removing it');
      await Promise.all(retiring);
      return { ok: true };
    }

    let acted = false;
    // Old replicas that serve nothing can go at once; available ones only while enough stay available.
    for (const r of olds.filter((o) => o.state !== 'healthy')) {
      retire(r, 'is not serving; removing it');
      acted = true;
    }
    const oldAvailable = olds.filter((o) => o.serving);
    let available = oldAvailable.length + newHealthy.length;
    let oldLeft = oldAvailable.length;
    for (const r of oldAvailable) {
      // Kubernetes' rule: never fewer available replicas than desired - maxUnavailable.
      if (available - 1 < desired - maxUnavailable) break;
      retire(r, 'leaves the proxy, draining and stopping');
      available -= 1;
      oldLeft -= 1;
      acted = true;
    }
    let live = oldLeft + news.length;
    let started = news.length;
    while (live < desired + maxSurge && started < desired) {
      if (options.signal.aborted) break;
      let replica: Replica;
      try {
        replica = await host.startReplica(target);
      } catch (err) {
        return { ok: false, code: 'ROLLOUT_UNHEALTHY', reason: `revision ${target.number}: a replica could not be started: ${(err as Error).message}` };
      }
      startedHere.add(replica);
      options.progress(`replica ${replica.name} (revision ${target.number}) started, waiting for its health check`);
      live += 1;
      started += 1;
      acted = true;
    }
    if (acted) continue;

    const left = deadline - Date.now();
    if (left <= 0) {
      const waiting = news.find((r) => r.state !== 'healthy') ?? mine[0];
      const detail = waiting ? await waiting.explain() : 'no replica of it is running';
      return {
        ok: false,
        code: 'ROLLOUT_PROGRESS_DEADLINE',
        reason: `revision ${target.number} made no progress within ${config.strategy.progressDeadlineMs / 1000}s: ${detail}`,
      };
    }
    await host.waitForChange(Math.min(left, 1000));
  }
}
