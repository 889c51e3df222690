// The whole-file rules of a pipeline, run after the schema walk: job kinds, deploy settings, the
// needs graph (unknown jobs, cycles) and what each expression may read (jobs upstream of its own).
// Graphs are walked with explicit stacks: a chain of a thousand jobs must not reach the call stack.
import { isScalar, isSeq, type Scalar } from 'yaml';
import { clip, type DiagnosticList } from './diagnostics.js';
import { checkDeployHosts, type HostClaims } from './deploy-hosts.js';
import { checkExpression, type Expr, type ExpressionScope } from './expressions.js';
import { checkMatrix, type MatrixInfo } from './matrix.js';
import { isPreviewEnvironment } from './preview.js';
import { annotatedPipelineSchema } from './schema.generated.js';
import type { SchemaNode } from './schema-node.js';
import { closest, listOf } from './suggest.js';
import type { YamlPath, YamlSource } from './yaml-source.js';

/** A value holding expressions, kept for the checks that need the whole job graph. */
export interface ExpressionSite {
  path: YamlPath;
  node: Scalar;
  exprs: Expr[];
}

export type JobKind = 'steps' | 'build' | 'deploy';

/**
 * The most jobs a pipeline may declare: far above real pipelines (the benchmark file has 200), and
 * it bounds what the graph checks may cost (upstream sets are jobs × jobs bits).
 */
export const MAX_JOBS = 1000;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// The keys a job may have, from the schema: jobs is a record whose one pattern maps to the job.
const JOB_KEYS = ((Object.values((annotatedPipelineSchema.properties as Record<string, SchemaNode>).jobs?.patternProperties as Record<string, SchemaNode>)[0]?.properties ?? {}) as Record<string, SchemaNode>);
const STEPS_ONLY_KEYS = ['image', 'services', 'steps', 'cache', 'artifacts', 'matrix', 'runs-on', 'resources'] as const;

/** The kind a job's keys make it, for the rules and for the expression checks. */
export function jobKindOf(job: Record<string, unknown>): JobKind | undefined {
  if (job.build !== undefined) return 'build';
  if (job.deploy !== undefined) return 'deploy';
  if (job.steps !== undefined || job.image !== undefined) return 'steps';
  return undefined;
}

function needsOf(job: Record<string, unknown>): Array<{ name: string; path: YamlPath }> {
  if (typeof job.needs === 'string') return [{ name: job.needs, path: ['needs'] }];
  if (!Array.isArray(job.needs)) return [];
  return job.needs.flatMap((name, i) => (typeof name === 'string' ? [{ name, path: ['needs', i] }] : []));
}

/** A push password must come from a secret the file declares, so that it is masked and never stored. */
function checkPushSecret(src: YamlSource, diags: DiagnosticList, name: string, job: Record<string, unknown>, secrets: unknown[]): void {
  const push = isRecord(job.build) && isRecord(job.build.push) ? job.build.push : undefined;
  const secret = push?.passwordSecret;
  if (typeof secret !== 'string' || secrets.includes(secret)) return;
  diags.error(
    'SPEC_VALUE',
    `job '${name}' pushes with secret '${secret}', which is not listed under secrets:; add it there (its value comes from the server or --secret)`,
    src.valueAt(['jobs', name, 'build', 'push', 'passwordSecret']),
  );
}

