// The typed Pipeline the rest of Slipway runs: what a slipway.yaml means once it is parsed and
// validated. Nothing past src/spec reads raw YAML; everything reads these types.

/** Where something stands in the pipeline file (1-based line and column). */
export interface SourcePosition {
  file: string;
  line: number;
  col: number;
}

/**
 * A string from the file that may hold `${{ expression }}` parts, already parsed and checked.
 * Render it with `renderTemplate` from the spec module once the context is known.
 */
export interface Template {
  readonly source: string;
  readonly position: SourcePosition;
  /** true when the string has no `${{ }}` part: `source` is the value */
  readonly isLiteral: boolean;
}

/** An `if:` condition, parsed and checked; evaluate it with `evaluateCondition`. */
export interface Condition {
  readonly source: string;
  readonly position: SourcePosition;
}

/** What `${{ }}` expressions can read while a run goes on. */
export interface ExpressionContext {
  branch: string;
  event: string;
  commit: string;
  env: Record<string, string>;
  /** outputs of finished jobs: `jobs.image.image`, `jobs.image.digest`, `jobs.test.result` */
  jobs: Record<string, JobOutputs>;
  /** the combination of the matrix job the expression belongs to: `matrix.node` */
  matrix?: Record<string, MatrixValue>;
  /** the pull request a pull-request run tests: `pr.number`, `pr.base`, `pr.head` (empty in other runs) */
  pr?: { number: number; base: string; head: string };
  /** the values of the pipeline's secrets, read by `secrets.NAME` (in env values and steps' run only) */
  secrets?: Record<string, string>;
}

export interface JobOutputs {
  result: 'success' | 'failure' | 'skipped' | 'cancelled';
  [output: string]: string;
}

export interface Pipeline {
  /** the file as it was named to the loader */
  file: string;
  version: 1;
  name: string;
  triggers: Triggers;
  env: Record<string, Template>;
  /** names only; values come from the CLI or the server */
  secrets: string[];
  /** the environments the file names rules for; a protected one makes its deploy jobs manual */
  environments: Record<string, { protected: boolean }>;
  /** in file order */
  jobs: Job[];
}

export interface Triggers {
  /** absent: no push trigger declared; `branches` undefined: every branch */
  push?: { branches?: string[]; tags?: string[] } & PathFilter;
  /** `on.pull_request`; absent: pull requests start no run; `branches` (of the base) undefined: every branch */
  pullRequest?: { branches?: string[]; cancelInProgress: boolean } & PathFilter;
  /** `on.schedule`, in file order; absent: none declared */
  schedule?: Schedule[];
}

/** One entry of `on.schedule`: a run of a branch's tip whenever the cron expression fires. */
export interface Schedule {
  /** five fields (or an @daily-like shorthand), blanks between them made single */
  cron: string;
  /** absent: the project's default branch */
  branch?: string;
  /** the IANA time zone the cron expression is read in (UTC unless the file names one) */
  timezone: string;
  position: SourcePosition;
}

/**
 * `paths` / `paths-ignore` of a trigger (at most one of them): globs over the files a push or
 * pull request changes; a leading `!` excludes what the patterns before it matched.
 */
export interface PathFilter {
  paths?: string[];
  pathsIgnore?: string[];
}

export type Job = StepsJob | BuildJob | DeployJob;

export type MatrixValue = string | number | boolean;

/**
 * What a job expanded from a `matrix:` knows of it. Such a job is named `test (node=18, db=pg)`:
 * its base name and its values, keys in the order the file gives them.
 */
export interface MatrixCombination {
  /** the job's name in the file (`test`); `needs: [test]` means every combination */
  base: string;
  /** this combination's values, read by `${{ matrix.KEY }}`, keys in the order written */
  values: Record<string, MatrixValue>;
  /** `fail-fast`: when one combination fails, the others still pending or running are cancelled */
  failFast: boolean;
}

interface JobBase {
  /** as written, or for a combination of a matrix job `test (node=18, db=pg)` */
  name: string;
  position: SourcePosition;
  /** the jobs to wait for, by name: `needs: [test]` on a matrix job lists every combination of it */
  needs: string[];
  /** set on the jobs a `matrix:` expanded into */
  matrix?: MatrixCombination;
  if?: Condition;
  /** `manual`: waits for `slipway approve` (set by `when: manual` or a deploy to a protected environment) */
  when: 'auto' | 'manual';
  /** how long a manual job waits for a decision; absent: until someone decides */
  approvalTimeoutMs?: number;
  env: Record<string, Template>;
  timeoutMs: number;
  /** extra attempts after a failure (0 = run once) */
  retry: number;
  /**
   * The secrets the job reads, sorted: `${{ secrets.X }}` in its (or the pipeline's inherited)
   * env and scripts, `$X` in a step's run, a build's push.passwordSecret. A run without secrets
   * (a fork's pull request) skips such a job rather than run it without them. Absent on jobs
   * made in code, and in pipelines stored before it existed: none known.
   */
  secretsUsed?: string[];
}

