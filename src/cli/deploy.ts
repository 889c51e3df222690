// `slipway deploy ENV --image REF`: a rollout outside a pipeline, on this machine or, with
// SLIPWAY_URL, on the server. The deploy block of slipway.yaml for ENV (when there is one) gives
// the defaults; flags override it. Also the helpers the other deploy commands (rollback, history,
// status) share, local and remote.
import path from 'node:path';
import { existsSync } from 'node:fs';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, parseCommandLine, UsageError, type CliIO, type Command } from './io.js';
import { formatDiagnostic, loadPipeline, makeTemplate, parseDuration, type DeploySpec } from '../spec/index.js';
import { openDeployDataDir } from './deploy-state.js';
import { DEFAULT_DEPLOY_SPEC, DeployError, deployRequestBody, describeUnchanged, RevisionStore, type DeployTarget } from '../deploy/index.js';
import { createTarget } from '../deploy/targets.js';
import { DockerDeployTarget } from '../deploy/docker/index.js';
import type { Outcome, Rollout } from '../api/index.js';
import { isRemote, RemoteClient } from './remote.js';

const HELP = `usage: slipway deploy ENV --image REF [options]

Rolls IMAGE out to environment ENV of an app on this machine (docker target): N replicas behind
Slipway's proxy on one stable port, a rolling update that waits for health checks, and an
automatic rollback when the new revision does not become healthy. The deploy block of
slipway.yaml for ENV gives the defaults; flags override it.

A deploy whose image (by digest: a tag moved to another image is a change) and config equal the
current revision's changes nothing: it says so, adds no revision and exits 0. --force rolls it
out anyway as a new revision, restarting the replicas.

slipway deploy ENV --sync applies the current revision of ENV again as its history records it
(kubernetes): what was changed by hand (kubectl scale, set env, set image, edit — see slipway
status) is put back, and no revision is added.

With SLIPWAY_URL set (or --remote) the rollout is done by that server (token: $SLIPWAY_TOKEN, with
the deploy scope) with its own targets, and its progress is shown here as it goes.

options:
      --image REF             the image to roll out (required unless slipway.yaml names a fixed one)
      --app NAME              the app (default: slipway.yaml's name, else this folder's name)
      --replicas N            replicas to run (default 1)
      --port P                the container's port (default 8080)
      --publish P             the proxy's host port (default: chosen once, kept; see slipway status)
      --health-path PATH      HTTP health check: GET PATH must answer 2xx/3xx
      --health-tcp            TCP health check: the port accepts connections (the default check)
      --health-cmd CMD        health check command run in the container with sh -c; exit 0 = healthy
      --health-interval D     time between checks (default 1s)
      --health-timeout D      a check's timeout (default 5s)
      --healthy N             passing checks in a row to be healthy (default 2)
      --unhealthy N           failing checks in a row to be unhealthy (default 3)
      --start-period D        failures in this time after start do not count (default 0s)
      --max-surge N           replicas above the desired count during a rollout (default 1)
      --max-unavailable N     replicas below it (default 0)
      --progress-deadline D   roll back when no new replica becomes healthy for this long (default 60s)
      --no-auto-rollback      on failure, do not report a rollback (the environment still keeps
                              serving its current revision)
      --force                 roll out a new revision even when nothing changed (restarts the replicas)
      --sync                  apply the current revision again, putting back what drifted (no new
                              revision; takes no image or deploy flags)
  -f, --file FILE             the pipeline file to read the deploy block from (default: slipway.yaml)
      --target NAME           docker (default) or kubernetes (the cluster of $KUBECONFIG); default:
                              the deploy block's target
      --data DIR              the deploy data directory (default: $SLIPWAY_STATE_DIR/deploy, else
                              $XDG_STATE_HOME/slipway/deploy; see docs/deploy-docker.md)
      --json                  print the outcome as JSON on stdout
      --remote                on the server of $SLIPWAY_URL (the default when it is set)
      --local                 on this machine even when $SLIPWAY_URL is set
  -h, --help                  this help

exit codes: 0 the new revision is healthy (or nothing changed), 1 the rollout failed (rolled
back), 2 bad usage
`;

export function dockerTarget(dataDir: string): DockerDeployTarget {
  return new DockerDeployTarget({ dataDir });
}

/** The target an environment is deployed with; both keep their revisions in the same data directory. */
export async function targetFor(name: 'docker' | 'kubernetes', dataDir: string): Promise<DeployTarget> {
  return name === 'docker' ? dockerTarget(dataDir) : createTarget(name, { dataDir });
}

/** The target of an environment's newest revision (docker when it has none). */
export async function targetOfEnvironment(dataDir: string, app: string, environment: string): Promise<'docker' | 'kubernetes'> {
  return (await new RevisionStore(dataDir).list(app, environment)).at(-1)?.target ?? 'docker';
}

