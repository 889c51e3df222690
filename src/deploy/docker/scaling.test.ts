// The docker autoscaler's loop without an engine: it samples an environment's in-flight requests,
// decides once a second (on a clock the test runs 100 times faster) and scales through the
// environment, as "autoscaler" with the measure as the cause; CPU comes from the difference of two
// one-shot engine stats, in percent of one core.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type Docker from 'dockerode';
import { Autoscaler, cpuPerReplica, type CpuSample, type ScalableEnvironment } from './scaling.js';
import type { Replica } from './replicas.js';
import type { EnvironmentState } from './state.js';
import type { ScaleOutcome } from '../scale-events.js';

function fakeEnvironment(inflight: { now: number }) {
  const replicas = new Set<Replica>();
  const add = (n: number) => {
    for (let i = replicas.size; i < n; i += 1) replicas.add({ id: `r${i}`, revision: 1, serving: true } as unknown as Replica);
    for (const r of [...replicas].slice(n)) replicas.delete(r);
  };
  const state = {
    app: 'web',
    environment: 'test',
    port: 1,
    current: { number: 1, config: { replicas: 1, autoscale: { min: 1, max: 4, targetInflight: 4, cooldown: { upMs: 0, downMs: 20_000 } } } },
  } as unknown as EnvironmentState;
  add(1);
  const scales: Array<{ to: number; by: string; cause?: string }> = [];
  const env: ScalableEnvironment = {
    key: 'web/test',
    state,
    replicas,
    inflight: async () => inflight.now,
    scale: async (to, by, _progress, cause): Promise<ScaleOutcome> => {
      const current = state.current;
      if (!current) throw new Error('no current');
      const from = current.config.replicas;
      state.current = { ...current, config: { ...current.config, replicas: to } };
      add(to);
      scales.push({ to, by, ...(cause !== undefined ? { cause } : {}) });
      const at = new Date().toISOString();
      return { event: { app: 'web', environment: 'test', target: 'docker', from, to, by, at, outcome: 'healthy' }, outcome: 'healthy' };
    },
  };
  return { env, scales };
}

async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test('scales up under a load step and back down once it stayed away for cooldown.down, as the autoscaler', async () => {
  const load = { now: 0 };
  const { env, scales } = fakeEnvironment(load);
  const started = Date.now();
  // 1 real ms is 100 ms on the autoscaler's clock: a decision every 10 real ms is one a second
  const autoscaler = new Autoscaler({ environments: () => [env], log: () => undefined, intervalMs: 10, now: () => started + (Date.now() - started) * 100 });
  // the load is there from the first sample: a step straddling a sampling window would average it
  load.now = 12;
  autoscaler.start();
  try {
    await until('a scale-up', () => scales.length > 0);
    assert.deepEqual(scales[0]?.to, 3);
    assert.equal(scales[0]?.by, 'autoscaler');
    assert.match(scales[0]?.cause ?? '', /^in-flight 12\.0 per replica, target 4$/);
    load.now = 0;
    await until('a scale-down', () => scales.at(-1)?.to === 1);
    // down to 1 in one step or, when a slow machine's sampling straddled the drop, in several —
    // never up again once the load is gone
    const downs = scales.slice(1).map((s) => s.to);
    assert.ok(downs.every((to, i) => to < (i === 0 ? 3 : (downs[i - 1] ?? 0))), `scale-downs: ${downs.join(', ')}`);
    assert.ok(scales.every((s) => s.by === 'autoscaler'));
  } finally {
    await autoscaler.stop();
  }
});

test('an environment without autoscale, or rolling out, is left alone', async () => {
  const load = { now: 40 };
  const { env, scales } = fakeEnvironment(load);
  env.state.rollout = { number: 2, config: env.state.current?.config } as unknown as EnvironmentState['rollout'];
  const started = Date.now();
  const autoscaler = new Autoscaler({ environments: () => [env], log: () => undefined, intervalMs: 10, now: () => started + (Date.now() - started) * 100 });
  autoscaler.start();
  await new Promise((resolve) => setTimeout(resolve, 100));
  await autoscaler.stop();
  assert.deepEqual(scales, []);
});

test('CPU per replica: the difference of two one-shot stats, in percent of one core, averaged over the replicas', async () => {
  let tick = 0;
  const replica = (id: string, coreShare: number) => ({
    id,
    container: {
      // each call one more second of the host's 4 cores; the container used coreShare of one core
      stats: async () => ({ cpu_stats: { cpu_usage: { total_usage: tick * coreShare * 1e9 }, system_cpu_usage: tick * 4e9, online_cpus: 4 } }),
    } as unknown as Docker.Container,
  });
  const replicas = [replica('a', 0.5), replica('b', 1.5)];
  const last = new Map<string, CpuSample>();
  tick = 1;
  assert.equal(await cpuPerReplica(replicas, last), undefined, 'one sample is no measure yet');
  tick = 2;
  assert.equal(await cpuPerReplica(replicas, last), 100, '50% and 150% of a core: 100% on average');
  assert.equal(await cpuPerReplica(replicas.slice(0, 1), last), undefined, 'no time passed: no measure');
  assert.deepEqual([...last.keys()], ['a'], 'a replica gone is forgotten');
});
