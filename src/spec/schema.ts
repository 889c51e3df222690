// The one definition of what a slipway.yaml may contain, in TypeBox: the raw TypeScript types
// (Static), the published JSON Schema, and the key lists, types and defaults the validator walks.
// Loading TypeBox costs ~200 ms of start-up, so the validator walks a snapshot of this schema
// (schema.generated.ts, written by write-schema.ts; a test fails when the two differ).
// Annotations starting with `x-` steer our own validator and are stripped from the published schema:
//   x-check     a semantic check the validator runs on the value (duration, glob, template, …)
//   x-code      the diagnostic code for a bad value here (default SPEC_TYPE / SPEC_VALUE)
//   x-expected  how to describe a good value in a message
//   x-key-code / x-key-expected   the same for the keys of a record
import { Type, type Static, type TString } from '@sinclair/typebox';
import { DURATION_PATTERN } from './durations.js';
import { DEFAULT_TIMEZONE, MAX_SCHEDULES, SCHEDULE_BRANCH_PATTERN } from './schedule.js';
import {
  defaults,
  ENV_NAME_PATTERN,
  ENVIRONMENT_NAME_PATTERN,
  ENVIRONMENT_TEMPLATE_PATTERN,
  JOB_NAME_PATTERN,
  MATRIX_KEY_PATTERN,
  MATRIX_VALUE_PATTERN,
  MAX_MATRIX_COMBINATIONS,
  MAX_RETRY,
  MAX_TRIGGER_PATTERNS,
  REPOSITORY_PATTERN,
  SCHEMA_ID,
  SECRET_NAME_PATTERN,
  SERVICE_NAME_PATTERN,
  TAG_PATTERN,
  HOSTNAME_PATTERN,
  MAX_DEPLOY_HOSTS,
  ABSOLUTE_PATH_PATTERN,
} from './defaults.js';

const duration = (description: string, def?: string, allowZero = false) =>
  Type.String({
    description: `${description} A Go-style duration: 500ms, 10s, 1m30s, 2h.`,
    pattern: DURATION_PATTERN,
    ...(def !== undefined ? { default: def } : {}),
    'x-check': allowZero ? 'durationOrZero' : 'duration',
    'x-code': 'SPEC_DURATION',
  });

/** A string that may hold `${{ }}` expressions; numbers and booleans are taken as their text. */
const template = (description: string) =>
  Type.String({ description: `${description} May hold \${{ expressions }}.`, 'x-check': 'template' });
const scalarTemplate = (description: string) =>
  Type.Union([template(description), Type.Number(), Type.Boolean()], { description, 'x-check': 'template' });

const relativePath = (description: string, def?: string) =>
  Type.String({ description, minLength: 1, ...(def !== undefined ? { default: def } : {}), 'x-check': 'relativePath' });

const envMap = (description: string) =>
  Type.Record(Type.String({ pattern: ENV_NAME_PATTERN }), scalarTemplate('The value of the variable.'), {
    description,
    additionalProperties: false,
    'x-key-code': 'SPEC_NAME',
    'x-key-expected': 'a variable name (letters, digits and _, not starting with a digit)',
  });

const stringList = <T extends TString>(description: string, item: T) => Type.Array(item, { description });

const glob = Type.String({ description: 'A glob: * stays within one path segment, ** crosses them, {a,b} and [a-z] work.', 'x-check': 'glob', 'x-code': 'SPEC_GLOB' });

const pathGlob = Type.String({
  description: 'A glob over repository paths, without a leading /: * stays within one folder, ** crosses folders; a leading ! takes back what the patterns before it matched.',
  'x-check': 'pathGlob',
  'x-code': 'SPEC_GLOB',
});

// GitHub's pair: one or the other, never both (the validator says so where the second stands).
const pathFilters = {
  paths: Type.Optional(
    Type.Array(pathGlob, { minItems: 1, maxItems: MAX_TRIGGER_PATTERNS, description: 'Run only when a changed file matches one of these patterns. Not together with paths-ignore.' }),
  ),
  'paths-ignore': Type.Optional(
    Type.Array(pathGlob, { minItems: 1, maxItems: MAX_TRIGGER_PATTERNS, description: 'Run unless every changed file matches one of these patterns. Not together with paths.' }),
  ),
};