/** Progress lines: plain and timestamped (a rollout is a list of steps, not a tree). */
export function progressPrinter(io: CliIO): (line: string) => void {
  return (line) => {
    const time = new Date().toISOString().slice(11, 19);
    io.stdout.write(`${time} ${line}\n`);
  };
}

/** An expected failure users see: a message and an exit code, never a stack trace. */
export function reportDeployError(err: unknown, io: CliIO, command: string): number {
  if (err instanceof DeployError) {
    io.stderr.write(`slipway ${command}: ${err.message} (${err.code})\n`);
    return err.code === 'ROLLOUT_INVALID' || err.code === 'ROLLOUT_NO_REVISION' ? EXIT_USAGE : EXIT_FAILED;
  }
  const code = (err as { code?: string }).code;
  if (code === 'EXECUTOR_ENGINE_UNREACHABLE') {
    io.stderr.write(`slipway ${command}: ${(err as Error).message}\n`);
    return EXIT_FAILED;
  }
  throw err;
}

export function reportOutcome(outcome: Outcome, io: CliIO, json: boolean, endpoint?: string): number {
  const { revision } = outcome;
  if (json) io.stdout.write(`${JSON.stringify(outcome, null, 2)}\n`);
  else if (outcome.sync && outcome.outcome === 'healthy') {
    const { corrected } = outcome.sync;
    const what = corrected.length > 0 ? `put back ${corrected.map((f) => (f.path ? `${f.object} ${f.path}` : f.object)).join(', ')}` : 'nothing had drifted';
    io.stdout.write(`${revision.app}/${revision.environment}: revision ${revision.number} (${revision.image}) applied again; ${what}${endpoint ? `; it serves at ${endpoint}` : ''}\n`);
  } else if (outcome.outcome === 'unchanged') {
    io.stdout.write(`${revision.app}/${revision.environment}: ${describeUnchanged(revision)}${endpoint ? `; it serves at ${endpoint}` : ''}\n`);
  } else if (outcome.outcome === 'healthy') {
    io.stdout.write(`${revision.app}/${revision.environment}: revision ${revision.number} (${revision.image}) is healthy${endpoint ? ` at ${endpoint}` : ''}\n`);
  }
  if (outcome.outcome !== 'healthy' && outcome.outcome !== 'unchanged') {
    const what = outcome.outcome === 'rolled-back' ? 'failed and was rolled back' : 'failed';
    io.stderr.write(`${revision.app}/${revision.environment}: revision ${revision.number} (${revision.image}) ${what}\n${outcome.reason ?? ''}\n`);
    return EXIT_FAILED;
  }
  return EXIT_OK;
}

/** The flags every deploy command shares: where (this machine or the server) and how to print. */
export const WHERE_OPTIONS = {
  data: { type: 'string' },
  json: { type: 'boolean' },
  remote: { type: 'boolean' },
  local: { type: 'boolean' },
} as const;

/** `--data` names a local folder: with a server it would be silently ignored, so it is refused. */
export function refuseDataFlag(data: string | undefined): void {
  if (data !== undefined) throw new UsageError("--data is the deploy data of this machine; the server uses its own (unset SLIPWAY_URL or add --local to work here)");
}

/**
 * Prints a server rollout's (or scale's) progress lines as they come and answers how it ended;
 * Ctrl-C cancels it on the server and keeps following to the end.
 */
export async function followToEnd(client: RemoteClient, started: Rollout, io: CliIO, json: boolean, what: 'rollout' | 'scale'): Promise<Rollout> {
  const say = json ? () => undefined : progressPrinter(io);
  let ended: Rollout | undefined;
  const params = { id: started.id };
  await client.cancelOnInterrupt(`${what} ${started.id}`, () => client.call('cancelRollout', { params }), () =>
    client.follow(client.pathOf('getRollout', { params }), (event) => {
      if (event.event === 'progress') say((JSON.parse(event.data) as { line: string }).line);
      else if (event.event === 'end') {
        ended = JSON.parse(event.data) as Rollout;
        return true;
      }
      return false;
    }),
  );
  if (!ended) throw new Error(`${what} ${started.id} ended without an outcome`);
  return ended;
}

/**
 * Follows a rollout the server accepted: its progress lines as they come, then the same outcome
 * lines and exit codes as a rollout on this machine. Ctrl-C cancels the rollout on the server
 * (which restores the serving revision) and follows it to its outcome, as a local deploy does.
 */
