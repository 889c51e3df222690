// A rollout request as JSON: what `slipway deploy` sends to a server and what the server's API
// accepts. It is the deploy block of slipway.yaml without `environment` (the URL names it) and
// without `kubernetes.manifests` (files of a run's workspace, which an API call does not have).
// Encoder and strict decoder live together so that the CLI and the server cannot drift apart.
import type { DeployAutoscale, DeploySpec } from '../spec/model.js';
import { clamp, DEFAULT_COOLDOWN_DOWN_MS, DEFAULT_COOLDOWN_UP_MS, MAX_REPLICAS } from './autoscale.js';
import { formatDuration, makeTemplate, parseDuration } from '../spec/index.js';
import { DeployError } from './types.js';

/** What a rollout uses where neither the deploy block nor the request says (the CLI's defaults too). */
export const DEFAULT_DEPLOY_SPEC: Omit<DeploySpec, 'environment' | 'image'> = {
  target: 'docker',
  replicas: 1,
  port: 8080,
  health: { tcp: true, intervalMs: 1000, timeoutMs: 5000, healthy: 2, unhealthy: 3, startPeriodMs: 0 },
  strategy: { maxSurge: 1, maxUnavailable: 0, progressDeadlineMs: 60_000, autoRollback: true },
};

export interface DeployRequestBody {
  image: string;
  target?: 'docker' | 'kubernetes';
  replicas?: number;
  port?: number;
  publish?: number;
  health?: {
    path?: string;
    tcp?: true;
    cmd?: string;
    interval?: string;
    timeout?: string;
    healthy?: number;
    unhealthy?: number;
    startPeriod?: string;
  };
  strategy?: { maxSurge?: number; maxUnavailable?: number; progressDeadline?: string; autoRollback?: boolean };
  kubernetes?: { namespace?: string; manifests?: string };
  autoscale?: { min: number; max: number; targetInflight?: number; targetCPU?: number; cooldown?: { up?: string; down?: string } };
  /** roll out a new revision even when the image digest and config equal the current revision's */
  force?: boolean;
}

/** The body that asks for exactly this spec: every field explicit, so server defaults never matter. */
export function deployRequestBody(spec: DeploySpec, image: string, force = false): DeployRequestBody {
  const { health, strategy } = spec;
  return {
    image,
    ...(force ? { force: true } : {}),
    target: spec.target,
    replicas: spec.replicas,
    port: spec.port,
    ...(spec.publish !== undefined ? { publish: spec.publish } : {}),
    health: {
      ...(health.path !== undefined ? { path: health.path } : {}),
      ...(health.cmd !== undefined ? { cmd: health.cmd } : {}),
      ...(health.tcp && health.path === undefined && health.cmd === undefined ? { tcp: true as const } : {}),
      interval: formatDuration(health.intervalMs),
      timeout: formatDuration(health.timeoutMs),
      healthy: health.healthy,
      unhealthy: health.unhealthy,
      startPeriod: formatDuration(health.startPeriodMs),
    },
    strategy: {
      maxSurge: strategy.maxSurge,
      maxUnavailable: strategy.maxUnavailable,
      progressDeadline: formatDuration(strategy.progressDeadlineMs),
      autoRollback: strategy.autoRollback,
    },
    ...(spec.autoscale
      ? {
          autoscale: {
            min: spec.autoscale.min,
            max: spec.autoscale.max,
            ...(spec.autoscale.targetInflight !== undefined ? { targetInflight: spec.autoscale.targetInflight } : {}),
            ...(spec.autoscale.targetCPU !== undefined ? { targetCPU: spec.autoscale.targetCPU } : {}),
            cooldown: { up: formatDuration(spec.autoscale.cooldown.upMs), down: formatDuration(spec.autoscale.cooldown.downMs) },
          },
        }
      : {}),
    // manifests are sent so that the server can say why it refuses them, rather than ignore them
    ...(spec.kubernetes ? { kubernetes: { namespace: spec.kubernetes.namespace, ...(spec.kubernetes.manifests !== undefined ? { manifests: spec.kubernetes.manifests } : {}) } } : {}),
  };
}

const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
// Docker's reference grammar is looser than worth restating; this refuses what is certainly not one.
const IMAGE = /^[^\s]{1,512}$/;

type Problems = string[];

/** "health.interval: a positive duration…" → its field and message, for the API's 422 `fields`. */
function fieldOf(problem: string): { field: string; message: string } {
  const colon = problem.indexOf(': ');
  return colon > 0 ? { field: problem.slice(0, colon), message: problem.slice(colon + 2) } : { field: 'body', message: problem };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function keysOf(value: Record<string, unknown>, where: string, allowed: readonly string[], problems: Problems): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) problems.push(`${where}${key}: unknown field (expected ${allowed.join(', ')})`);
  }
}

function integer(value: unknown, field: string, min: number, max: number, problems: Problems): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    problems.push(`${field}: a whole number from ${min} to ${max}, not ${show(value)}`);
    return undefined;
  }
  return value;
}

