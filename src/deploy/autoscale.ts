// The autoscaler's decisions, pure and with time passed in: Kubernetes' HorizontalPodAutoscaler
// algorithm (desired = ceil(ready × observed / target) per metric, the largest wins, 10% tolerance,
// clamped to [min, max]) with its behaviour rules — a scale-up must hold for a short window and
// waits `cooldown.up` after the previous scale, grows at most to max(2×, +4) per step; a scale-down
// takes the highest recommendation of the last `cooldown.down`, so it happens only once the load
// stayed low that long. Also the replica count a rollout starts from when an environment was scaled.

/** The most replicas `replicas`, `slipway scale` and `autoscale.max` may ask for. */
export const MAX_REPLICAS = 1000;
/** A metric within 10% of its target changes nothing (HPA's --horizontal-pod-autoscaler-tolerance). */
export const AUTOSCALE_TOLERANCE = 0.1;
/** A scale-up recommendation must hold this long (the lowest of the window is taken): one spike is not load. */
export const UP_STABILIZATION_MS = 3000;
/** Defaults of `autoscale.cooldown`: HPA's scale-up period (15 s) and scale-down stabilization window (5 min). */
export const DEFAULT_COOLDOWN_UP_MS = 15_000;
export const DEFAULT_COOLDOWN_DOWN_MS = 300_000;

export interface AutoscalePolicy {
  min: number;
  max: number;
  /** in-flight requests per ready replica */
  targetInflight?: number;
  /** CPU per ready replica, in percent of one core */
  targetCPU?: number;
  cooldown: { upMs: number; downMs: number };
}

/** One measurement, averaged over its sampling period. */
export interface Observation {
  /** replicas of the current revision in rotation: the metrics are divided among them */
  ready: number;
  inflightPerReplica?: number;
  cpuPercentPerReplica?: number;
}

export interface Recommendation {
  atMs: number;
  replicas: number;
}

/** What the autoscaler remembers between decisions. */
export interface AutoscaleMemory {
  recommendations: Recommendation[];
  /** when the count last changed (by the autoscaler, `slipway scale` or a rollout) */
  lastScaleAtMs: number;
}

export interface Decision {
  replicas: number;
  /** why, for the scale event: "in-flight 12.0 per replica, target 5" */
  reason: string;
}

/** A fresh memory: the current count counts as recommended now, so nothing scales down before cooldown.down. */
export function startMemory(nowMs: number, current: number): AutoscaleMemory {
  return { recommendations: [{ atMs: nowMs, replicas: current }], lastScaleAtMs: Number.NEGATIVE_INFINITY };
}

/** After the count changed to `replicas` (a decision carried out, or a user's scale): cooldowns start over. */
export function afterScale(memory: AutoscaleMemory, nowMs: number, replicas: number): AutoscaleMemory {
  return { recommendations: [...memory.recommendations, { atMs: nowMs, replicas }], lastScaleAtMs: nowMs };
}

export function clamp(replicas: number, policy: Pick<AutoscalePolicy, 'min' | 'max'>): number {
  return Math.min(policy.max, Math.max(policy.min, replicas));
}

/** The count each metric asks for, the largest of them, clamped; undefined without a measure. */
export function recommend(policy: AutoscalePolicy, current: number, observation: Observation): Decision | undefined {
  if (observation.ready <= 0) return undefined;
  const wanted: Array<{ replicas: number; reason: string }> = [];
  const metric = (observed: number | undefined, target: number | undefined, describe: (observed: number, target: number) => string): void => {
    if (observed === undefined || target === undefined || target <= 0 || !Number.isFinite(observed)) return;
    const ratio = observed / target;
    const replicas = Math.abs(ratio - 1) <= AUTOSCALE_TOLERANCE ? current : Math.ceil(observation.ready * ratio);
    wanted.push({ replicas, reason: describe(observed, target) });
  };
  metric(observation.inflightPerReplica, policy.targetInflight, (o, t) => `in-flight ${o.toFixed(1)} per replica, target ${t}`);
  metric(observation.cpuPercentPerReplica, policy.targetCPU, (o, t) => `CPU ${o.toFixed(0)}% per replica, target ${t}%`);
  if (wanted.length === 0) return undefined;
  const top = wanted.reduce((a, b) => (b.replicas > a.replicas ? b : a));
  return { replicas: clamp(top.replicas, policy), reason: wanted.map((w) => w.reason).join('; ') };
}