export const PushTriggerSchema = Type.Object(
  {
    branches: Type.Optional(Type.Array(glob, { maxItems: MAX_TRIGGER_PATTERNS, description: 'Branch patterns that start a run. Omitted: every branch.' })),
    tags: Type.Optional(Type.Array(glob, { maxItems: MAX_TRIGGER_PATTERNS, description: 'Tag patterns that start a run. Omitted: no tag does.' })),
    ...pathFilters,
  },
  { additionalProperties: false, description: 'Run on a git push.' },
);

export const PullRequestTriggerSchema = Type.Object(
  {
    branches: Type.Optional(
      Type.Array(glob, { maxItems: MAX_TRIGGER_PATTERNS, description: 'Patterns of the base branch (the one merged into) whose pull requests run. Omitted: every branch.' }),
    ),
    ...pathFilters,
    'cancel-in-progress': Type.Optional(
      Type.Boolean({ default: defaults.pullRequest.cancelInProgress, description: 'A newer push to a pull request cancels its older run that is still going.' }),
    ),
  },
  { additionalProperties: false, description: 'Run the head commit of a pull request (merge request) when it is opened, pushed to or reopened.' },
);

export const ScheduleSchema = Type.Object(
  {
    cron: Type.String({
      description: 'When to run: five fields, minute hour day-of-month month day-of-week (e.g. "0 3 * * 1-5"), or @daily, @hourly, @weekly, @monthly, @yearly.',
      'x-check': 'cron',
      'x-code': 'SPEC_SCHEDULE',
    }),
    branch: Type.Optional(
      Type.String({ pattern: SCHEDULE_BRANCH_PATTERN, description: 'The branch whose tip runs. Omitted: the project’s default branch.', 'x-expected': 'a branch name like main or release/1.x' }),
    ),
    timezone: Type.Optional(Type.String({ default: DEFAULT_TIMEZONE, description: 'The IANA time zone the cron expression is read in, e.g. Europe/Berlin.', 'x-check': 'timezone', 'x-code': 'SPEC_SCHEDULE' })),
  },
  { additionalProperties: false, description: 'A run of a branch by the clock.' },
);

export const TriggersSchema = Type.Object(
  {
    push: Type.Optional(Type.Union([PushTriggerSchema, Type.Null()], { description: 'Run on a git push (empty: every branch).' })),
    pull_request: Type.Optional(Type.Union([PullRequestTriggerSchema, Type.Null()], { description: 'Run pull requests (empty: into every branch).' })),
    schedule: Type.Optional(
      Type.Array(ScheduleSchema, { minItems: 1, maxItems: MAX_SCHEDULES, description: 'Run by the clock: each tick starts one run, however many server replicas there are.' }),
    ),
  },
  { additionalProperties: false, description: 'What starts a run. Omitted: a push to any branch. `on: {}`: only manual runs.' },
);

export const StepSchema = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, description: 'Shown in logs and the UI. Default: the first line of `run`.' })),
    run: template('A shell script, run with `sh -e` in the job container, in the workspace.'),
    env: Type.Optional(envMap('Variables for this step only.')),
  },
  { additionalProperties: false, description: 'One command of the job.' },
);

export const ServiceHealthSchema = Type.Object(
  {
    cmd: Type.String({ minLength: 1, description: 'Run with `sh -c` in the service container; exit 0 means ready.' }),
    interval: Type.Optional(duration('Time between checks.', defaults.serviceHealth.interval)),
    timeout: Type.Optional(duration('Time one check may take.', defaults.serviceHealth.timeout)),
    retries: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: defaults.serviceHealth.retries, description: 'Failed checks before the job fails.' })),
  },
  { additionalProperties: false, description: 'The steps start once this check passes.' },
);

export const ServiceSchema = Type.Object(
  {
    image: template('The image of the sidecar container.'),
    env: Type.Optional(envMap('Variables of the service container.')),
    command: Type.Optional(
      Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String())], {
        description: "Overrides the image's command: a list, or a string split like a shell would.",
      }),
    ),
    health: Type.Optional(ServiceHealthSchema),
  },
  { additionalProperties: false, description: 'A sidecar container, reachable from the steps by its name.' },
);