export function checkGraph(src: YamlSource, diags: DiagnosticList, sites: ExpressionSite[]): void {
  const raw: unknown = src.toJS();
  if (!isRecord(raw)) return;
  const jobs = isRecord(raw.jobs) ? raw.jobs : {};
  const names = Object.keys(jobs);
  const kinds = new Map<string, JobKind | undefined>();
  const edges = new Map<string, string[]>();
  const matrices = new Map<string, MatrixInfo>();
  const hostClaims: HostClaims = new Map();

  // The same unknown name is often needed by many jobs: one did-you-mean for each name.
  const guesses = new Map<string, string | undefined>();
  const guessJob = (word: string, job: string): string | undefined => {
    if (!guesses.has(word)) guesses.set(word, closest(word, names));
    const guess = guesses.get(word);
    // A job is never told to need itself.
    return guess === job ? closest(word, names.filter((n) => n !== job)) : guess;
  };
  for (const name of names) {
    const job = jobs[name];
    // A full list takes no more problems: stop rather than work out messages nobody will see.
    if (!isRecord(job) || diags.full) continue;
    kinds.set(name, jobKindOf(job));
    checkJobKind(src, diags, name, job);
    checkDeploy(src, diags, name, job);
    checkDeployHosts(src, diags, name, job, hostClaims);
    checkPushSecret(src, diags, name, job, Array.isArray(raw.secrets) ? raw.secrets : []);
    const matrix = checkJobMatrix(src, diags, name, job);
    if (matrix) matrices.set(name, matrix);

    const seen = new Set<string>();
    const valid: string[] = [];
    for (const need of needsOf(job)) {
      const at = src.valueAt(['jobs', name, ...need.path]);
      if (need.name === name) {
        diags.error('SPEC_NEEDS_CYCLE', `job '${name}' needs itself: a job cannot wait for itself; remove '${name}' from its needs`, at);
      } else if (!Object.hasOwn(jobs, need.name)) {
        const guess = guessJob(need.name, name);
        diags.error('SPEC_NEEDS_UNKNOWN', `job '${name}' needs '${clip(need.name)}', which is not a job${guess ? ` (did you mean '${guess}'?)` : `; the jobs are ${listOf(names)}`}`, at);
      } else if (seen.has(need.name)) {
        diags.warning('SPEC_NEEDS_DUPLICATE', `job '${name}' lists '${clip(need.name)}' in needs twice; once is enough`, at);
      } else {
        valid.push(need.name);
      }
      seen.add(need.name);
    }
    edges.set(name, valid);
  }
  reportCycles(src, diags, names, edges);
  checkExpandedSize(src, diags, names.length, matrices);

  // What each job may read through jobs.X: everything upstream of it. The sets are built only when
  // an expression names a job: most name none.
  let upstream: UpstreamSets | undefined;
  const secrets = new Set(Array.isArray(raw.secrets) ? raw.secrets.filter((s): s is string => typeof s === 'string') : []);
  for (const site of sites) {
    if (diags.full) return;
    const job = site.path[0] === 'jobs' && typeof site.path[1] === 'string' ? site.path[1] : undefined;
    const matrix = job !== undefined ? matrices.get(job) : undefined;
    const scope: ExpressionScope = {
      jobs: kinds,
      job,
      upstream: { has: (name) => job !== undefined && (upstream ??= new UpstreamSets(names, edges)).has(job, name) },
      ...(matrix ? { matrix: matrix.keys } : {}),
      isJobCondition: site.path.length === 3 && site.path[2] === 'if',
      secrets,
      secretsAllowed: readsSecrets(site.path),
    };
    for (const expr of site.exprs) {
      for (const issue of checkExpression(expr, scope)) {
        const at = src.charAt(site.node, issue.offset);
        if (issue.severity === 'error') diags.error('SPEC_EXPRESSION', issue.message, at);
        else diags.warning('SPEC_EXPRESSION', issue.message, at);
      }
    }
  }
}

/** An env value (of the pipeline, a job, a step, a service) or a step's run: where a secret's value goes to a process. */
function readsSecrets(path: YamlPath): boolean {
  const n = path.length;
  return path[n - 2] === 'env' || (path[n - 1] === 'run' && path[n - 3] === 'steps');
}

