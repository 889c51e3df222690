// Keeping an environment at its current revision between rollouts: the supervisor's pass that
// replaces replicas which exited or turned unhealthy (self-healing), and the convergence after an
// agent restart (recovery), which also settles a rollout the restart interrupted.
import { rollOut } from './rollout.js';
import type { RevisionRef } from './state.js';
import type { Environment } from './environment.js';

/** Replacements that crash again are retried later and later, up to 30 s apart. */
export class HealBackoff {
  private failures = 0;
  private notBefore = 0;

  /** a replica became healthy: replacements work again */
  reset(): void {
    this.failures = 0;
  }

  /** a replacement crashed before it passed a check, or could not be started */
  count(): void {
    this.failures += 1;
  }

  get isDue(): boolean {
    return Date.now() >= this.notBefore;
  }

  /** After a pass that started replacements: the next one waits longer the more failed. */
  schedule(): void {
    if (this.failures > 0) this.notBefore = Date.now() + Math.min(30_000, 500 * 2 ** Math.min(this.failures, 6));
  }
}

/** One pass of the supervisor: replace replicas of the current revision that exited or turned unhealthy. */
export async function heal(env: Environment): Promise<void> {
  const current = env.state.current;
  if (!current || env.isBusy || env.isDestroyed) return;
  await env.exclusive(async () => {
    // a removal queued ahead of this pass has run by now
    if (env.isDestroyed) return;
    for (const r of [...env.replicas]) {
      if (r.state === 'failed' || r.state === 'unhealthy') {
        const why = r.state === 'failed' ? `exited with code ${r.exitCode ?? '?'}` : `turned unhealthy (${r.lastProbe?.output ?? 'no output'})`;
        if (r.revision === current.number) {
          await env.record('replaced', `replica ${r.name} (revision ${r.revision}) ${why}; replacing it`);
          if (r.counters.successes === 0 && r.state === 'failed') env.healBackoff.count();
        }
        env.retireLater(r);
      }
    }
    const live = [...env.replicas].filter((r) => r.revision === current.number && r.isLive);
    const others = [...env.replicas].filter((r) => r.revision !== current.number && r.isLive);
    if (live.length < current.config.replicas && env.healBackoff.isDue) {
      for (let i = live.length; i < current.config.replicas; i += 1) {
        try {
          const replica = await env.startReplica(current);
          env.deps.log(`${env.key}: started replacement ${replica.name} (revision ${current.number})`);
        } catch (err) {
          env.deps.log(`${env.key}: could not start a replacement: ${(err as Error).message}`);
          env.healBackoff.count();
          break;
        }
      }
      env.healBackoff.schedule();
    } else if (live.length > current.config.replicas) {
      const extra = live.sort((a, b) => Number(a.state === 'healthy') - Number(b.state === 'healthy')).slice(0, live.length - current.config.replicas);
      for (const r of extra) env.retireLater(r);
    }
    // Replicas of another revision outside a rollout: leftovers; they go once the current ones serve.
    const ready = live.filter((r) => r.state === 'healthy').length;
    if (others.length > 0 && ready >= current.config.replicas) for (const r of others) env.retireLater(r);
  });
}

/** Converges to the current revision after an agent restart; an interrupted rollout is failed. */
export function recover(env: Environment, interrupted: RevisionRef | undefined): Promise<void> {
  return env.exclusive(async () => {
    // Adopted replicas were checked once before the agent answered (Environment.adopt); one whose
    // check took longer than its timeout is given a little more, so that healthy ones of any
    // revision keep serving while the environment converges.
    const deadline = Date.now() + 3000;
    while ([...env.replicas].some((r) => r.state === 'starting' && !r.lastProbe) && Date.now() < deadline) await env.waitForChange(deadline - Date.now());
    await restoreRoutes(env);
    if (interrupted) {
      const revision = (await env.deps.store.list(env.state.app, env.state.environment)).find((r) => r.number === interrupted.number);
      const to = env.state.current;
      const reason = `interrupted: the deploy agent stopped during the rollout; ${to ? `restored revision ${to.number}` : 'no earlier revision to restore'}`;
      if (revision && revision.outcome === 'in-progress') {
        await env.deps.store.update({ ...revision, outcome: to ? 'rolled-back' : 'failed', finishedAt: new Date().toISOString(), reason });
      }
      delete env.state.rollout;
      await env.deps.persist();
      await env.record('recovered', `revision ${interrupted.number} ${reason}`);
    }
    const current = env.state.current;
    if (!current) {
      for (const r of [...env.replicas]) await env.retire(r);
      return;
    }
    const result = await rollOut(env, current, { signal: new AbortController().signal, progress: (line) => env.deps.log(`${env.key}: recovery: ${line}`) });
    if (!result.ok) env.deps.log(`${env.key}: recovery did not converge: ${result.reason}`);
  });
}

/** The mesh proxy runs, and the data planes route to no replica that is gone. */
async function restoreRoutes(env: Environment): Promise<void> {
  const config = (env.state.current ?? env.state.rollout)?.config;
  try {
    if (config) await env.routes.prepare(config.port);
    const gone = await env.routes.reconcile(new Set([...env.replicas].filter((r) => r.isLive).map((r) => r.id)));
    if (gone.length > 0) env.deps.log(`${env.key}: ${gone.length} replica(s) gone while no agent ran left the rotation`);
  } catch (err) {
    env.deps.log(`${env.key}: could not check the data plane's routes: ${(err as Error).message}`);
  }
}