export const ResourcesSchema = Type.Object(
  {
    cpu: Type.Optional(
      Type.String({
        pattern: '^([1-9][0-9]{0,5}m|[0-9]{1,3}(\\.[0-9]{1,3})?)$',
        description: 'CPU for the job container, in Kubernetes quantities: 500m, 2, 1.5.',
        'x-expected': 'a CPU quantity like 500m, 1 or 1.5',
      }),
    ),
    memory: Type.Optional(
      Type.String({
        pattern: '^[1-9][0-9]{0,8}(Ki|Mi|Gi|Ti|k|M|G|T)?$',
        description: 'Memory for the job container, in Kubernetes quantities: 512Mi, 2Gi.',
        'x-expected': 'a memory quantity like 512Mi or 2Gi',
      }),
    ),
  },
  { additionalProperties: false, minProperties: 1, description: 'Steps jobs: what the job container gets (requests = limits on Kubernetes; CPU and memory limits on Docker).' },
);

export const CacheSchema = Type.Object(
  {
    key: Type.Union([relativePath('A file whose content keys the cache.'), Type.Array(relativePath('A file whose content keys the cache.'), { minItems: 1 })], {
      description: 'The file (or files) whose content keys the cache, e.g. package-lock.json.',
    }),
    paths: Type.Array(relativePath('A workspace path to cache.'), { minItems: 1, description: 'Workspace paths restored before the steps and saved after success.' }),
  },
  { additionalProperties: false, description: 'Restored before the steps, saved after success.' },
);

export const BuildSchema = Type.Object(
  {
    context: Type.Optional(relativePath('The build context, relative to the repository root.', defaults.build.context)),
    dockerfile: Type.Optional(relativePath('The Dockerfile, relative to the repository root.', defaults.build.dockerfile)),
    repository: Type.String({
      pattern: REPOSITORY_PATTERN,
      description: 'The image repository pushed to: <registry>/<repository>:<commit sha>.',
      'x-expected': 'a lower-case image repository name like hello-web or team/api',
    }),
    tags: Type.Optional(stringList('Extra tags besides the commit sha.', Type.String({ pattern: TAG_PATTERN, 'x-expected': 'an image tag (letters, digits, _ . -, at most 128)' }))),
    args: Type.Optional(
      Type.Record(Type.String({ pattern: ENV_NAME_PATTERN }), scalarTemplate('The value of the build argument.'), {
        description: 'Build arguments (ARG in the Dockerfile).',
        additionalProperties: false,
        'x-key-code': 'SPEC_NAME',
        'x-key-expected': 'a build argument name (letters, digits and _)',
      }),
    ),
    target: Type.Optional(Type.String({ minLength: 1, description: 'The stage of a multi-stage Dockerfile to build.' })),
    push: Type.Optional(
      Type.Object(
        {
          registry: Type.String({
            pattern: '^[a-zA-Z0-9.-]+(:[0-9]{1,5})?(/[a-z0-9._-]+)*$',
            description: 'The registry host (and optional namespace) to push to instead of Slipway’s, e.g. ghcr.io/acme.',
            'x-expected': 'a registry host like ghcr.io or registry.example.com:5000, optionally with /namespace',
          }),
          username: Type.Optional(Type.String({ minLength: 1, description: 'The user name to log in with (default: slipway).' })),
          passwordSecret: Type.Optional(
            Type.String({ pattern: SECRET_NAME_PATTERN, description: 'The name of a secret (listed under `secrets:`) holding the password or token.', 'x-expected': 'a secret name like REGISTRY_TOKEN' }),
          ),
        },
        { additionalProperties: false, description: 'Push to an external registry, with credentials from a secret.' },
      ),
    ),
  },
  { additionalProperties: false, description: 'Builds an image with the Docker engine and pushes it to the registry.' },
);

export const DeployHealthSchema = Type.Object(
  {
    path: Type.Optional(Type.String({ pattern: '^/', description: 'HTTP GET this path; 2xx/3xx is healthy.', 'x-expected': 'an HTTP path starting with /' })),
    tcp: Type.Optional(Type.Boolean({ description: 'Healthy when the port accepts a connection (the default check).' })),
    cmd: Type.Optional(Type.String({ minLength: 1, description: 'Run with `sh -c` in the replica; exit 0 is healthy.' })),
    interval: Type.Optional(duration('Time between checks.', defaults.health.interval)),
    timeout: Type.Optional(duration('Time one check may take.', defaults.health.timeout)),
    healthy: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: defaults.health.healthy, description: 'Passed checks in a row to be healthy.' })),
    unhealthy: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: defaults.health.unhealthy, description: 'Failed checks in a row to be unhealthy.' })),
    startPeriod: Type.Optional(duration('Failures in this time after start do not count.', defaults.health.startPeriod, true)),
  },
  { additionalProperties: false, description: 'How a replica is checked: one of path, tcp, cmd (default: tcp).' },
);

