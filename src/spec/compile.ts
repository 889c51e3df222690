// Turns a validated slipway.yaml into the typed Pipeline: defaults applied, durations in
// milliseconds, strings with expressions made into Templates, and positions kept for later errors.
// It runs only after validation found no error, so it may trust the raw shapes.
import type { BuildJob, Cache, DeployJob, Job, Pipeline, Service, SourcePosition, Step, StepsJob, Template, Triggers } from './model.js';
import { parseDuration } from './durations.js';
import { makeCondition, makeTemplate } from './expressions.js';
import { defaults } from './defaults.js';
import { expandMatrix, readMatrix, type ExpandedCombination } from './matrix.js';
import type { RawJob, RawPipeline, RawService, RawStep } from './schema.js';
import { compileSchedules } from './schedule.js';
import { compilePullRequestTrigger, compilePushTrigger } from './triggers.js';
import { isPreviewEnvironment } from './preview.js';
import { secretsUsedBy } from './secrets-used.js';
import type { YamlPath, YamlSource } from './yaml-source.js';

/** Step names derived from `run` stop here, so logs and the UI stay on one line. */
export const MAX_DERIVED_STEP_NAME = 60;

export function compilePipeline(src: YamlSource): Pipeline {
  const raw = src.toJS() as RawPipeline;
  const environments: Pipeline['environments'] = Object.fromEntries(
    Object.entries(raw.environments ?? {}).map(([name, env]) => [name, { protected: env.protected ?? false }]),
  );
  const c = new Compiler(src, environments);
  const expanded = expandMatrices(raw);
  // `needs: [test]` on a matrix job waits for every one of its combinations.
  const needsOf = (needs: string[]): string[] => [...new Set(needs.flatMap((need) => expanded.get(need)?.map((combo) => combo.name) ?? [need]))];
  const env = c.envMap(raw.env, ['env']);
  const secrets = raw.secrets ?? [];
  return {
    file: src.file,
    version: 1,
    name: raw.name,
    triggers: { ...compileTriggers(raw), ...compileSchedules(src, raw) },
    env,
    secrets,
    environments,
    jobs: Object.entries(raw.jobs).flatMap(([name, job]): Job[] => {
      const compiled = c.job(name, job);
      compiled.needs = needsOf(compiled.needs);
      compiled.secretsUsed = secretsUsedBy(compiled, env, secrets);
      const combos = expanded.get(name);
      if (!combos) return [compiled];
      const failFast = job['fail-fast'] ?? defaults.failFast;
      // The combinations share the job's compiled parts (templates, positions): they differ only
      // in name and matrix values, which the templates read when the job starts.
      return combos.map(({ name: comboName, values }) => ({ ...compiled, name: comboName, matrix: { base: name, values: Object.fromEntries(values), failFast } }));
    }),
  };
}

/** Each matrix job's combinations, by the job's name. Validation found no problem in them. */
function expandMatrices(raw: RawPipeline): Map<string, ExpandedCombination[]> {
  const expanded = new Map<string, ExpandedCombination[]>();
  for (const [name, job] of Object.entries(raw.jobs)) {
    const matrix = job.matrix === undefined ? undefined : readMatrix(job.matrix);
    if (matrix) expanded.set(name, expandMatrix(name, matrix).combinations);
  }
  return expanded;
}

function compileTriggers(raw: RawPipeline): Triggers {
  // No `on` at all: every push runs, as the contract says; `on: {}` declares no trigger.
  if (raw.on === undefined) return { push: {} };
  const pullRequest = compilePullRequestTrigger(raw.on);
  return { ...(raw.on.push !== undefined ? { push: compilePushTrigger(raw.on.push) } : {}), ...(pullRequest ? { pullRequest } : {}) };
}

/** The name a step without one gets: the first non-empty line of its script. */
export function deriveStepName(run: string): string {
  const line = run.split('\n').map((l) => l.trim()).find((l) => l.length > 0) ?? 'step';
  return line.length > MAX_DERIVED_STEP_NAME ? `${line.slice(0, MAX_DERIVED_STEP_NAME - 1)}…` : line;
}

