// `slipway server`: the API, web hooks, git hosting and registry in one process, running the
// pipelines that pushes and webhooks queue.
import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { EXIT_OK, EXIT_USAGE, UsageError, type CliIO, type Command } from './io.js';
import type { ServerConfig } from '../server/index.js';
import { parsePollTarget } from '../server/poller.js';
import { parseDuration } from '../spec/index.js';
import { createLogger, isLogLevel, LOG_LEVELS } from '../server/logger.js';

const HELP = `usage: slipway server [options]

Serves the API (/api/), webhooks (/hooks/github|gitea|gitlab/<project>), git hosting (/git/<project>.git),
the registry (/v2/) and runs the pipelines they trigger.

options (flags beat environment variables, which beat the config file):
  --port N             port (SLIPWAY_PORT; default 7700)
  --host ADDR          address to listen on (SLIPWAY_HOST; default 0.0.0.0)
  --data DIR           data directory (SLIPWAY_DATA; default ./slipway-data); its deploys keep their
                       state in DIR/deploy, apart from the CLI's (SLIPWAY_STATE_DIR)
  --database URL       postgres://… for PostgreSQL (SLIPWAY_DATABASE_URL; default SQLite in DATA)
  --concurrency N      runs at once (SLIPWAY_CONCURRENCY; default: the number of cores; 0: this
                       replica only accepts work and serves the API, others run it)
  --no-auto-create     a push to an unknown project is refused (SLIPWAY_AUTO_CREATE=false)
  --retry-interrupted  re-queue runs a killed server left unfinished (SLIPWAY_RETRY_INTERRUPTED=true)
  --registry HOST      the registry host runs push to (SLIPWAY_PUBLIC_REGISTRY; default this server)
  --poll PROJECT=URL   poll a git remote for new commits and run them like pushes (repeatable)
  --poll-interval D    how often (SLIPWAY_POLL_INTERVAL; default 60s)
  --log-retention D    delete the logs of runs finished longer ago, e.g. 30d or 72h
                       (SLIPWAY_LOG_RETENTION; default: keep them)
  --preview-ttl D      take down a pull request's preview environment after this long
                       without a deploy (SLIPWAY_PREVIEW_TTL; default 7d; closing the pull
                       request does at once)
  --replica-timeout D  a server replica silent this long is taken as gone by the others on the
                       same database: its running runs become interrupted and its job containers
                       or Pods are removed (SLIPWAY_REPLICA_TIMEOUT; default 2m; at least 2s)
  --warm-containers N  started job containers kept ready per recently used image, so a run
                       does not wait for one to start (SLIPWAY_WARM_CONTAINERS; default 1; 0: none)
  --executor E         where jobs without runs-on run: docker (default) or kubernetes, as Pods in the
                       cluster of the server's kubeconfig (SLIPWAY_EXECUTOR)
  --jobs-namespace NS  the namespace job Pods run in (SLIPWAY_JOBS_NAMESPACE; default slipway-jobs)
  --jobs-schedule-timeout D
                       how long a job Pod no node fits waits for one (a cluster autoscaler adding
                       a node, a running job ending) before the job fails
                       (SLIPWAY_JOBS_SCHEDULE_TIMEOUT; default 3m; 0: fail at once)
  --clone-url URL      how job Pods reach this server (SLIPWAY_CLONE_URL, e.g. http://10.0.0.5:7700):
                       an init container then checks out the commit with a short-lived token;
                       without it the workspace is copied into the Pod
  --log-level L        debug, info, warn or error (SLIPWAY_LOG_LEVEL; default info); the log
                       goes to stderr: JSON lines, or one readable line each on a terminal
  --config FILE        a YAML or JSON file with the same keys in camelCase (port, host, data,
                       database, pollInterval, replicaTimeout, jobsScheduleTimeout, logLevel, …)
  -h, --help           this help

On first start it prints an admin token once and keeps it in DATA/admin-token (0600);
SLIPWAY_ADMIN_TOKEN sets it instead.
`;

type FileConfig = Partial<
  Record<
    | 'port' | 'host' | 'data' | 'database' | 'concurrency' | 'autoCreate' | 'retryInterrupted' | 'registry' | 'warmContainers'
    | 'executor' | 'jobsNamespace' | 'jobsScheduleTimeout' | 'cloneUrl' | 'logLevel'
    | 'pollInterval' | 'logRetention' | 'previewTtl' | 'replicaTimeout',
    string | number | boolean
  >
>;