function duration(value: unknown, field: string, allowZero: boolean, problems: Problems): number | undefined {
  if (value === undefined) return undefined;
  const ms = typeof value === 'string' ? parseDuration(value) : undefined;
  if (ms === undefined || (!allowZero && ms <= 0)) {
    problems.push(`${field}: a ${allowZero ? '' : 'positive '}duration string such as "500ms", "2s" or "1m", not ${show(value)}`);
    return undefined;
  }
  return ms;
}

function string(value: unknown, field: string, problems: Problems, check?: { test: (s: string) => boolean; expected: string }): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0 || (check && !check.test(value))) {
    problems.push(`${field}: ${check?.expected ?? 'a non-empty string'}, not ${show(value)}`);
    return undefined;
  }
  return value;
}

function boolean(value: unknown, field: string, problems: Problems): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') {
    problems.push(`${field}: true or false, not ${show(value)}`);
    return undefined;
  }
  return value;
}

/**
 * The spec and image a request body asks for, over DEFAULT_DEPLOY_SPEC. Every problem is
 * collected into one ROLLOUT_INVALID error naming each field, so a client fixes them in one go.
 */
export function parseDeployRequestBody(body: unknown, environment: string): { spec: DeploySpec; image: string; force: boolean } {
  const problems: Problems = [];
  if (!isObject(body)) throw new DeployError('ROLLOUT_INVALID', 'the body must be a JSON object such as {"image": "web:2"}');
  keysOf(body, '', ['image', 'target', 'replicas', 'port', 'publish', 'health', 'strategy', 'kubernetes', 'autoscale', 'force'], problems);
  let image: string | undefined;
  if (body.image === undefined) problems.push('image: required (the image reference to roll out)');
  else image = string(body.image, 'image', problems, { test: (s) => IMAGE.test(s), expected: 'an image reference without spaces' });
  let target: DeploySpec['target'] = DEFAULT_DEPLOY_SPEC.target;
  if (body.target !== undefined) {
    if (body.target === 'docker' || body.target === 'kubernetes') target = body.target;
    else problems.push(`target: "docker" or "kubernetes", not ${show(body.target)}`);
  }
  const replicas = integer(body.replicas, 'replicas', 1, 1000, problems);
  const port = integer(body.port, 'port', 1, 65535, problems);
  const publish = integer(body.publish, 'publish', 1, 65535, problems);
  const force = boolean(body.force, 'force', problems) ?? false;

  const health = { ...DEFAULT_DEPLOY_SPEC.health };
  if (body.health !== undefined) {
    if (!isObject(body.health)) problems.push(`health: an object, not ${show(body.health)}`);
    else {
      const h = body.health;
      keysOf(h, 'health.', ['path', 'tcp', 'cmd', 'interval', 'timeout', 'healthy', 'unhealthy', 'startPeriod'], problems);
      const path = string(h.path, 'health.path', problems, { test: (s) => s.startsWith('/'), expected: 'an HTTP path starting with /' });
      const cmd = string(h.cmd, 'health.cmd', problems);
      if (h.tcp !== undefined && h.tcp !== true) problems.push(`health.tcp: true (leave it out to use path or cmd), not ${show(h.tcp)}`);
      const kinds = (['path', 'tcp', 'cmd'] as const).filter((k) => h[k] !== undefined);
      if (kinds.length > 1) problems.push(`health: ${kinds.join(' and ')} given; choose one of path, tcp, cmd`);
      if (kinds.length > 0) {
        delete health.tcp;
        if (path !== undefined) health.path = path;
        if (cmd !== undefined) health.cmd = cmd;
        if (h.tcp === true) health.tcp = true;
      }
      health.intervalMs = duration(h.interval, 'health.interval', false, problems) ?? health.intervalMs;
      health.timeoutMs = duration(h.timeout, 'health.timeout', false, problems) ?? health.timeoutMs;
      health.startPeriodMs = duration(h.startPeriod, 'health.startPeriod', true, problems) ?? health.startPeriodMs;
      health.healthy = integer(h.healthy, 'health.healthy', 1, 100, problems) ?? health.healthy;
      health.unhealthy = integer(h.unhealthy, 'health.unhealthy', 1, 100, problems) ?? health.unhealthy;
    }
  }

  const strategy = { ...DEFAULT_DEPLOY_SPEC.strategy };
  if (body.strategy !== undefined) {
    if (!isObject(body.strategy)) problems.push(`strategy: an object, not ${show(body.strategy)}`);
    else {
      const s = body.strategy;
      keysOf(s, 'strategy.', ['maxSurge', 'maxUnavailable', 'progressDeadline', 'autoRollback'], problems);
      strategy.maxSurge = integer(s.maxSurge, 'strategy.maxSurge', 0, 1000, problems) ?? strategy.maxSurge;
      strategy.maxUnavailable = integer(s.maxUnavailable, 'strategy.maxUnavailable', 0, 1000, problems) ?? strategy.maxUnavailable;
      strategy.progressDeadlineMs = duration(s.progressDeadline, 'strategy.progressDeadline', false, problems) ?? strategy.progressDeadlineMs;
      strategy.autoRollback = boolean(s.autoRollback, 'strategy.autoRollback', problems) ?? strategy.autoRollback;
      if (strategy.maxSurge === 0 && strategy.maxUnavailable === 0) problems.push('strategy: maxSurge and maxUnavailable are both 0, so no replica could ever be replaced; raise one');
    }
  }

  const autoscale = parseAutoscale(body.autoscale, problems);

  let kubernetes: DeploySpec['kubernetes'];
  if (body.kubernetes !== undefined) {
    if (!isObject(body.kubernetes)) problems.push(`kubernetes: an object, not ${show(body.kubernetes)}`);
    else {
      keysOf(body.kubernetes, 'kubernetes.', ['namespace', 'manifests'], problems);
      if (body.kubernetes.manifests !== undefined) {
        problems.push("kubernetes.manifests: not accepted here: manifests are files of a run's workspace; roll them out from a pipeline's deploy job");
      }
      const namespace = string(body.kubernetes.namespace, 'kubernetes.namespace', problems, { test: (s) => NAMESPACE.test(s), expected: 'a Kubernetes namespace name (lower-case letters, digits, -)' });
      kubernetes = { namespace: namespace ?? 'default' };
    }
  }
  if (target === 'kubernetes') kubernetes ??= { namespace: 'default' };

  if (problems.length > 0 || image === undefined) throw new DeployError('ROLLOUT_INVALID', `invalid deploy request: ${problems.join('; ')}`, problems.map(fieldOf));
  return {
    image,
    force,
    spec: {
      ...DEFAULT_DEPLOY_SPEC,
      environment,
      target,
      image: makeTemplate(image, { file: '<api>', line: 0, col: 0 }),
      // with autoscale, replicas is the starting count, inside [min, max]
      replicas: autoscale ? clamp(replicas ?? autoscale.min, autoscale) : (replicas ?? DEFAULT_DEPLOY_SPEC.replicas),
      port: port ?? DEFAULT_DEPLOY_SPEC.port,
      ...(publish !== undefined ? { publish } : {}),
      health,
      strategy,
      ...(kubernetes ? { kubernetes } : {}),
      ...(autoscale ? { autoscale } : {}),
    },
  };
}