export const StrategySchema = Type.Object(
  {
    maxSurge: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000, default: defaults.strategy.maxSurge, description: 'Replicas above the desired count during a rollout.' })),
    maxUnavailable: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000, default: defaults.strategy.maxUnavailable, description: 'Replicas below the desired count during a rollout.' })),
    progressDeadline: Type.Optional(duration('A rollout making no progress this long has failed.', defaults.strategy.progressDeadline)),
    autoRollback: Type.Optional(Type.Boolean({ default: defaults.strategy.autoRollback, description: 'Restore the previous revision when a rollout fails.' })),
  },
  { additionalProperties: false, description: 'The rolling update.' },
);

export const AutoscaleSchema = Type.Object(
  {
    min: Type.Integer({ minimum: 1, maximum: 1000, description: 'The fewest replicas.' }),
    max: Type.Integer({ minimum: 1, maximum: 1000, description: 'The most replicas (at least min).' }),
    targetInflight: Type.Optional(
      Type.Number({ exclusiveMinimum: 0, maximum: 100000, description: 'docker target: in-flight requests per replica to aim for, measured at Slipway’s proxy.' }),
    ),
    targetCPU: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 100000, description: 'CPU per replica to aim for, in percent of one core (150 = one and a half cores).' })),
    cooldown: Type.Optional(
      Type.Object(
        {
          up: Type.Optional(duration('The least time between two scale-ups.', defaults.autoscaleCooldown.up, true)),
          down: Type.Optional(duration('How long the load must stay low before a scale-down.', defaults.autoscaleCooldown.down, true)),
        },
        { additionalProperties: false, description: 'How fast the count follows the load.' },
      ),
    ),
  },
  { additionalProperties: false, description: 'The replica count follows the load between min and max (replicas is the starting count); at least one of targetInflight, targetCPU.' },
);

export const KubernetesSchema = Type.Object(
  {
    namespace: Type.Optional(Type.String({ pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', default: defaults.kubernetes.namespace, description: 'The namespace deployed to.', 'x-expected': 'a Kubernetes namespace name (lower-case letters, digits, -)' })),
    manifests: Type.Optional(relativePath('A file or folder of your own manifests; the image is substituted.')),
  },
  { additionalProperties: false, description: 'Settings of the kubernetes target.' },
);

const hostName = Type.String({
  pattern: HOSTNAME_PATTERN,
  description: 'A host name (api.example.test), or *. and one for every name below it (*.example.test).',
  'x-code': 'SPEC_DEPLOY_HOST',
  'x-expected': 'a host name like api.example.test or *.example.test',
});

const absolutePath = (description: string) =>
  Type.String({ minLength: 1, pattern: ABSOLUTE_PATH_PATTERN, description, 'x-code': 'SPEC_DEPLOY_TLS', 'x-expected': 'an absolute path on the machine that runs the deploy' });

export const DeployTlsSchema = Type.Union(
  [
    Type.Boolean(),
    Type.Object(
      {
        certificate: absolutePath('The PEM certificate file (with its chain), read when the deploy runs.'),
        key: absolutePath('The PEM private key file of the certificate, read when the deploy runs.'),
      },
      { additionalProperties: false, description: 'The certificate and key files.' },
    ),
  ],
  { description: 'docker target: serve the host names over HTTPS with this certificate (SNI picks it); plain HTTP is redirected to HTTPS.' },
);

export const DeploySchema = Type.Object(
  {
    environment: Type.String({
      pattern: ENVIRONMENT_TEMPLATE_PATTERN,
      description: 'The environment rolled out to (e.g. staging, production); pr-${{ pr.number }} makes a preview environment per pull request.',
      'x-check': 'environment',
      'x-expected': 'an environment name (lower-case letters, digits, -)',
    }),
    target: Type.Optional(Type.Union([Type.Literal('docker'), Type.Literal('kubernetes')], { default: defaults.deploy.target, description: 'docker: one host, Slipway’s proxy; kubernetes: a Deployment and Service.' })),
    image: template('The image to run, usually ${{ jobs.<build job>.image }}.'),
    replicas: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: defaults.deploy.replicas, description: 'How many containers serve the app.' })),
    port: Type.Integer({ minimum: 1, maximum: 65535, description: 'The port the app listens on inside its container.' }),
    publish: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: 'docker target: the host port of the environment’s proxy. Omitted: one is chosen and kept.' })),
    host: Type.Optional(
      Type.Union([hostName, Type.Array(hostName, { minItems: 1, maxItems: MAX_DEPLOY_HOSTS, 'x-code': 'SPEC_DEPLOY_HOST' })], {
        description: 'docker target: the host names (one, or a list of up to 20) the shared front listener (ports 80 and 443) routes to this environment by the Host header.',
      }),
    ),
    tls: Type.Optional(DeployTlsSchema),
    health: Type.Optional(DeployHealthSchema),
    strategy: Type.Optional(StrategySchema),
    autoscale: Type.Optional(AutoscaleSchema),
    kubernetes: Type.Optional(KubernetesSchema),
    ttl: Type.Optional(duration('A preview environment (pr-${{ pr.number }}) nobody deployed to for this long is taken down.', defaults.preview.ttl)),
  },
  { additionalProperties: false, description: 'Rolls an image out to an environment.' },
);