/** A steps job's matrix, checked; `fail-fast` without one does nothing, and says so. */
function checkJobMatrix(src: YamlSource, diags: DiagnosticList, name: string, job: Record<string, unknown>): MatrixInfo | undefined {
  if (job.matrix === undefined) {
    if (job['fail-fast'] !== undefined) diags.warning('SPEC_IGNORED', `'fail-fast' of job '${name}' has no effect without a matrix`, src.keyAt(['jobs', name, 'fail-fast']));
    return undefined;
  }
  // A matrix on a build or deploy job is a SPEC_JOB_KIND error already; it is not expanded.
  return jobKindOf(job) === 'steps' ? checkMatrix(src, diags, name, job.matrix) : undefined;
}

/** Matrices multiply jobs: the pipeline they expand into stays within MAX_JOBS too. */
function checkExpandedSize(src: YamlSource, diags: DiagnosticList, declared: number, matrices: ReadonlyMap<string, MatrixInfo>): void {
  let total = declared;
  for (const [name, matrix] of matrices) {
    total += Math.max(matrix.count - 1, 0);
    if (total > MAX_JOBS) {
      diags.error('SPEC_TOO_LARGE', `with its matrix, job '${name}' takes the pipeline past ${MAX_JOBS} jobs; a pipeline may run at most ${MAX_JOBS}: make the matrices smaller or split the pipeline`, src.keyAt(['jobs', name, 'matrix']));
      return;
    }
  }
}

/**
 * Which jobs are upstream of which, as one bit set per job (at most MAX_JOBS × MAX_JOBS bits),
 * each built once from its needs' sets in an iterative post-order walk. A job in a cycle (already
 * reported) gets the sets of the cycle's jobs as far as they were built.
 */
class UpstreamSets {
  private readonly index = new Map<string, number>();
  private readonly sets: Array<Uint32Array | undefined> = [];
  private readonly words: number;

  constructor(
    names: readonly string[],
    private readonly edges: ReadonlyMap<string, readonly string[]>,
  ) {
    names.forEach((name, i) => this.index.set(name, i));
    this.words = Math.ceil(names.length / 32);
  }

  has(job: string, name: string): boolean {
    const bit = this.index.get(name);
    const set = this.setOf(job);
    return bit !== undefined && set !== undefined && ((set[bit >> 5] ?? 0) & (1 << (bit & 31))) !== 0;
  }

  private setOf(job: string): Uint32Array | undefined {
    const root = this.index.get(job);
    if (root === undefined) return undefined;
    const active = new Set<string>([job]);
    const frames: Array<{ name: string; next: number }> = [{ name: job, next: 0 }];
    while (frames.length && this.sets[root] === undefined) {
      const frame = frames[frames.length - 1]!;
      const needs = this.edges.get(frame.name) ?? [];
      const need = needs[frame.next++];
      if (need !== undefined) {
        const i = this.index.get(need);
        if (i !== undefined && this.sets[i] === undefined && !active.has(need)) {
          active.add(need);
          frames.push({ name: need, next: 0 });
        }
        continue;
      }
      const set = new Uint32Array(this.words);
      for (const upstream of needs) {
        const i = this.index.get(upstream);
        if (i === undefined) continue;
        set[i >> 5] = (set[i >> 5] ?? 0) | (1 << (i & 31));
        const further = this.sets[i];
        if (further) for (let w = 0; w < set.length; w++) set[w] = (set[w] ?? 0) | (further[w] ?? 0);
      }
      this.sets[this.index.get(frame.name)!] = set;
      active.delete(frame.name);
      frames.pop();
    }
    return this.sets[root];
  }
}