/** The duration settings: each flag, its variable and config key, the config field it sets and what it accepts. */
const DURATION_SETTINGS: ReadonlyArray<{
  name: 'log-retention' | 'preview-ttl' | 'jobs-schedule-timeout' | 'replica-timeout' | 'poll-interval';
  envName: string;
  key: keyof FileConfig;
  into: 'logRetentionMs' | 'previewTtlMs' | 'jobsScheduleTimeoutMs' | 'replicaTimeoutMs' | 'pollIntervalMs';
  rule: Omit<DurationRule, 'flag'>;
}> = [
  { name: 'log-retention', envName: 'SLIPWAY_LOG_RETENTION', key: 'logRetention', into: 'logRetentionMs', rule: { minMs: 60_000, days: true, accepts: 'a duration of 1m or more (e.g. 30d, 72h)' } },
  { name: 'preview-ttl', envName: 'SLIPWAY_PREVIEW_TTL', key: 'previewTtl', into: 'previewTtlMs', rule: { minMs: 60_000, days: true, accepts: 'a duration of 1m or more (e.g. 7d, 48h)' } },
  { name: 'jobs-schedule-timeout', envName: 'SLIPWAY_JOBS_SCHEDULE_TIMEOUT', key: 'jobsScheduleTimeout', into: 'jobsScheduleTimeoutMs', rule: { zero: true, maxMs: 86_400_000, accepts: 'a duration up to 24h (or 0)' } },
  { name: 'replica-timeout', envName: 'SLIPWAY_REPLICA_TIMEOUT', key: 'replicaTimeout', into: 'replicaTimeoutMs', rule: { minMs: 2000, accepts: 'a duration of 2s or more' } },
  { name: 'poll-interval', envName: 'SLIPWAY_POLL_INTERVAL', key: 'pollInterval', into: 'pollIntervalMs', rule: { minMs: 1000, accepts: 'a duration of 1s or more' } },
];

function toInt(value: string | number | boolean | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`${name} takes a whole number, got '${String(value)}'`);
  return n;
}

function toBool(value: string | number | boolean | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  return value === true || value === 'true' || value === '1' || value === 'yes';
}

export function hideSecrets(url: string | undefined): string {
  return url ? url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@') : '(SQLite in the data directory)';
}

type ConfigValue = string | number | boolean | undefined;

/** --executor, --jobs-namespace and --clone-url, checked: a bad one stops the start (exit 2). */
export function executorConfig(executor: ConfigValue, namespace: ConfigValue, cloneUrl: ConfigValue): Pick<ServerConfig, 'executor' | 'jobsNamespace' | 'cloneUrl'> {
  const out: Pick<ServerConfig, 'executor' | 'jobsNamespace' | 'cloneUrl'> = {};
  if (executor !== undefined) {
    if (executor !== 'docker' && executor !== 'kubernetes') throw new UsageError(`--executor takes docker or kubernetes, not '${String(executor).slice(0, 80)}'`);
    out.executor = executor;
  }
  if (namespace !== undefined) {
    const ns = String(namespace);
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(ns)) throw new UsageError(`--jobs-namespace takes a Kubernetes namespace name (lower-case letters, digits and -, at most 63), not '${ns.slice(0, 80)}'`);
    out.jobsNamespace = ns;
  }
  if (cloneUrl !== undefined) {
    let url: URL;
    try {
      url = new URL(String(cloneUrl));
    } catch {
      throw new UsageError(`--clone-url takes a URL like http://10.0.0.5:7700, not '${String(cloneUrl).slice(0, 80)}'`);
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password || url.search || url.hash) {
      throw new UsageError(`--clone-url takes an http(s) URL without credentials, query or fragment, like http://10.0.0.5:7700, not '${String(cloneUrl).slice(0, 80)}'`);
    }
    out.cloneUrl = url.toString().replace(/\/+$/, '');
  }
  return out;
}