export const ApprovalSchema = Type.Object(
  {
    timeout: Type.Optional(duration('How long a manual job waits for approval; past it the job is skipped. Omitted: it waits until someone decides.')),
  },
  { additionalProperties: false, description: 'How a manual job (when: manual, or a deploy to a protected environment) waits for its approval.' },
);

export const EnvironmentSchema = Type.Object(
  {
    protected: Type.Optional(Type.Boolean({ default: false, description: 'A deploy job to this environment waits for approval even without when: manual, and only tokens with deploy or deploy:<environment> approve it.' })),
  },
  { additionalProperties: false, description: 'Rules for the jobs that deploy to one environment.' },
);

const MATRIX_KEY_EXPECTED = 'a matrix key (letters, digits, _ and -, not starting with a digit or -)';

const matrixValue = Type.Union(
  [
    Type.String({ pattern: MATRIX_VALUE_PATTERN, 'x-expected': 'a value of 1 to 100 printable ASCII characters' }),
    Type.Number(),
    Type.Boolean(),
  ],
  { description: 'One value of a matrix key.', 'x-expected': 'a string, number or boolean' },
);

const matrixEntries = (description: string) =>
  Type.Array(
    Type.Record(Type.String({ pattern: MATRIX_KEY_PATTERN }), matrixValue, {
      description: 'Matrix keys and their values.',
      additionalProperties: false,
      minProperties: 1,
      'x-key-code': 'SPEC_NAME',
      'x-key-expected': MATRIX_KEY_EXPECTED,
    }),
    { maxItems: MAX_MATRIX_COMBINATIONS, description },
  );

// The matrix's own keys are free names beside include and exclude: additionalProperties holds
// their schema and propertyNames their pattern (TypeBox checks the first, JSON Schema tools both).
export const MatrixSchema = Type.Object(
  {
    include: Type.Optional(matrixEntries('Extra keys for the combinations that have all of an entry’s matrix values, or else an extra combination.')),
    exclude: Type.Optional(matrixEntries('Combinations to leave out: an entry removes every combination that has all its values.')),
  },
  {
    description: 'Steps jobs: run the job once per combination of these values, e.g. node: [18, 20]; at most 256 combinations.',
    additionalProperties: Type.Array(matrixValue, {
      minItems: 1,
      maxItems: MAX_MATRIX_COMBINATIONS,
      description: 'The values of one matrix key.',
      'x-expected': 'a list of values (strings, numbers or booleans)',
    }),
    propertyNames: { pattern: MATRIX_KEY_PATTERN },
    'x-key-code': 'SPEC_NAME',
    'x-key-expected': MATRIX_KEY_EXPECTED,
  },
);