function checkJobKind(src: YamlSource, diags: DiagnosticList, name: string, job: Record<string, unknown>): void {
  const present = (['steps', 'build', 'deploy'] as const).filter((k) => job[k] !== undefined);
  const jobAt = src.keyAt(['jobs', name]);
  if (present.length > 1) {
    const second = present[1] ?? 'build';
    diags.error(
      'SPEC_JOB_KIND',
      `job '${name}' has both '${present[0]}' and '${second}': a job is exactly one of steps, build or deploy; split it into two jobs joined by needs`,
      src.keyAt(['jobs', name, second]),
    );
    return;
  }
  const kind = present[0];
  const misspelt = Object.keys(job).flatMap((key) => (Object.hasOwn(JOB_KEYS, key) ? [] : [closest(key, Object.keys(JOB_KEYS)) ?? '']));
  if (kind === undefined) {
    // A misspelt 'steps' already has its did-you-mean; "does nothing" on top would be noise.
    if (misspelt.some((key) => key === 'steps' || key === 'build' || key === 'deploy')) return;
    if (job.image !== undefined) diags.error('SPEC_MISSING_KEY', `job '${name}' has an image but no steps: add steps: [{ run: ... }]`, jobAt);
    else diags.error('SPEC_JOB_KIND', `job '${name}' does nothing: give it steps (with an image), a build, or a deploy`, jobAt);
    return;
  }
  if (kind === 'steps') {
    if (job.image === undefined && !misspelt.includes('image')) diags.error('SPEC_MISSING_KEY', `job '${name}' has steps but no image to run them in: add image: (e.g. image: node:20)`, jobAt);
    return;
  }
  for (const key of STEPS_ONLY_KEYS) {
    if (job[key] !== undefined) {
      diags.error('SPEC_JOB_KIND', `'${key}' belongs to steps jobs, but job '${name}' is a ${kind} job; move it to a job of its own`, src.keyAt(['jobs', name, key]));
    }
  }
}

function checkDeploy(src: YamlSource, diags: DiagnosticList, name: string, job: Record<string, unknown>): void {
  const deploy = job.deploy;
  if (!isRecord(deploy)) return;
  const base = ['jobs', name, 'deploy'];
  if (isRecord(deploy.health)) {
    const kinds = (['path', 'tcp', 'cmd'] as const).filter((k) => deploy.health && (deploy.health as Record<string, unknown>)[k] !== undefined);
    if (kinds.length > 1) {
      diags.error('SPEC_VALUE', `the health check of job '${name}' has ${kinds.map((k) => `'${k}'`).join(' and ')}: choose one of path, tcp, cmd`, src.keyAt([...base, 'health', kinds[1] ?? 'cmd']));
    }
  }
  if (isRecord(deploy.strategy) && deploy.strategy.maxSurge === 0 && deploy.strategy.maxUnavailable === 0) {
    diags.error('SPEC_VALUE', `maxSurge and maxUnavailable of job '${name}' are both 0: a rollout could never replace a replica; raise one of them`, src.keyAt([...base, 'strategy']));
  }
  const target = deploy.target ?? 'docker';
  if (isRecord(deploy.autoscale)) checkAutoscale(src, diags, name, deploy, deploy.autoscale, target);
  // kubernetes settings beside target: docker are fine: the contract's own example keeps them
  // ready for a switch of target. publish has no meaning on Kubernetes, so that one is flagged.
  if (target === 'kubernetes' && deploy.publish !== undefined) {
    diags.warning('SPEC_IGNORED', `'publish' of job '${name}' is ignored by the kubernetes target: the Service exposes the app`, src.keyAt([...base, 'publish']));
  }
  if (deploy.ttl !== undefined && typeof deploy.environment === 'string' && !isPreviewEnvironment(deploy.environment)) {
    diags.warning('SPEC_IGNORED', `'ttl' of job '${name}' applies only to a preview environment (environment: pr-\${{ pr.number }}); '${clip(deploy.environment)}' stays until it is removed`, src.keyAt([...base, 'ttl']));
  }
}