/** A string, or a command line split as a shell would (quotes group, backslash escapes). */
export function splitCommand(command: string | string[]): string[] {
  if (Array.isArray(command)) return command;
  const words: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  for (let i = 0; i < command.length; i++) {
    const ch = command[i] ?? '';
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"' && i + 1 < command.length) word = (word ?? '') + command[++i];
      else word = (word ?? '') + ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      word ??= '';
    } else if (ch === '\\' && i + 1 < command.length) {
      word = (word ?? '') + command[++i];
    } else if (/\s/.test(ch)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      word = (word ?? '') + ch;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

function ms(text: string | undefined, fallback: string): number {
  return parseDuration(text ?? fallback) ?? 0;
}

class Compiler {
  constructor(
    private readonly src: YamlSource,
    private readonly environments: Pipeline['environments'],
  ) {}

  private pos(path: YamlPath, part: 'key' | 'value' = 'value'): SourcePosition {
    const at = part === 'key' ? this.src.keyAt(path) : this.src.valueAt(path);
    return { file: this.src.file, line: at.line, col: at.col };
  }

  template(value: string | number | boolean, path: YamlPath): Template {
    return makeTemplate(String(value), this.pos(path));
  }

  envMap(env: Record<string, string | number | boolean> | undefined, path: YamlPath): Record<string, Template> {
    // fromEntries defines own properties: a variable named __proto__ is kept, not made the prototype.
    return Object.fromEntries(Object.entries(env ?? {}).map(([name, value]) => [name, this.template(value, [...path, name])]));
  }

  job(name: string, raw: RawJob): Job {
    const path = ['jobs', name];
    const base = {
      name,
      position: this.pos(path, 'key'),
      needs: typeof raw.needs === 'string' ? [raw.needs] : [...new Set(raw.needs ?? [])],
      ...(raw.if !== undefined ? { if: makeCondition(String(raw.if), this.pos([...path, 'if'])) } : {}),
      // a deploy to a protected environment waits for a person whatever `when` says
      when: raw.deploy && this.environments[raw.deploy.environment]?.protected ? 'manual' : (raw.when ?? defaults.when),
      ...(raw.approval?.timeout !== undefined ? { approvalTimeoutMs: ms(raw.approval.timeout, defaults.timeout) } : {}),
      env: this.envMap(raw.env, [...path, 'env']),
      timeoutMs: ms(raw.timeout, defaults.timeout),
      retry: raw.retry ?? defaults.retry,
    };
    if (raw.build) {
      const b = raw.build;
      const job: BuildJob = {
        ...base,
        kind: 'build',
        build: {
          context: b.context ?? defaults.build.context,
          dockerfile: b.dockerfile ?? defaults.build.dockerfile,
          repository: b.repository,
          tags: b.tags ?? [],
          args: this.envMap(b.args, [...path, 'build', 'args']),
          ...(b.target !== undefined ? { target: b.target } : {}),
          ...(b.push
            ? { push: { registry: b.push.registry, username: b.push.username ?? 'slipway', ...(b.push.passwordSecret ? { passwordSecret: b.push.passwordSecret } : {}) } }
            : {}),
        },
      };
      return job;
    }
    if (raw.deploy) {
      const d = raw.deploy;
      const h = d.health ?? {};
      const s = d.strategy ?? {};
      const target = d.target ?? defaults.deploy.target;
      const hasCheck = h.path !== undefined || h.tcp !== undefined || h.cmd !== undefined;
      const job: DeployJob = {
        ...base,
        kind: 'deploy',
        deploy: {
          environment: d.environment,
          ...(isPreviewEnvironment(d.environment) ? { preview: { ttlMs: ms(d.ttl, defaults.preview.ttl) } } : {}),
          target,
          image: this.template(d.image, [...path, 'deploy', 'image']),
          // with autoscale, replicas is the starting count, inside [min, max]
          replicas: d.autoscale ? Math.min(d.autoscale.max, Math.max(d.autoscale.min, d.replicas ?? d.autoscale.min)) : (d.replicas ?? defaults.deploy.replicas),
          port: d.port,
          ...(d.publish !== undefined ? { publish: d.publish } : {}),
          ...(d.host !== undefined ? { hosts: [...new Set((typeof d.host === 'string' ? [d.host] : d.host).map((h) => h.toLowerCase()))] } : {}),
          ...(typeof d.tls === 'object' ? { tls: { certificate: d.tls.certificate, key: d.tls.key } } : {}),
          health: {
            // No check named: the port accepting connections is the least a replica must do.
            ...(h.path !== undefined ? { path: h.path } : {}),
            ...(h.tcp !== undefined || !hasCheck ? { tcp: h.tcp ?? true } : {}),
            ...(h.cmd !== undefined ? { cmd: h.cmd } : {}),
            intervalMs: ms(h.interval, defaults.health.interval),
            timeoutMs: ms(h.timeout, defaults.health.timeout),
            healthy: h.healthy ?? defaults.health.healthy,
            unhealthy: h.unhealthy ?? defaults.health.unhealthy,
            startPeriodMs: ms(h.startPeriod, defaults.health.startPeriod),
          },
          strategy: {
            maxSurge: s.maxSurge ?? defaults.strategy.maxSurge,
            maxUnavailable: s.maxUnavailable ?? defaults.strategy.maxUnavailable,
            progressDeadlineMs: ms(s.progressDeadline, defaults.strategy.progressDeadline),
            autoRollback: s.autoRollback ?? defaults.strategy.autoRollback,
          },
          ...(d.autoscale
            ? {
                autoscale: {
                  min: d.autoscale.min,
                  max: d.autoscale.max,
                  ...(d.autoscale.targetInflight !== undefined ? { targetInflight: d.autoscale.targetInflight } : {}),
                  ...(d.autoscale.targetCPU !== undefined ? { targetCPU: d.autoscale.targetCPU } : {}),
                  cooldown: {
                    upMs: ms(d.autoscale.cooldown?.up, defaults.autoscaleCooldown.up),
                    downMs: ms(d.autoscale.cooldown?.down, defaults.autoscaleCooldown.down),
                  },
                },
              }
            : {}),
          ...(target === 'kubernetes' || d.kubernetes
            ? {
                kubernetes: {
                  namespace: d.kubernetes?.namespace ?? defaults.kubernetes.namespace,
                  ...(d.kubernetes?.manifests !== undefined ? { manifests: d.kubernetes.manifests } : {}),
                },
              }
            : {}),
        },
      };
      return job;
    }
    const job: StepsJob = {
      ...base,
      kind: 'steps',
      // Validation guarantees a steps job has an image.
      image: this.template(raw.image ?? '', [...path, 'image']),
      services: Object.entries(raw.services ?? {}).map(([serviceName, service]) => this.service(serviceName, service, [...path, 'services', serviceName])),
      steps: (raw.steps ?? []).map((step, index) => this.step(step, [...path, 'steps', index])),
      ...(raw.cache ? { cache: compileCache(raw.cache) } : {}),
      artifacts: raw.artifacts ?? [],
      ...(raw['runs-on'] ? { runsOn: raw['runs-on'] } : {}),
      ...(raw.resources ? { resources: { ...(raw.resources.cpu ? { cpu: raw.resources.cpu } : {}), ...(raw.resources.memory ? { memory: raw.resources.memory } : {}) } } : {}),
    };
    return job;
  }

  step(raw: RawStep, path: YamlPath): Step {
    return {
      name: raw.name ?? deriveStepName(raw.run),
      run: this.template(raw.run, [...path, 'run']),
      env: this.envMap(raw.env, [...path, 'env']),
      position: this.pos(path),
    };
  }

  service(name: string, raw: RawService, path: YamlPath): Service {
    return {
      name,
      image: this.template(raw.image, [...path, 'image']),
      env: this.envMap(raw.env, [...path, 'env']),
      ...(raw.command !== undefined ? { command: splitCommand(raw.command) } : {}),
      ...(raw.health
        ? {
            health: {
              cmd: raw.health.cmd,
              intervalMs: ms(raw.health.interval, defaults.serviceHealth.interval),
              timeoutMs: ms(raw.health.timeout, defaults.serviceHealth.timeout),
              retries: raw.health.retries ?? defaults.serviceHealth.retries,
            },
          }
        : {}),
      position: this.pos(path, 'key'),
    };
  }
}

function compileCache(raw: { key: string | string[]; paths: string[] }): Cache {
  return { keyFiles: typeof raw.key === 'string' ? [raw.key] : raw.key, paths: raw.paths };
}