// One object with every key rather than a union of three job shapes: editors then complete all
// keys, and the validator says "a job is one of steps, build, deploy" instead of three failures.
export const JobSchema = Type.Object(
  {
    needs: Type.Optional(
      Type.Union([Type.String(), Type.Array(Type.String())], { description: 'Jobs that must succeed before this one starts.' }),
    ),
    if: Type.Optional(Type.Union([Type.String(), Type.Boolean()], { description: "Run only when this holds, e.g. branch == 'main'. Bare or wrapped in ${{ }}.", 'x-check': 'condition' })),
    when: Type.Optional(Type.Union([Type.Literal('auto'), Type.Literal('manual')], { default: defaults.when, description: 'manual: the run waits at this job until someone runs `slipway approve RUN JOB` (or rejects it).' })),
    approval: Type.Optional(ApprovalSchema),
    env: Type.Optional(envMap('Variables for every step of the job.')),
    timeout: Type.Optional(duration('The job fails when it runs longer.', defaults.timeout)),
    retry: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_RETRY, default: defaults.retry, description: 'Extra attempts after a failure.' })),
    image: Type.Optional(template('Steps jobs: the container image the steps run in.')),
    services: Type.Optional(
      Type.Record(Type.String({ pattern: SERVICE_NAME_PATTERN }), ServiceSchema, {
        description: 'Steps jobs: sidecar containers, by host name.',
        additionalProperties: false,
        'x-key-code': 'SPEC_NAME',
        'x-key-expected': 'a host name (lower-case letters, digits and -)',
      }),
    ),
    steps: Type.Optional(Type.Array(StepSchema, { minItems: 1, description: 'Steps jobs: the commands, in order, in one container.' })),
    cache: Type.Optional(CacheSchema),
    artifacts: Type.Optional(stringList('Steps jobs: workspace paths handed to the jobs that need this one.', relativePath('A workspace path.'))),
    'runs-on': Type.Optional(
      Type.Union([Type.Literal('docker'), Type.Literal('kubernetes')], {
        description: "Steps jobs: the executor that runs the job — docker (a container on the server's engine) or kubernetes (a Pod); default: the server's --executor.",
      }),
    ),
    resources: Type.Optional(ResourcesSchema),
    matrix: Type.Optional(MatrixSchema),
    'fail-fast': Type.Optional(Type.Boolean({ default: defaults.failFast, description: 'Matrix jobs: when one combination fails, cancel the others still pending or running.' })),
    build: Type.Optional(BuildSchema),
    deploy: Type.Optional(DeploySchema),
  },
  { additionalProperties: false, description: 'A job is exactly one of: steps (with image), build, deploy.' },
);

export const PipelineSchema = Type.Object(
  {
    version: Type.Literal(1, { description: 'The file format version: 1.', 'x-code': 'SPEC_VERSION' }),
    name: Type.String({ pattern: '^[a-zA-Z0-9][a-zA-Z0-9_.-]*$', description: 'The project name.', 'x-expected': 'a name of letters, digits, _ . -' }),
    on: Type.Optional(TriggersSchema),
    env: Type.Optional(envMap('Variables for every job; a job or step may override them.')),
    secrets: Type.Optional(
      Type.Array(Type.String({ pattern: SECRET_NAME_PATTERN, 'x-code': 'SPEC_SECRET_NAME', 'x-expected': 'a secret name like API_TOKEN (A-Z, 0-9, _)' }), {
        description: 'Names of the secrets the jobs use; values come from the server or the CLI.',
      }),
    ),
    environments: Type.Optional(
      Type.Record(Type.String({ pattern: ENVIRONMENT_NAME_PATTERN }), EnvironmentSchema, {
        description: 'Rules per deploy environment, by name: `production: { protected: true }`.',
        additionalProperties: false,
        'x-key-code': 'SPEC_NAME',
        'x-key-expected': 'an environment name (lower-case letters, digits, -)',
      }),
    ),
    jobs: Type.Record(Type.String({ pattern: JOB_NAME_PATTERN }), JobSchema, {
      description: 'The jobs, by name; `needs` makes them a graph.',
      additionalProperties: false,
      minProperties: 1,
      'x-key-code': 'SPEC_NAME',
      'x-key-expected': 'a job name (a letter, then letters, digits, _ or -)',
    }),
  },
  {
    $id: SCHEMA_ID,
    title: 'Slipway pipeline',
    // x- keys are free, for anchors shared through `<<: *name` (as docker compose allows).
    patternProperties: { '^x-': {} },
    description: 'slipway.yaml: the pipeline of a repository. https://slipway.dev/docs/pipeline-file',
    additionalProperties: false,
  },
);

export type RawPipeline = Static<typeof PipelineSchema>;
export type RawJob = Static<typeof JobSchema>;
export type RawStep = Static<typeof StepSchema>;
export type RawService = Static<typeof ServiceSchema>;
export type RawBuild = Static<typeof BuildSchema>;
export type RawDeploy = Static<typeof DeploySchema>;
export type RawMatrixValue = Static<typeof matrixValue>;
