// `slipway server`: one process serving the API, webhooks, git hosting and the registry, and
// running the queued runs. Configuration: flags over environment over a config file.
import { createServer, type Server } from 'node:http';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadSecretKey, openStore, type Store } from '../store/index.js';
import { ChangeFeed, observeChanges } from './changes.js';
import { Previews } from './previews.js';
import { checkTokenSecret } from '../store/tokens.js';
import { createRegistry, type Registry } from '../registry/index.js';
import { connectDocker, DockerExecutor, ExecutorChoice, type ExecutorName } from '../executors/index.js';
import { CheckoutTokens, checkoutUrl } from './checkout.js';
import { ownerIdentity } from '../executors/docker/labels.js';
import { DockerImageBuilder } from '../build/index.js';
import { createTarget, type TargetName } from '../deploy/targets.js';
import { RevisionStore, type DeployTarget, type RegistryPullAccess } from '../deploy/index.js';
import { GitHosting } from './git.js';
import { Runner } from './runs/index.js';
import { createApp } from './app.js';
import { Metrics } from './metrics.js';
import { recordGitPush } from './git-push.js';
import { Poller, type PollTarget } from './poller.js';
import { Scheduler, systemClock, type SchedulerClock } from './scheduler.js';
import { messageLog, toLogger, type ServerLog } from './logger.js';
import { hasScope, verifiedTokenOf } from './auth.js';
import { adminTokenFile, ensureAdminToken, holdRequestsUntilReady, readSecretFile } from '../http/index.js';

/** How long the credential of a Kubernetes image pull secret lives; it is renewed at half of it. */
const PULL_CREDENTIAL_TTL_MS = 24 * 3_600_000;

export interface ServerConfig {
  port: number;
  host: string;
  dataDir: string;
  /** undefined: SQLite in the data directory */
  database?: string;
  /** concurrent runs of this server */
  concurrency: number;
  /** a push to an unknown project creates it */
  allowAutoCreate: boolean;
  retryInterrupted: boolean;
  /** the registry host runs push built images to; default: this server */
  publicRegistry?: string;
  /** git remotes polled for new commits */
  poll?: PollTarget[];
  pollIntervalMs?: number;
  /** logs of runs finished longer ago are deleted (checked at start and hourly); undefined: kept */
  logRetentionMs?: number;
  /** started job containers kept ready per recently used image, so a run starts without waiting for one; 0: none */
  warmContainers?: number;
  /** the built web UI served at / (index.html, assets/); default dist/ui beside the compiled server */
  uiDir?: string;
  /** runs of `on.schedule`; default true (tests that start many servers may turn them off) */
  schedules?: boolean;
  /** the time schedules fire by; default the system's (tests move a clock of their own) */
  scheduleClock?: SchedulerClock;
  /** a pull request's preview environment not deployed to for this long is taken down; default 7 days */
  previewTtlMs?: number;
  /** where jobs without `runs-on` run; default docker */
  executor?: ExecutorName;
  /** the namespace job Pods run in; default slipway-jobs */
  jobsNamespace?: string;
  /** how long a job Pod no node fits waits for one; default 3 minutes */
  jobsScheduleTimeoutMs?: number;
  /** how job Pods reach this server, for their checkout; without it the workspace is copied in */
  cloneUrl?: string;
  /** a replica whose heartbeat is silent this long is taken as gone by the others; default 2 minutes */
  replicaTimeoutMs?: number;
}

export interface RunningServer {
  url: string;
  port: number;
  adminToken: { secret: string; created: boolean };
  store: Store;
  runner: Runner;
  /** applies the log retention now; what it removed */
  pruneLogs(): Promise<{ runs: number; lines: number }>;
  close(): Promise<void>;
}

/** An admin token the store would refuse (too short, blanks in it): the server's configuration is wrong. */
export class AdminTokenError extends Error {
  readonly code = 'SERVER_ADMIN_TOKEN_INVALID';
}

/**
 * Refuses the admin token that SLIPWAY_ADMIN_TOKEN or an existing DATA/admin-token holds when the
 * store would refuse it, by the store's own rule; reads only, so it runs before anything is made on disk.
 */
export async function checkAdminSecret(dataDir: string, env: NodeJS.ProcessEnv): Promise<void> {
  const file = adminTokenFile(dataDir);
  let secret = env.SLIPWAY_ADMIN_TOKEN;
  let source = 'SLIPWAY_ADMIN_TOKEN';
  let fix = 'set it to a good one, e.g. `openssl rand -hex 32`';
  if (!secret) {
    secret = await readSecretFile(file);
    if (secret === undefined) return; // none yet: ensureAdminToken makes one
    source = file;
    fix = 'write a good one there (e.g. `openssl rand -hex 32`) or delete the file for a new one';
  }
  try {
    checkTokenSecret(secret);
  } catch (err) {
    // the store's message names the rule; the variable is named here already
    const rule = (err as Error).message.replace(/\s*\(SLIPWAY_ADMIN_TOKEN too\)$/, '');
    throw new AdminTokenError(`${source} (${secret.length} characters) is refused: ${rule}; ${fix}`);
  }
}

