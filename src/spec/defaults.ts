// Defaults and name patterns of the pipeline file, stated once and shared by the TypeBox schema
// (which publishes them to editors) and the compiler (which applies them). No TypeBox here: this
// module is on the start-up path of `slipway validate`.

export const SCHEMA_ID = 'https://slipway.dev/schema/slipway.schema.json';

/** Defaults, stated once: in the schema (editors show them) and applied by the compiler. */
export const defaults = {
  timeout: '60m',
  retry: 0,
  when: 'auto',
  failFast: true,
  serviceHealth: { interval: '1s', timeout: '5s', retries: 30 },
  build: { context: '.', dockerfile: 'Dockerfile' },
  deploy: { target: 'docker', replicas: 1 },
  health: { interval: '1s', timeout: '5s', healthy: 2, unhealthy: 3, startPeriod: '0s' },
  strategy: { maxSurge: 1, maxUnavailable: 0, progressDeadline: '60s', autoRollback: true },
  // HPA's defaults: scale-ups 15 s apart at most, a scale-down once the load stayed low for 5 minutes
  autoscaleCooldown: { up: '15s', down: '5m' },
  kubernetes: { namespace: 'default' },
  // a preview nobody deployed to for a week is taken down; the pull request closing does it sooner
  preview: { ttl: '168h' },
  pullRequest: { cancelInProgress: true },
} as const;

export const MAX_RETRY = 10;
export const JOB_NAME_PATTERN = '^[a-zA-Z][a-zA-Z0-9_-]*$';
export const SECRET_NAME_PATTERN = '^[A-Z_][A-Z0-9_]*$';
export const ENV_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$';
export const ENVIRONMENT_NAME_PATTERN = '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$';
/**
 * For editors: an environment name that may hold `${{ pr.number }}` (a pull request's preview,
 * `pr-${{ pr.number }}`); the validator checks the name it makes exactly.
 */
export const ENVIRONMENT_TEMPLATE_PATTERN = '^([a-z0-9-]|\\$\\{\\{\\s*pr\\.number\\s*\\}\\})+$';
/** The most patterns one list of `on` (branches, tags, paths, paths-ignore) may hold. */
export const MAX_TRIGGER_PATTERNS = 100;
export const SERVICE_NAME_PATTERN = '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$';
// Docker's reference grammar: lower-case path components separated by '/', '.', '_' or '-'.
export const REPOSITORY_PATTERN = '^[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*$';
export const TAG_PATTERN = '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$';
export const MATRIX_KEY_PATTERN = '^[a-zA-Z_][a-zA-Z0-9_-]*$';
// Matrix values become part of job names (logs, the UI, container names, API paths): 1 to 100
// printable ASCII characters, so that no control or look-alike character gets into a name.
export const MATRIX_VALUE_PATTERN = '^[ -~]{1,100}$';
/** The most jobs one matrix may expand into (GitHub Actions' limit too). */
export const MAX_MATRIX_COMBINATIONS = 256;
/**
 * A deploy's `host`: an RFC 1123 name of at most 253 characters, or `*.` and one (a wildcard for the
 * names below it); any case (the compiler lower-cases it).
 */
export const HOSTNAME_PATTERN = '^(?=.{1,253}$)(\\*\\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$';
/** The most names one deploy's `host` may list. */
export const MAX_DEPLOY_HOSTS = 20;
/** A `tls` certificate or key file: an absolute path, without NUL. */
export const ABSOLUTE_PATH_PATTERN = '^/[^\\u0000]*$';