/** The largest step up from `current`: double, or 4 more, whichever is more (HPA's default policies). */
export function maxStepUp(current: number): number {
  return Math.max(current * 2, current + 4);
}

/**
 * One decision at `nowMs`: the recommendation is remembered, and a scale is returned when the
 * rules allow one (the caller carries it out, then calls afterScale). No measure, no decision.
 */
export function decide(policy: AutoscalePolicy, memory: AutoscaleMemory, current: number, observation: Observation, nowMs: number): { memory: AutoscaleMemory; decision?: Decision } {
  // Outside the bounds (a changed block): back inside at once, as HPA does.
  if (current < policy.min || current > policy.max) {
    return { memory, decision: { replicas: clamp(current, policy), reason: `outside min ${policy.min}, max ${policy.max}` } };
  }
  const recommendation = recommend(policy, current, observation);
  if (!recommendation) return { memory };
  const keepMs = Math.max(policy.cooldown.downMs, UP_STABILIZATION_MS);
  const recommendations = [...memory.recommendations.filter((r) => r.atMs > nowMs - keepMs), { atMs: nowMs, replicas: recommendation.replicas }];
  const next: AutoscaleMemory = { ...memory, recommendations };
  const within = (windowMs: number) => recommendations.filter((r) => r.atMs > nowMs - windowMs).map((r) => r.replicas);

  const up = Math.min(...within(UP_STABILIZATION_MS));
  if (up > current) {
    if (nowMs - memory.lastScaleAtMs < policy.cooldown.upMs) return { memory: next };
    return { memory: next, decision: { replicas: clamp(Math.min(up, maxStepUp(current)), policy), reason: recommendation.reason } };
  }
  const down = Math.max(...within(policy.cooldown.downMs));
  if (down < current) return { memory: next, decision: { replicas: clamp(down, policy), reason: recommendation.reason } };
  return { memory: next };
}

/**
 * The replica count a rollout starts its revision with, once an environment was scaled. A deploy
 * keeps the live count unless the deploy block's `replicas` changed from the current revision's
 * (then the block's count is a deliberate change) or the environment was scaled to 0; a rollback
 * keeps it as `kubectl rollout undo` does (the count is not part of what is restored). With
 * `autoscale`, the live count clamped to [min, max]; when autoscale is taken out, the block's count.
 */
export function replicasForRollout(input: {
  kind: 'deploy' | 'rollback';
  /** the new revision's `replicas` and `autoscale` */
  replicas: number;
  autoscale?: Pick<AutoscalePolicy, 'min' | 'max'> | undefined;
  /** the environment now: its live count and its current revision's block */
  live?: number | undefined;
  currentReplicas?: number | undefined;
  currentAutoscale?: boolean | undefined;
}): number {
  const { replicas, autoscale, live } = input;
  const bounded = (n: number) => (autoscale ? clamp(n, autoscale) : n);
  if (live === undefined || live < 1) return bounded(replicas);
  if (autoscale) return bounded(live);
  if (input.currentAutoscale) return replicas;
  if (input.kind === 'rollback') return live;
  return input.currentReplicas === replicas ? live : replicas;
}

/** Why a requested count cannot be set, or undefined when it can. */
export function scaleProblem(replicas: unknown, autoscale?: Pick<AutoscalePolicy, 'min' | 'max'>): string | undefined {
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0 || replicas > MAX_REPLICAS) {
    return `replicas: a whole number from 0 to ${MAX_REPLICAS}, not ${JSON.stringify(replicas) ?? String(replicas)}`;
  }
  if (autoscale && (replicas < autoscale.min || replicas > autoscale.max)) {
    return `replicas: the environment autoscales between ${autoscale.min} and ${autoscale.max}; ${replicas} is outside (change autoscale in the deploy block to go beyond)`;
  }
  return undefined;
}