export interface StepsJob extends JobBase {
  kind: 'steps';
  image: Template;
  services: Service[];
  steps: Step[];
  cache?: Cache;
  /** workspace-relative paths handed to the jobs that need this one */
  artifacts: string[];
  /** the executor the job asks for; absent: the one the run was given */
  runsOn?: 'docker' | 'kubernetes';
  /** CPU and memory of the job container, in Kubernetes quantities */
  resources?: { cpu?: string; memory?: string };
}

export interface BuildJob extends JobBase {
  kind: 'build';
  build: BuildSpec;
}

export interface DeployJob extends JobBase {
  kind: 'deploy';
  deploy: DeploySpec;
}

export interface Step {
  /** given, or derived from the first line of `run` */
  name: string;
  run: Template;
  env: Record<string, Template>;
  position: SourcePosition;
}

export interface Service {
  /** the host name the job's steps reach it by */
  name: string;
  image: Template;
  env: Record<string, Template>;
  /** overrides the image's command */
  command?: string[];
  health?: ServiceHealth;
  position: SourcePosition;
}

export interface ServiceHealth {
  /** run with `sh -c` inside the service container; exit 0 = healthy */
  cmd: string;
  intervalMs: number;
  timeoutMs: number;
  retries: number;
}

export interface Cache {
  /** workspace-relative files whose content hash keys the cache (e.g. package-lock.json) */
  keyFiles: string[];
  /** workspace-relative paths restored before the steps and saved after success */
  paths: string[];
}

export interface BuildSpec {
  context: string;
  dockerfile: string;
  repository: string;
  tags: string[];
  args: Record<string, Template>;
  target?: string;
  /** an external registry instead of the run's; the password comes from the named secret */
  push?: { registry: string; username: string; passwordSecret?: string };
}

export interface DeployHealth {
  path?: string;
  tcp?: boolean;
  cmd?: string;
  intervalMs: number;
  timeoutMs: number;
  healthy: number;
  unhealthy: number;
  startPeriodMs: number;
}

export interface DeployStrategy {
  maxSurge: number;
  maxUnavailable: number;
  progressDeadlineMs: number;
  autoRollback: boolean;
}

/**
 * `autoscale:` — the replica count follows the load between min and max: in-flight requests per
 * replica (measured at the docker target's proxy) and/or CPU per replica in percent of one core.
 */
export interface DeployAutoscale {
  min: number;
  max: number;
  targetInflight?: number;
  targetCPU?: number;
  /** up: the least time between scale-ups; down: how long the load must stay low before a scale-down */
  cooldown: { upMs: number; downMs: number };
}

/** Absolute paths; read when the deploy runs, not when the file is checked. */
export interface DeployTls {
  certificate: string;
  key: string;
}

export interface DeploySpec {
  /** the name, or for a preview the name with `${{ pr.number }}` in it (resolved by the engine) */
  environment: string;
  /** set when `environment` holds `${{ pr.number }}`: one environment per pull request */
  preview?: { ttlMs: number };
  target: 'docker' | 'kubernetes';
  image: Template;
  replicas: number;
  port: number;
  publish?: number;
  /** `host:` — names the docker target's front routes to this environment: lower-case, no duplicates, `*.example.test` wildcards */
  hosts?: string[];
  /** `tls:` — serve `hosts` over HTTPS with this certificate and key (PEM files on the machine running the deploy) */
  tls?: DeployTls;
  health: DeployHealth;
  strategy: DeployStrategy;
  /** when present, `replicas` is the starting count, clamped to [min, max] */
  autoscale?: DeployAutoscale;
  kubernetes?: { namespace: string; manifests?: string };
}

/** One problem found in a pipeline file. */
export interface Diagnostic {
  /** stable, e.g. SPEC_UNKNOWN_KEY, SPEC_NEEDS_CYCLE */
  code: string;
  severity: 'error' | 'warning';
  message: string;
  file: string;
  line: number;
  col: number;
}

export interface LoadResult {
  /** present only when there is no error-severity diagnostic */
  pipeline?: Pipeline;
  diagnostics: Diagnostic[];
}