export async function followRollout(client: RemoteClient, started: Rollout, io: CliIO, json: boolean, command: string): Promise<number> {
  const ended = await followToEnd(client, started, io, json, 'rollout');
  if (ended.status === 'error' || !ended.outcome) {
    const code = ended.error?.code ?? 'INTERNAL';
    io.stderr.write(`slipway ${command}: ${ended.error?.message ?? 'the rollout ended without an outcome'} (${code})\n`);
    return code === 'ROLLOUT_INVALID' || code === 'ROLLOUT_NO_REVISION' ? EXIT_USAGE : EXIT_FAILED;
  }
  return reportOutcome(ended.outcome, io, json, ended.endpoint);
}

function integer(value: string | undefined, flag: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${flag} takes a whole number from ${min} to ${max}, not '${value}'`);
  return n;
}

function duration(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDuration(value);
  if (ms === undefined) throw new UsageError(`${flag} takes a duration such as 500ms, 2s or 1m, not '${value}'`);
  return ms;
}

export const deploy: Command = async (argv, io) => {
  const parsed = parseCommandLine(
    argv,
    {
    image: { type: 'string' },
    app: { type: 'string' },
    replicas: { type: 'string' },
    port: { type: 'string' },
    publish: { type: 'string' },
    'health-path': { type: 'string' },
    'health-tcp': { type: 'boolean' },
    'health-cmd': { type: 'string' },
    'health-interval': { type: 'string' },
    'health-timeout': { type: 'string' },
    healthy: { type: 'string' },
    unhealthy: { type: 'string' },
    'start-period': { type: 'string' },
    'max-surge': { type: 'string' },
    'max-unavailable': { type: 'string' },
    'progress-deadline': { type: 'string' },
    'no-auto-rollback': { type: 'boolean' },
    force: { type: 'boolean' },
    sync: { type: 'boolean' },
    file: { type: 'string', short: 'f' },
    target: { type: 'string' },
    ...WHERE_OPTIONS,
    },
    HELP,
    { min: 1, max: 1, what: 'environment name' },
  );
  const v = parsed.values;
  if (v.help) {
    io.stdout.write(HELP);
    return EXIT_OK;
  }
  const remote = isRemote(io, v);
  if (remote) refuseDataFlag(v.data);
  const environment = parsed.positionals[0] ?? '';

  // The pipeline file's deploy block for this environment, when there is one.
  const file = path.resolve(io.cwd, v.file ?? 'slipway.yaml');
  let base: DeploySpec | undefined;
  let appName: string | undefined;
  if (v.file !== undefined || existsSync(file)) {
    const loaded = await loadPipeline(file, { displayName: v.file ?? 'slipway.yaml' });
    if (!loaded.pipeline) {
      io.stderr.write(loaded.diagnostics.map((d) => `${formatDiagnostic(d)}\n`).join(''));
      return EXIT_USAGE;
    }
    appName = loaded.pipeline.name;
    for (const job of loaded.pipeline.jobs) if (job.kind === 'deploy' && job.deploy.environment === environment) base = job.deploy;
  }
  if (v.sync) return syncEnvironment(io, { app: v.app ?? appName ?? path.basename(io.cwd), environment, remote, data: v.data, json: v.json === true, others: rolloutFlags(v) });
  if (v.target !== undefined && v.target !== 'docker' && v.target !== 'kubernetes') throw new UsageError(`--target is docker or kubernetes, not '${v.target}'`);
  const targetName: 'docker' | 'kubernetes' = (v.target as 'docker' | 'kubernetes' | undefined) ?? base?.target ?? 'docker';
  const image = v.image ?? (base?.image.isLiteral ? base.image.source : undefined);
  if (!image) throw new UsageError(`--image REF is required${base ? ` (the deploy block's image '${base.image.source}' is rendered only in a pipeline run)` : ''}\n\n${HELP}`);
  const app = v.app ?? appName ?? path.basename(io.cwd);

  const spec0 = base ?? { ...DEFAULT_DEPLOY_SPEC, environment, image: makeTemplate(image, { file: '<flags>', line: 0, col: 0 }) };
  const healthFlag = v['health-path'] !== undefined || v['health-tcp'] || v['health-cmd'] !== undefined;
  const health = { ...spec0.health };
  if (healthFlag) {
    delete health.path;
    delete health.tcp;
    delete health.cmd;
    if (v['health-path'] !== undefined) {
      if (!v['health-path'].startsWith('/')) throw new UsageError(`--health-path takes a path starting with /, not '${v['health-path']}'`);
      health.path = v['health-path'];
    }
    if (v['health-cmd'] !== undefined) health.cmd = v['health-cmd'];
    if (v['health-tcp']) health.tcp = true;
  }
  health.intervalMs = duration(v['health-interval'], '--health-interval') ?? health.intervalMs;
  health.timeoutMs = duration(v['health-timeout'], '--health-timeout') ?? health.timeoutMs;
  health.startPeriodMs = duration(v['start-period'], '--start-period') ?? health.startPeriodMs;
  health.healthy = integer(v.healthy, '--healthy', 1, 100) ?? health.healthy;
  health.unhealthy = integer(v.unhealthy, '--unhealthy', 1, 100) ?? health.unhealthy;
  const publish = integer(v.publish, '--publish', 1, 65535) ?? spec0.publish;
  const spec: DeploySpec = {
    ...spec0,
    target: targetName,
    environment,
    replicas: integer(v.replicas, '--replicas', 1, 100) ?? spec0.replicas,
    port: integer(v.port, '--port', 1, 65535) ?? spec0.port,
    ...(publish !== undefined ? { publish } : {}),
    health,
    strategy: {
      maxSurge: integer(v['max-surge'], '--max-surge', 0, 100) ?? spec0.strategy.maxSurge,
      maxUnavailable: integer(v['max-unavailable'], '--max-unavailable', 0, 100) ?? spec0.strategy.maxUnavailable,
      progressDeadlineMs: duration(v['progress-deadline'], '--progress-deadline') ?? spec0.strategy.progressDeadlineMs,
      autoRollback: v['no-auto-rollback'] ? false : spec0.strategy.autoRollback,
    },
  };

  if (remote) {
    const client = RemoteClient.fromEnv(io, 'deploy');
    const started = await client.call('deploy', { params: { app, env: environment }, body: deployRequestBody(spec, image, v.force === true) });
    return followRollout(client, started, io, v.json === true, 'deploy');
  }

  const target = await targetFor(targetName, await openDeployDataDir(v.data, io));
  const controller = new AbortController();
  const onSigint = (): void => controller.abort();
  process.once('SIGINT', onSigint);
  try {
    const outcome = await target.deploy({
      app,
      environment,
      spec,
      image,
      ...(v.force ? { force: true } : {}),
      trigger: { by: io.env.USER ?? 'cli', kind: 'deploy' },
      signal: controller.signal,
      onProgress: v.json ? () => undefined : progressPrinter(io),
    });
    const serving = outcome.outcome === 'healthy' || outcome.outcome === 'unchanged';
    const status = serving ? (await target.status(app, environment))[0] : undefined;
    return reportOutcome(outcome, io, v.json === true, status?.endpoint);
  } catch (err) {
    return reportDeployError(err, io, 'deploy');
  } finally {
    process.off('SIGINT', onSigint);
  }
};

/** The flags of `deploy` that describe a rollout: none of them goes with --sync. */
function rolloutFlags(values: Record<string, unknown>): string[] {
  const where = new Set(['app', 'file', 'sync', 'json', 'data', 'remote', 'local', 'help']);
  return Object.keys(values).filter((key) => !where.has(key) && values[key] !== undefined && values[key] !== false).map((key) => `--${key}`);
}

/**
 * `slipway deploy ENV --sync`: the current revision applied again as recorded, with the target it
 * was deployed with, on this machine or on the server (`{"sync": true}`).
 */
async function syncEnvironment(io: CliIO, o: { app: string; environment: string; remote: boolean; data: string | undefined; json: boolean; others: string[] }): Promise<number> {
  if (o.others.length > 0) throw new UsageError(`--sync applies the current revision as its history records it, so ${o.others.join(', ')} cannot go with it (deploy without --sync to roll out a new revision)`);
  if (o.remote) {
    const client = RemoteClient.fromEnv(io, 'deploy');
    const started = await client.call('deploy', { params: { app: o.app, env: o.environment }, body: { sync: true } });
    return followRollout(client, started, io, o.json, 'deploy');
  }
  const controller = new AbortController();
  const onSigint = (): void => controller.abort();
  process.once('SIGINT', onSigint);
  try {
    const dataDir = await openDeployDataDir(o.data, io);
    const newest = (await new RevisionStore(dataDir).list(o.app, o.environment)).at(-1);
    if (!newest) throw new DeployError('ROLLOUT_NO_REVISION', `${o.app}/${o.environment} has never been deployed from here, so there is nothing to sync`);
    const target = await targetFor(newest.target, dataDir);
    if (!target.sync) throw new DeployError('ROLLOUT_INVALID', `${o.app}/${o.environment} runs on the ${target.name} target, which keeps its replicas as the current revision says by itself (self-healing): there is nothing to sync`);
    const outcome = await target.sync({ app: o.app, environment: o.environment, by: io.env.USER ?? 'cli', signal: controller.signal, onProgress: o.json ? () => undefined : progressPrinter(io) });
    const status = outcome.outcome === 'healthy' ? (await target.status(o.app, o.environment))[0] : undefined;
    return reportOutcome(outcome, io, o.json, status?.endpoint);
  } catch (err) {
    return reportDeployError(err, io, 'deploy');
  } finally {
    process.off('SIGINT', onSigint);
  }
}
