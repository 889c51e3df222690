// The autoscaler's rules, driven by an injected clock: HPA's formula with its tolerance, the
// short hold before a scale-up, cooldown.up between scale-ups, the step limit, a scale-down only
// after cooldown.down of low load, min/max; and the count a rollout starts with after a scale.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { afterScale, decide, maxStepUp, recommend, replicasForRollout, scaleProblem, startMemory, type AutoscaleMemory, type AutoscalePolicy, type Observation } from './autoscale.js';

const policy = (overrides: Partial<AutoscalePolicy> = {}): AutoscalePolicy => ({ min: 1, max: 10, targetInflight: 5, cooldown: { upMs: 15_000, downMs: 60_000 }, ...overrides });

/** Feeds one observation a second from `fromMs` to `toMs`; returns the decisions, carried out. */
function drive(p: AutoscalePolicy, start: { memory: AutoscaleMemory; current: number }, observe: (current: number, atMs: number) => Observation, fromMs: number, toMs: number) {
  let { memory, current } = start;
  const scaled: Array<{ atMs: number; from: number; to: number; reason: string }> = [];
  for (let at = fromMs; at <= toMs; at += 1000) {
    const out = decide(p, memory, current, observe(current, at), at);
    memory = out.memory;
    if (out.decision && out.decision.replicas !== current) {
      scaled.push({ atMs: at, from: current, to: out.decision.replicas, reason: out.decision.reason });
      current = out.decision.replicas;
      memory = afterScale(memory, at, current);
    }
  }
  return { memory, current, scaled };
}

/** A fixed total of in-flight requests, shared by the ready replicas. */
const total = (inflight: number) => (current: number): Observation => ({ ready: current, inflightPerReplica: inflight / current });

test('recommend: ceil(ready × observed / target), within 10% of the target nothing changes', () => {
  assert.equal(recommend(policy(), 2, { ready: 2, inflightPerReplica: 10 })?.replicas, 4);
  assert.equal(recommend(policy(), 2, { ready: 2, inflightPerReplica: 5.4 })?.replicas, 2, '8% over: within tolerance');
  assert.equal(recommend(policy(), 2, { ready: 2, inflightPerReplica: 4.6 })?.replicas, 2, '8% under: within tolerance');
  assert.equal(recommend(policy(), 2, { ready: 2, inflightPerReplica: 5.6 })?.replicas, 3, '12% over: one more');
  assert.equal(recommend(policy(), 4, { ready: 4, inflightPerReplica: 1 })?.replicas, 1);
  assert.equal(recommend(policy(), 3, { ready: 0, inflightPerReplica: 9 }), undefined, 'no ready replica: no measure');
  assert.equal(recommend(policy(), 3, { ready: 3 }), undefined, 'no metric measured');
});

test('recommend: the largest of the metrics wins, each explained; clamped to min and max', () => {
  const both = policy({ targetCPU: 50 });
  const r = recommend(both, 2, { ready: 2, inflightPerReplica: 5, cpuPercentPerReplica: 150 });
  assert.equal(r?.replicas, 6);
  assert.match(r?.reason ?? '', /in-flight 5\.0 per replica, target 5; CPU 150% per replica, target 50%/);
  assert.equal(recommend(policy({ max: 4 }), 2, { ready: 2, inflightPerReplica: 50 })?.replicas, 4);
  assert.equal(recommend(policy({ min: 2 }), 3, { ready: 3, inflightPerReplica: 0 })?.replicas, 2);
});

test('a load step scales up once it held for 3 s, straight to the count it needs within the step limit', () => {
  const p = policy();
  const quiet = drive(p, { memory: startMemory(0, 1), current: 1 }, total(3), 1000, 10_000);
  assert.deepEqual(quiet.scaled, [], 'below target: nothing');
  // the step: 18 in flight on 1 replica wants 4
  const step = drive(p, quiet, total(18), 11_000, 20_000);
  assert.deepEqual(step.scaled.map((s) => [s.atMs, s.from, s.to]), [[13_000, 1, 4]], 'the third second of load (the hold), not the first');
  assert.match(step.scaled[0]?.reason ?? '', /in-flight 18\.0 per replica, target 5/);
});

test('one spike shorter than the hold does not scale', () => {
  const p = policy();
  const out = drive(p, { memory: startMemory(0, 1), current: 1 }, (c, at) => ({ ready: c, inflightPerReplica: at === 5000 || at === 6000 ? 40 : 2 }), 1000, 30_000);
  assert.deepEqual(out.scaled, []);
});

test('scale-ups are cooldown.up apart and grow at most to double or +4', () => {
  assert.equal(maxStepUp(1), 5);
  assert.equal(maxStepUp(10), 20);
  const p = policy({ max: 100, cooldown: { upMs: 10_000, downMs: 60_000 } });
  // 200 in flight wants 40: 1 → 5 → 10 → 20 → 40, each step 10 s after the one before
  const out = drive(p, { memory: startMemory(0, 1), current: 1 }, total(200), 1000, 60_000);
  assert.deepEqual(out.scaled.map((s) => [s.atMs, s.to]), [[3000, 5], [13_000, 10], [23_000, 20], [33_000, 40]]);
});