/** `autoscale` as the pipeline file has it: min ≤ max, a target to aim for, cooldowns as durations. */
function parseAutoscale(value: unknown, problems: Problems): DeployAutoscale | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) {
    problems.push(`autoscale: an object such as {"min": 1, "max": 5, "targetInflight": 10}, not ${show(value)}`);
    return undefined;
  }
  keysOf(value, 'autoscale.', ['min', 'max', 'targetInflight', 'targetCPU', 'cooldown'], problems);
  const before = problems.length;
  const min = integer(value.min, 'autoscale.min', 1, MAX_REPLICAS, problems);
  const max = integer(value.max, 'autoscale.max', 1, MAX_REPLICAS, problems);
  if (value.min === undefined) problems.push('autoscale.min: required (the fewest replicas)');
  if (value.max === undefined) problems.push('autoscale.max: required (the most replicas)');
  const target = (field: 'targetInflight' | 'targetCPU'): number | undefined => {
    const n = value[field];
    if (n === undefined) return undefined;
    if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0 || n > 100_000) {
      problems.push(`autoscale.${field}: a number above 0 (at most 100000), not ${show(n)}`);
      return undefined;
    }
    return n;
  };
  const targetInflight = target('targetInflight');
  const targetCPU = target('targetCPU');
  if (value.targetInflight === undefined && value.targetCPU === undefined) problems.push('autoscale: targetInflight or targetCPU required (what to aim for)');
  if (min !== undefined && max !== undefined && min > max) problems.push(`autoscale.min: at most autoscale.max (${max}), not ${min}`);
  const cooldown = { upMs: DEFAULT_COOLDOWN_UP_MS, downMs: DEFAULT_COOLDOWN_DOWN_MS };
  if (value.cooldown !== undefined) {
    if (!isObject(value.cooldown)) problems.push(`autoscale.cooldown: an object such as {"up": "15s", "down": "5m"}, not ${show(value.cooldown)}`);
    else {
      keysOf(value.cooldown, 'autoscale.cooldown.', ['up', 'down'], problems);
      cooldown.upMs = duration(value.cooldown.up, 'autoscale.cooldown.up', true, problems) ?? cooldown.upMs;
      cooldown.downMs = duration(value.cooldown.down, 'autoscale.cooldown.down', true, problems) ?? cooldown.downMs;
    }
  }
  if (problems.length > before || min === undefined || max === undefined) return undefined;
  return { min, max, ...(targetInflight !== undefined ? { targetInflight } : {}), ...(targetCPU !== undefined ? { targetCPU } : {}), cooldown };
}