/**
 * Starts the server. `serverLog` is its logger (`createLogger`), or a plain function that gets each
 * line as text (message, fields, stack), as tests pass.
 */
export async function startServer(config: ServerConfig, env: NodeJS.ProcessEnv, serverLog: ServerLog): Promise<RunningServer> {
  const logger = toLogger(serverLog);
  // the modules below take a message callback; theirs are at info, a stack trace at error
  const log = messageLog(logger);
  // a token the store would refuse stops the start before a data directory is half made
  await checkAdminSecret(config.dataDir, env);
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const changes = new ChangeFeed();
  // every write that moves a run or an environment tells the web UI's open pages (GET /api/events)
  // one key: the store encrypts secrets with it, checkout tokens are signed with a key derived from it
  const secretKey = await loadSecretKey(config.dataDir, env);
  const store = observeChanges(await openStore(config.database, config.dataDir, { env, secretKey }), changes);
  const admin = await ensureAdminToken(adminTokenFile(config.dataDir), env);
  if (!(await store.verifyToken(admin.secret))) await store.createToken({ name: 'admin', scopes: ['admin'], secret: admin.secret });

  const reposDir = path.join(config.dataDir, 'git');
  const registry: Registry = createRegistry({
    dataDir: path.join(config.dataDir, 'registry'),
    onChange: (repository) => changes.publish({ kind: 'registry', repository }),
    auth: { verifier: { verify: async (secret: string) => store.verifyToken(secret).then((t) => (t ? { scopes: t.scopes } : undefined)) } },
    log,
  });
  const docker = await connectDocker();
  const deployDataDir = path.join(config.dataDir, 'deploy');
  const deployTargets = new Map<string, Promise<DeployTarget>>();
  // known once the server listens: the host image references name this registry by
  let registryHost = '';
  // a cluster's nodes pull images of this registry with a pull-only credential for their repository
  const registryAccess: RegistryPullAccess = {
    get host() {
      return registryHost;
    },
    pullCredential: (repository) => registry.pullCredential(repository, PULL_CREDENTIAL_TTL_MS),
  };
  // one target per kind, shared by run deploys and API rollouts
  const deployTarget = (name: TargetName): Promise<DeployTarget> => {
    let target = deployTargets.get(name);
    if (!target) {
      target = createTarget(name, { dataDir: deployDataDir, registry: registryAccess });
      deployTargets.set(name, target);
    }
    return target;
  };
  const previews = new Previews({
    store,
    targets: deployTarget,
    log,
    ...(config.previewTtlMs !== undefined ? { ttlMs: config.previewTtlMs } : {}),
    onRemoved: (preview) => changes.publish({ kind: 'environment', app: preview.app, environment: preview.environment }),
  });
  const server: Server = createServer({ requestTimeout: 0 });
  // the port is known only once listening, and the app needs it (image references name this registry)
  const answerWith = holdRequestsUntilReady(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, resolve);
  });
  const port = (server.address() as { port: number }).port;
  registryHost = config.publicRegistry ?? `127.0.0.1:${port}`;
  const publicUrl = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;

  const executor = jobExecutors(config, docker, log);
  // a server whose jobs run as Pods by default cannot run them without its cluster: say so now
  if (config.executor === 'kubernetes') await executor.executor('kubernetes');
  const checkouts = new CheckoutTokens(secretKey.key);
  const runner = new Runner({
    store,
    dataDir: config.dataDir,
    reposDir,
    executor,
    builder: new DockerImageBuilder(docker),
    registry: { host: registryHost, credentials: { username: 'slipway', password: admin.secret, serveraddress: registryHost } },
    deployTargets: deployTarget,
    concurrency: config.concurrency,
    // host/pid/start time: a restarted server can tell its dead predecessor's runs from a live replica's
    workerId: ownerIdentity,
    retryInterrupted: config.retryInterrupted,
    ...(config.replicaTimeoutMs !== undefined ? { replicaTimeoutMs: config.replicaTimeoutMs } : {}),
    publicUrl,
    ...(config.cloneUrl ? { checkout: (project: string, commit: string) => ({ url: checkoutUrl(config.cloneUrl!, project, commit), token: checkouts.mint(project, commit) }) } : {}),
    logger,
  });

  const git = new GitHosting({
    reposDir,
    authenticate: async (req) => {
      const token = await verifiedTokenOf(store, req);
      return token ? { name: token.name, canRead: true, canWrite: hasScope(token, 'run') } : undefined;
    },
    canCreate: async (project, who) => {
      if (await store.getProject(project)) return true;
      if (!config.allowAutoCreate) return false;
      await store.createProject({ name: project, allowAutoCreate: true });
      await store.appendAudit({ actor: who, action: 'project.create', subject: project, details: { via: 'git push' } });
      return true;
    },
    onPush: async (projectName, updates, who) => {
      const project = (await store.getProject(projectName)) ?? (await store.createProject({ name: projectName }));
      // branches and tags run their pipelines; refs/for/BRANCH opens a pull request run
      return recordGitPush({ store, runner, reposDir, log, publicUrl, wake: () => runner.wake() }, project, updates, who);
    },
    checkouts,
    log,
  });

  const metrics = new Metrics();
  metrics.follow(runner.hub);
  const app = await createApp({
    store,
    runner,
    git,
    registry,
    registryHost,
    metrics,
    log,
    logger,
    reposDir,
    deployDataDir,
    changes,
    previews,
    // the runner's cache of targets: API rollouts and run deploys go through the same ones
    deployTargets: deployTarget,
    ...(config.uiDir ? { uiDir: config.uiDir } : {}),
  });
  answerWith(app);
  /**
   * Stops the runs and lets go of the port, the engine connections and the database: every step
   * is taken even when one before it failed, and the first failure is thrown at the end.
   */
  const release = async (): Promise<void> => {
    const steps: Array<() => unknown> = [
      () => runner.stop(),
      () => executor.close(),
      () => registry.close(),
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
      () => store.close(),
    ];
    const failures: unknown[] = [];
    for (const step of steps) await Promise.resolve().then(step).catch((err: unknown) => failures.push(err));
    if (failures.length > 0) throw failures[0];
  };
  try {
    await runner.start();
  } catch (err) {
    // a server that cannot start lets go of what it holds, so that its process can end
    await release().catch(() => undefined);
    throw err;
  }
  const poller = new Poller({ store, reposDir, targets: config.poll ?? [], intervalMs: config.pollIntervalMs ?? 60_000, onQueued: () => runner.wake(), log });
  poller.start();
  const scheduler = new Scheduler({ store, reposDir, clock: config.scheduleClock ?? systemClock, onQueued: () => runner.wake(), log });
  if (config.schedules !== false) scheduler.start();
  previews.start();
  const pruneLogs = async (): Promise<{ runs: number; lines: number }> => {
    if (config.logRetentionMs === undefined) return { runs: 0, lines: 0 };
    const removed = await store.deleteLogsBefore(Date.now() - config.logRetentionMs);
    if (removed.runs > 0) log(`log retention: removed the logs of ${removed.runs} runs (${removed.lines} lines)`);
    return removed;
  };
  // pull secrets are renewed at half their lifetime: checked at start and hourly, so that nodes can
  // pull while the server runs however long ago the last deploy was
  const renewCredentials = async (): Promise<void> => {
    // a server that never deployed to kubernetes does not load its client (a second of CPU) for this
    if (!deployTargets.has('kubernetes') && !(await new RevisionStore(deployDataDir).latestOfEach()).some((r) => r.target === 'kubernetes')) return;
    // the kubernetes target connects to its cluster only for an environment running an image of this registry
    await (await deployTarget('kubernetes')).renewCredentials?.((message) => logger.warn(message));
  };
  void renewCredentials().catch((err: unknown) => logger.warn(`renewing pull secrets: ${(err as Error).message}`));
  const renewal = setInterval(() => void renewCredentials().catch((err: unknown) => logger.warn(`renewing pull secrets: ${(err as Error).message}`)), 3_600_000);
  renewal.unref();
  let retention: NodeJS.Timeout | undefined;
  if (config.logRetentionMs !== undefined) {
    await pruneLogs();
    retention = setInterval(() => void pruneLogs().catch((err: unknown) => logger.warn(`log retention: ${(err as Error).message}`)), 3_600_000);
    retention.unref();
  }

  return {
    url: publicUrl,
    port,
    adminToken: admin,
    store,
    runner,
    pruneLogs,
    async close() {
      if (retention) clearInterval(retention);
      clearInterval(renewal);
      poller.stop();
      // a round going on finishes before the store closes under it
      await scheduler.stop();
      previews.stop();
      await release();
    },
  };
}

/**
 * The executors of the server's jobs: docker (warm containers), and kubernetes from the server's
 * kubeconfig, made when the first job asks for it (or at start with --executor kubernetes). A
 * fresh kubernetes executor reaps the Pods a killed server left before it runs anything.
 */
function jobExecutors(config: ServerConfig, docker: Awaited<ReturnType<typeof connectDocker>>, log: (message: string) => void): ExecutorChoice {
  const dockerExecutor = new DockerExecutor(docker, { warmContainers: config.warmContainers ?? 1, log });
  return new ExecutorChoice(config.executor ?? 'docker', {
    docker: async () => dockerExecutor,
    kubernetes: async (gone) => {
      const { KubernetesExecutor } = await import('../executors/kubernetes/index.js');
      const executor = KubernetesExecutor.fromEnvironment({
        ...(config.jobsNamespace ? { namespace: config.jobsNamespace } : {}),
        ...(config.jobsScheduleTimeoutMs !== undefined ? { scheduleTimeoutMs: config.jobsScheduleTimeoutMs } : {}),
        log,
      });
      const reaped = await executor.reapOrphans(gone);
      if (reaped.containers > 0) log(`removed ${reaped.containers} job Pods interrupted runs left`);
      return executor;
    },
  });
}