/** What the schema cannot say of `autoscale`: a target to aim for, min ≤ max, replicas inside them, what kubernetes can measure. */
function checkAutoscale(src: YamlSource, diags: DiagnosticList, name: string, deploy: Record<string, unknown>, autoscale: Record<string, unknown>, target: unknown): void {
  const base = ['jobs', name, 'deploy', 'autoscale'];
  const { min, max, targetInflight, targetCPU } = autoscale;
  for (const [key, value] of [['targetInflight', targetInflight], ['targetCPU', targetCPU]] as const) {
    if (typeof value === 'number' && value <= 0) diags.error('SPEC_VALUE', `autoscale.${key} of job '${name}' must be above 0, not ${value}`, src.valueAt([...base, key]));
  }
  if (targetInflight === undefined && targetCPU === undefined) {
    diags.error('SPEC_MISSING_KEY', `autoscale of job '${name}' has nothing to aim for: add targetInflight (in-flight requests per replica) or targetCPU (percent of one core per replica)`, src.keyAt(base));
  }
  if (typeof min === 'number' && typeof max === 'number' && min > max) {
    diags.error('SPEC_VALUE', `autoscale.min of job '${name}' (${min}) is above autoscale.max (${max})`, src.valueAt([...base, 'min']));
  } else if (typeof deploy.replicas === 'number' && typeof min === 'number' && typeof max === 'number' && (deploy.replicas < min || deploy.replicas > max)) {
    const start = Math.min(max, Math.max(min, deploy.replicas));
    diags.warning('SPEC_IGNORED', `replicas of job '${name}' (${deploy.replicas}) is outside autoscale's ${min}..${max}: it starts with ${start}`, src.valueAt(['jobs', name, 'deploy', 'replicas']));
  }
  // Kubernetes measures CPU itself (metrics-server); in-flight requests would need a custom metrics adapter.
  if (target === 'kubernetes' && targetInflight !== undefined) {
    const what = targetCPU === undefined ? 'no HorizontalPodAutoscaler is made and the count stays at replicas' : 'the HorizontalPodAutoscaler follows targetCPU only';
    diags.warning('SPEC_IGNORED', `autoscale.targetInflight of job '${name}' is measured by the docker target's proxy; Kubernetes has no such metric without a custom metrics adapter, so ${what}`, src.keyAt([...base, 'targetInflight']));
  }
}

/** Each cycle once, at the `needs` entry that closes it, named in full: a → b → a. */
function reportCycles(src: YamlSource, diags: DiagnosticList, names: string[], edges: Map<string, string[]>): void {
  const state = new Map<string, 'active' | 'done'>();
  // A depth-first walk with its own stack: `path` holds the jobs being visited, in order.
  const path: string[] = [];
  const frames: Array<{ name: string; next: number }> = [];
  const enter = (name: string): void => {
    state.set(name, 'active');
    path.push(name);
    frames.push({ name, next: 0 });
  };
  for (const root of names) {
    if (state.has(root)) continue;
    enter(root);
    while (frames.length) {
      const frame = frames[frames.length - 1]!;
      const need = (edges.get(frame.name) ?? [])[frame.next++];
      if (need === undefined) {
        frames.pop();
        path.pop();
        state.set(frame.name, 'done');
      } else if (state.get(need) === 'active') {
        if (!diags.full) reportCycle(src, diags, frame.name, [...path.slice(path.indexOf(need)), need]);
      } else if (!state.has(need)) {
        enter(need);
      }
    }
  }
}

function reportCycle(src: YamlSource, diags: DiagnosticList, name: string, cycle: string[]): void {
  const need = cycle[cycle.length - 1];
  const job = src.node(['jobs', name]);
  const needsNode = job ? src.node(['jobs', name, 'needs']) : null;
  const index = isSeq(needsNode) ? needsNode.items.findIndex((item) => isScalar(src.resolve(item)) && (src.resolve(item) as Scalar).value === need) : -1;
  const at = index >= 0 ? src.valueAt(['jobs', name, 'needs', index]) : src.valueAt(['jobs', name, 'needs']);
  // Written upstream-first (the order the jobs would have to run in), so it reads as a loop.
  diags.error('SPEC_NEEDS_CYCLE', `needs form a cycle: ${cycle.reverse().join(' → ')}; remove one of these needs`, at);
}