test('scale-down only after cooldown.down of low load (the highest recommendation of the window), then to what the load needs', () => {
  const p = policy({ cooldown: { upMs: 1000, downMs: 20_000 } });
  const busy = drive(p, { memory: startMemory(0, 1), current: 1 }, total(20), 1000, 10_000);
  assert.equal(busy.current, 4);
  // the load stops after 10 s: the last busy second's recommendation stays in the window 20 s
  const idle = drive(p, busy, total(0), 11_000, 60_000);
  assert.deepEqual(idle.scaled.map((s) => [s.atMs, s.from, s.to]), [[30_000, 4, 1]]);
  // a second of load inside the window keeps the count up for another cooldown.down
  const again = drive(p, busy, (c, at) => ({ ready: c, inflightPerReplica: (at === 25_000 ? 20 : 0) / c }), 11_000, 60_000);
  assert.deepEqual(again.scaled.map((s) => [s.atMs, s.to]), [[45_000, 1]]);
});

test('a count outside min..max goes back inside at once; a fresh start does not scale down before cooldown.down', () => {
  const p = policy({ min: 2, max: 5 });
  assert.deepEqual(decide(p, startMemory(0, 7), 7, { ready: 7, inflightPerReplica: 5 }, 1000).decision, { replicas: 5, reason: 'outside min 2, max 5' });
  assert.equal(decide(p, startMemory(0, 1), 1, { ready: 1 }, 1000).decision?.replicas, 2);
  const fresh = drive(p, { memory: startMemory(0, 4), current: 4 }, total(0), 1000, 59_000);
  assert.deepEqual(fresh.scaled, [], 'the count a rollout started with holds for cooldown.down');
  const later = drive(p, fresh, total(0), 60_000, 61_000);
  assert.deepEqual(later.scaled.map((s) => s.to), [2]);
});

test('a user scale (afterScale) restarts the cooldowns', () => {
  const p = policy({ max: 100, cooldown: { upMs: 10_000, downMs: 30_000 } });
  let memory = startMemory(0, 2);
  memory = afterScale(memory, 5000, 6);
  // heavy load right after: no scale-up before cooldown.up
  const out = drive(p, { memory, current: 6 }, total(60), 6000, 20_000);
  assert.deepEqual(out.scaled.map((s) => [s.atMs, s.to]), [[15_000, 12]]);
});

test('the count a rollout starts with: the block unless it did not change; rollbacks keep the live count; autoscale clamps it', () => {
  // never scaled, or no environment yet
  assert.equal(replicasForRollout({ kind: 'deploy', replicas: 3 }), 3);
  // scaled to 5, the block still says 3: kept
  assert.equal(replicasForRollout({ kind: 'deploy', replicas: 3, live: 5, currentReplicas: 3 }), 5);
  // the block now says 4: a deliberate change
  assert.equal(replicasForRollout({ kind: 'deploy', replicas: 4, live: 5, currentReplicas: 3 }), 4);
  // scaled to 0: a deploy brings it back
  assert.equal(replicasForRollout({ kind: 'deploy', replicas: 3, live: 0, currentReplicas: 3 }), 3);
  // rollback to a revision of 2: keeps 5
  assert.equal(replicasForRollout({ kind: 'rollback', replicas: 2, live: 5, currentReplicas: 3 }), 5);
  // autoscaled at 7, new bounds 2..6
  assert.equal(replicasForRollout({ kind: 'deploy', replicas: 3, autoscale: { min: 2, max: 6 }, live: 7, currentReplicas: 3, currentAutoscale: true }), 6);
  // the first autoscaled revision: replicas is the starting count, clamped
  assert.equal(replicasForRollout({ kind: 'deploy', replicas: 1, autoscale: { min: 2, max: 6 } }), 2);
  // autoscale taken out: the block's count
  assert.equal(replicasForRollout({ kind: 'deploy', replicas: 3, live: 6, currentReplicas: 3, currentAutoscale: true }), 3);
});

test('scaleProblem: 0..1000 whole numbers, inside the autoscale bounds', () => {
  assert.equal(scaleProblem(0), undefined);
  assert.equal(scaleProblem(1000), undefined);
  assert.match(scaleProblem(1001) ?? '', /from 0 to 1000, not 1001/);
  assert.match(scaleProblem(2.5) ?? '', /not 2\.5/);
  assert.match(scaleProblem('3') ?? '', /not "3"/);
  assert.match(scaleProblem(8, { min: 2, max: 6 }) ?? '', /autoscales between 2 and 6; 8 is outside/);
  assert.equal(scaleProblem(4, { min: 2, max: 6 }), undefined);
});