export const server: Command = async (argv: string[], io: CliIO): Promise<number> => {
  let flags;
  try {
    flags = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        data: { type: 'string' },
        database: { type: 'string' },
        concurrency: { type: 'string' },
        'no-auto-create': { type: 'boolean' },
        'retry-interrupted': { type: 'boolean' },
        registry: { type: 'string' },
        poll: { type: 'string', multiple: true },
        'poll-interval': { type: 'string' },
        'log-retention': { type: 'string' },
        'preview-ttl': { type: 'string' },
        'replica-timeout': { type: 'string' },
        'warm-containers': { type: 'string' },
        executor: { type: 'string' },
        'jobs-namespace': { type: 'string' },
        'jobs-schedule-timeout': { type: 'string' },
        'clone-url': { type: 'string' },
        'log-level': { type: 'string' },
        config: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (flags.help) {
    io.stdout.write(HELP);
    return EXIT_OK;
  }
  let file: FileConfig = {};
  if (flags.config) {
    try {
      const parsed: unknown = parseYaml(await readFile(path.resolve(io.cwd, flags.config), 'utf8'));
      if (typeof parsed !== 'object' || parsed === null) throw new Error('not a mapping');
      file = parsed as FileConfig;
    } catch (err) {
      io.stderr.write(`slipway server: --config ${flags.config}: ${(err as Error).message}\n`);
      return EXIT_USAGE;
    }
  }
  const env = io.env;
  const pick = <K extends keyof FileConfig>(flag: string | boolean | undefined, envName: string, key: K): string | number | boolean | undefined =>
    flag ?? env[envName] ?? file[key];
  const config: ServerConfig = {
    port: toInt(pick(flags.port, 'SLIPWAY_PORT', 'port'), '--port', 7700),
    host: String(pick(flags.host, 'SLIPWAY_HOST', 'host') ?? '0.0.0.0'),
    dataDir: path.resolve(io.cwd, String(pick(flags.data, 'SLIPWAY_DATA', 'data') ?? 'slipway-data')),
    concurrency: toInt(pick(flags.concurrency, 'SLIPWAY_CONCURRENCY', 'concurrency'), '--concurrency', os.cpus().length),
    allowAutoCreate: flags['no-auto-create'] ? false : toBool(env.SLIPWAY_AUTO_CREATE ?? file.autoCreate, true),
    retryInterrupted: flags['retry-interrupted'] ? true : toBool(env.SLIPWAY_RETRY_INTERRUPTED ?? file.retryInterrupted, false),
    warmContainers: toInt(pick(flags['warm-containers'], 'SLIPWAY_WARM_CONTAINERS', 'warmContainers'), '--warm-containers', 1),
  };
  const database = pick(flags.database, 'SLIPWAY_DATABASE_URL', 'database');
  if (database !== undefined) config.database = String(database);
  const registry = pick(flags.registry, 'SLIPWAY_PUBLIC_REGISTRY', 'registry');
  if (registry !== undefined) config.publicRegistry = String(registry);
  try {
    config.poll = (flags.poll ?? []).map(parsePollTarget);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  Object.assign(config, executorConfig(pick(flags.executor, 'SLIPWAY_EXECUTOR', 'executor'), pick(flags['jobs-namespace'], 'SLIPWAY_JOBS_NAMESPACE', 'jobsNamespace'), pick(flags['clone-url'], 'SLIPWAY_CLONE_URL', 'cloneUrl')));
  for (const setting of DURATION_SETTINGS) {
    const ms = durationSetting(pick(flags[setting.name], setting.envName, setting.key), { flag: `--${setting.name}`, ...setting.rule });
    if (ms !== undefined) config[setting.into] = ms;
  }
  const logLevel = pick(flags['log-level'], 'SLIPWAY_LOG_LEVEL', 'logLevel') ?? 'info';
  if (!isLogLevel(logLevel)) throw new UsageError(`--log-level takes one of ${LOG_LEVELS.join(', ')}, not '${String(logLevel)}'`);

  const { startServer, checkAdminSecret, AdminTokenError } = await import('../server/index.js');
  const asUsageError = (err: unknown): never => {
    throw err instanceof AdminTokenError ? new UsageError(err.message) : err;
  };
  // before anything is logged or made on disk: a bad admin token is the one line the user sees
  await checkAdminSecret(config.dataDir, env).catch(asUsageError);

  const logger = createLogger({ level: logLevel, output: io.stderr });
  logger.info(
    {
      port: config.port,
      host: config.host,
      data: config.dataDir,
      database: hideSecrets(config.database),
      concurrency: config.concurrency,
      autoCreate: config.allowAutoCreate,
      retryInterrupted: config.retryInterrupted,
      warmContainers: config.warmContainers,
      executor: config.executor ?? 'docker',
      ...(config.executor === 'kubernetes' || config.jobsNamespace ? { jobsNamespace: config.jobsNamespace ?? 'slipway-jobs' } : {}),
      ...(config.cloneUrl ? { cloneUrl: config.cloneUrl } : {}),
      logLevel,
    },
    'config',
  );
  const running = await startServer(config, env, logger).catch(asUsageError);
  if (running.adminToken.created) {
    io.stdout.write(`admin token (shown once; kept in ${path.join(config.dataDir, 'admin-token')}):\n  ${running.adminToken.secret}\n`);
  }
  io.stdout.write(`slipway server listening on ${running.url} (git: ${running.url}/git/<project>.git, registry: ${running.url.replace(/^http:\/\//, '')})\n`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      logger.info({ signal }, `${signal}: stopping (running runs are cancelled and marked)`);
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void running.close().then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return EXIT_OK;
};

/** What a duration setting accepts. */
export interface DurationRule {
  /** the flag, as errors name it */
  flag: string;
  minMs?: number;
  maxMs?: number;
  /** `0` is accepted too (none, at once) */
  zero?: boolean;
  /** whole days (`30d`) as well as what the pipeline file takes (`72h`, `90s`) */
  days?: boolean;
  /** what a usage error says the flag takes */
  accepts: string;
}

/** A duration flag, variable or config key, checked: undefined when unset, a usage error (exit 2) when out of its bounds. */
export function durationSetting(value: ConfigValue, rule: DurationRule): number | undefined {
  if (value === undefined) return undefined;
  const text = String(value).trim();
  const days = rule.days ? /^(\d{1,5})d$/.exec(text) : null;
  const ms = rule.zero && text === '0' ? 0 : days ? Number(days[1]) * 86_400_000 : parseDuration(text);
  const inBounds = ms !== undefined && ((rule.zero && ms === 0) || ((rule.minMs === undefined || ms >= rule.minMs) && (rule.maxMs === undefined || ms <= rule.maxMs)));
  if (!inBounds) throw new UsageError(`${rule.flag} takes ${rule.accepts}, not '${text.slice(0, 80)}'`);
  return ms;
}
