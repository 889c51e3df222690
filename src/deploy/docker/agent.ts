// The deploy agent: the long-running process that owns a data directory's environments. It serves
// their proxies, supervises their replicas, runs rollouts, and answers the CLI and the server on a
// unix socket (DATA/agent.sock). Its state is in DATA/agent-state.json; a restarted agent adopts the
// replicas it finds by label and re-opens the proxies on their ports without redeploying.
import { link, mkdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { once } from 'node:events';
import path from 'node:path';
import type Docker from 'dockerode';
import { HttpError, readJson, sendJson } from '../../http/index.js';
import { connectDocker } from '../../executors/docker/client.js';
import { processIdentity } from '../../executors/docker/labels.js';
import { checkName, RevisionStore } from '../revisions.js';
import { DeployError, type DeployOutcome, type Revision } from '../types.js';
import type { DeployBody, RollbackBody, ScaleBody, StreamMessage } from './api.js';
import { Autoscaler } from './scaling.js';
import type { ScaleOutcome } from '../scale-events.js';
import { Environment } from './environment.js';
import { rolloutConfig } from './environment-rollouts.js';
import { agentId, LABEL_AGENT, LABEL_APP, LABEL_ENVIRONMENT, LABEL_REVISION } from './labels.js';
import { adoptReplica } from './replicas.js';
import { ensureImage } from './images.js';
import { DataPlaneContainers, LABEL_ROLE, ROLE_DATAPLANE } from './dataplane-containers.js';
import { Edge } from './edge.js';
import { EnvironmentRoutes } from './routes.js';
import { readState, writeState, type AgentState, type EnvironmentState, type RolloutConfig } from './state.js';

export interface AgentOptions {
  dataDir: string;
  /** the address proxies listen on; default 127.0.0.1 (SLIPWAY_DEPLOY_HOST) */
  host?: string;
  drainMs?: number;
  superviseIntervalMs?: number;
  log?: (line: string) => void;
  /**
   * The engine connection dropped (dockerd stopped or restarted). The agent's picture of its
   * replicas is void then; `slipway agent` exits and its supervisor starts a fresh one, which
   * adopts what the engine runs once it answers again.
   */
  onEngineLost?: () => void;
}

/** Another live agent holds the data directory's lock. */
export class AgentLockHeld extends DeployError {
  constructor(pid: number, dataDir: string) {
    super('ROLLOUT_TARGET_UNREACHABLE', `another deploy agent (pid ${pid}) already serves ${dataDir}`);
  }
}

/**
 * The largest request body the agent reads. Its requests are small JSON: names, a rollout config
 * (an image reference, counts, durations, a health path or command) and who triggered it — a few
 * KiB at most. Past this, 413 without reading on.
 */
export const AGENT_BODY_LIMIT_BYTES = 64 * 1024;

export function socketPath(dataDir: string): string {
  return path.join(dataDir, 'agent.sock');
}

export class Agent {
  private readonly environments = new Map<string, Environment>();
  private state: AgentState = { version: 1, environments: [] };
  private readonly api: http.Server;
  private supervisor: NodeJS.Timeout | undefined;
  private certificateRefresh: NodeJS.Timeout | undefined;
  private autoscaler: Autoscaler | undefined;
  private persisting: Promise<void> = Promise.resolve();
  private edgeChanges: Promise<void> = Promise.resolve();
  private readonly id: string;
  private readonly store: RevisionStore;
  private docker!: Docker;
  private planes!: DataPlaneContainers;
  private edge!: Edge;
  private engineEvents: (NodeJS.ReadableStream & { destroy?: () => void }) | undefined;
  private stopping = false;
  readonly closed: Promise<void>;
  private markClosed!: () => void;
  private readonly ready: Promise<void>;
  private markReady!: () => void;

  private constructor(private readonly options: AgentOptions) {
    this.id = agentId(options.dataDir);
    this.store = new RevisionStore(options.dataDir);
    this.api = http.createServer((req, res) => void this.route(req, res));
    this.closed = new Promise((resolve) => {
      this.markClosed = resolve;
    });
    this.ready = new Promise((resolve) => {
      this.markReady = resolve;
    });
  }

  private log(line: string): void {
    (this.options.log ?? ((l: string) => process.stdout.write(`${new Date().toISOString()} ${l}\n`)))(line);
  }

  static async start(options: AgentOptions): Promise<Agent> {
    const agent = new Agent(options);
    await agent.boot();
    return agent;
  }

  private async boot(): Promise<void> {
    const { dataDir } = this.options;
    await mkdir(dataDir, { recursive: true });
    await this.lock();
    // Answer at once (a supervisor's successor is "back" as soon as it holds the lock); requests
    // other than /ping wait until the environments are adopted.
    const sock = socketPath(dataDir);
    await unlink(sock).catch(() => undefined);
    this.api.listen(sock);
    await once(this.api, 'listening');
    this.docker = await connectDocker();
    this.state = await readState(dataDir);
    this.planes = new DataPlaneContainers(this.docker, this.id, dataDir, (line) => this.log(line));
    this.edge = new Edge(this.planes, { host: this.host });
    for (const envState of this.state.environments) this.environmentFor(envState);
    // The data plane kept serving while no agent ran; make sure it still runs (an engine restart
    // brings it back by itself, a `docker rm` does not) before adopting the replicas.
    await this.configureEdge();
    await this.adoptContainers();
    await this.persist();
    this.markReady();
    for (const env of this.environments.values()) {
      const interrupted = env.state.rollout;
      void env.recover(interrupted).catch((err: unknown) => this.log(`${env.key}: recovery failed: ${(err as Error).message}`));
    }
    await this.watchEngine();
    // renewed certificate files (certbot, say) reach the data plane without a deploy
    this.certificateRefresh = setInterval(() => void this.configureEdge().catch((err: unknown) => this.log(`edge: ${(err as Error).message}`)), 10 * 60_000);
    this.certificateRefresh.unref();
    this.supervisor = setInterval(() => {
      for (const env of this.environments.values()) void env.heal().catch((err: unknown) => this.log(`${env.key}: supervisor: ${(err as Error).message}`));
    }, this.options.superviseIntervalMs ?? 1000);
    // environments whose current revision has `autoscale` follow their load (scaling.ts)
    this.autoscaler = new Autoscaler({ environments: () => this.environments.values(), log: (line) => this.log(line) });
    this.autoscaler.start();
    this.log(`deploy agent ${this.id} (pid ${process.pid}) serving ${this.environments.size} environment(s) from ${dataDir}`);
  }

  /** The engine's event stream ends when the engine goes away: the cue that everything must be adopted afresh. */
  private async watchEngine(): Promise<void> {
    const events = (await this.docker.getEvents({ filters: JSON.stringify({ type: ['container'], label: [`${LABEL_AGENT}=${this.id}`] }) })) as NodeJS.ReadableStream & { destroy?: () => void };
    this.engineEvents = events;
    const lost = (): void => {
      if (this.stopping) return;
      this.log('the Docker engine connection dropped');
      this.options.onEngineLost?.();
    };
    events.on('data', () => undefined);
    events.once('end', lost);
    events.once('error', lost);
  }

  /** One agent per data directory: a lock file naming the live owner, taken atomically with link(2). */
  private async lock(): Promise<void> {
    const file = path.join(this.options.dataDir, 'agent.lock');
    const me = processIdentity(process.pid) ?? String(process.pid);
    const temp = `${file}.${process.pid}`;
    await writeFile(temp, me);
    try {
      for (let attempt = 0; attempt < 2; attempt += 1) {
        try {
          await link(temp, file);
          return;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
          const owner = (await readFile(file, 'utf8').catch(() => '')).trim();
          const pid = Number(owner.split('/')[1] ?? owner);
          if (owner && Number.isInteger(pid) && pid > 0 && processIdentity(pid) === owner) {
            throw new AgentLockHeld(pid, this.options.dataDir);
          }
          await unlink(file).catch(() => undefined);
        }
      }
      throw new DeployError('ROLLOUT_TARGET_UNREACHABLE', `could not take the agent lock ${file}`);
    } finally {
      await unlink(temp).catch(() => undefined);
    }
  }

  private environmentFor(envState: EnvironmentState): Environment {
    const key = `${envState.app}/${envState.environment}`;
    let env = this.environments.get(key);
    if (!env) {
      env = new Environment(envState, {
        docker: this.docker,
        agent: this.id,
        dataDir: this.options.dataDir,
        store: this.store,
        host: this.host,
        routes: new EnvironmentRoutes(this.planes, () => this.edge.connect(), this.id, envState.app, envState.environment),
        configureEdge: () => this.configureEdge(),
        persist: () => this.persist(),
        log: (line) => this.log(line),
        ...(this.options.drainMs !== undefined ? { drainMs: this.options.drainMs } : {}),
      });
      this.environments.set(key, env);
    }
    return env;
  }

  private get host(): string {
    return this.options.host ?? process.env.SLIPWAY_DEPLOY_HOST ?? '127.0.0.1';
  }

  /** Every environment's port and host names to the edge, one change at a time. */
  private configureEdge(): Promise<void> {
    const run = this.edgeChanges.then(async () => {
      await this.edge.configure(this.state.environments);
      await this.persist();
    });
    this.edgeChanges = run.catch(() => undefined);
    return run;
  }

  /**
   * Running replicas of known environments are adopted, each after one health check (in parallel,
   * so the agent's start waits at most about one health timeout); anything else with our label is
   * removed.
   */
  private async adoptContainers(): Promise<void> {
    const containers = await this.docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${LABEL_AGENT}=${this.id}`] }) });
    await Promise.all(containers.map((info) => this.adoptContainer(info)));
  }

  private async adoptContainer(info: Docker.ContainerInfo): Promise<void> {
    const labels = info.Labels ?? {};
    if (labels[LABEL_ROLE] === ROLE_DATAPLANE) return;
    const env = this.environments.get(`${labels[LABEL_APP]}/${labels[LABEL_ENVIRONMENT]}`);
    const revision = Number(labels[LABEL_REVISION]);
    const config = env && info.State === 'running' ? await this.configOf(env.state, revision) : undefined;
    const replica = env && config ? await adoptReplica(this.docker, info.Id, config).catch(() => undefined) : undefined;
    if (env && replica) {
      await env.adopt(replica);
      this.log(`${env.key}: adopted replica ${replica.name} (revision ${revision}) on port ${replica.hostPort}: ${replica.state}${replica.lastProbe && replica.state !== 'healthy' ? ` (${replica.lastProbe.output})` : ''}`);
    } else {
      this.log(`removing orphaned container ${info.Names[0] ?? info.Id} (${info.State})`);
      await this.docker.getContainer(info.Id).remove({ force: true }).catch(() => undefined);
    }
  }

  private async configOf(envState: EnvironmentState, revision: number): Promise<RolloutConfig | undefined> {
    if (envState.current?.number === revision) return envState.current.config;
    if (envState.rollout?.number === revision) return envState.rollout.config;
    const found = (await this.store.list(envState.app, envState.environment)).find((r) => r.number === revision);
    return found ? rolloutConfig(found) : undefined;
  }

  private persist(): Promise<void> {
    // Serialised: two environments finishing together must not interleave their writes.
    this.persisting = this.persisting.then(() => writeState(this.options.dataDir, this.state)).catch((err: unknown) => this.log(`could not write the state: ${(err as Error).message}`));
    return this.persisting;
  }

  private async environmentForDeploy(app: string, environment: string): Promise<Environment> {
    const key = `${app}/${environment}`;
    const existing = this.environments.get(key);
    if (existing) return existing;
    const envState: EnvironmentState = { app, environment, port: 0 };
    const env = this.environmentFor(envState);
    try {
      return env;
    } finally {
      this.state.environments.push(envState);
    }
  }

  // ---- the API -------------------------------------------------------------------------------

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://agent');
      if (req.method === 'GET' && url.pathname === '/ping') return sendJson(res, 200, { pid: process.pid, agent: this.id });
      await this.ready;
      if (req.method === 'GET' && url.pathname === '/status') {
        const app = url.searchParams.get('app') ?? undefined;
        const environment = url.searchParams.get('environment') ?? undefined;
        const list = [...this.environments.values()].filter((e) => (!app || e.state.app === app) && (!environment || e.state.environment === environment));
        return sendJson(res, 200, await Promise.all(list.map((e) => e.status())));
      }
      if (req.method !== 'POST') return sendJson(res, 404, { code: 'NOT_FOUND', message: `${req.method} ${url.pathname}` });
      const body = await readJson(req, AGENT_BODY_LIMIT_BYTES);
      switch (url.pathname) {
        case '/deploy':
          return await this.stream(res, () => this.deploy(body as unknown as DeployBody, (line) => write(res, { type: 'progress', line })));
        case '/rollback':
          return await this.stream(res, () => this.rollback(body as unknown as RollbackBody, (line) => write(res, { type: 'progress', line })));
        case '/scale':
          return await this.stream(res, () => this.scale(body as unknown as ScaleBody, (line) => write(res, { type: 'progress', line })));
        case '/cancel': {
          const env = this.environments.get(`${String(body.app)}/${String(body.environment)}`);
          return sendJson(res, 200, { cancelled: env?.cancel() ?? false });
        }
        case '/remove': {
          const key = `${String(body.app)}/${String(body.environment)}`;
          const env = this.environments.get(key);
          if (env) {
            await env.destroy();
            this.environments.delete(key);
            this.state.environments = this.state.environments.filter((e) => `${e.app}/${e.environment}` !== key);
            await this.configureEdge();
            if (!this.state.environments.some((e) => e.environment === env.state.environment)) await this.planes.removeNetwork(env.state.environment);
          }
          return sendJson(res, 200, { removed: env !== undefined });
        }
        case '/shutdown':
          sendJson(res, 200, { stopping: true });
          void this.shutdown(body.removeAll === true);
          return;
        default:
          return sendJson(res, 404, { code: 'NOT_FOUND', message: url.pathname });
      }
    } catch (err) {
      // a refused request (a DeployError, a body too large or not JSON) is the caller's to fix; the rest is ours
      const { status, code } = err instanceof DeployError ? { status: 400, code: err.code } : err instanceof HttpError ? err : { status: 500, code: 'AGENT_ERROR' };
      if (!res.headersSent) sendJson(res, status, { code, message: (err as Error).message });
      else res.end();
    }
  }

  private async stream(res: http.ServerResponse, run: () => Promise<DeployOutcome | ScaleOutcome>): Promise<void> {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    try {
      write(res, { type: 'outcome', outcome: await run() });
    } catch (err) {
      write(res, { type: 'error', code: err instanceof DeployError ? err.code : 'AGENT_ERROR', message: (err as Error).message });
    }
    res.end();
  }

  private async deploy(body: DeployBody, progress: (line: string) => void): Promise<DeployOutcome> {
    validateNames(body.app, body.environment);
    const config = body.config;
    if (!config || typeof config.image !== 'string' || !config.image) throw new DeployError('ROLLOUT_INVALID', 'the deploy request names no image');
    if (!Number.isInteger(config.replicas) || config.replicas < 1) throw new DeployError('ROLLOUT_INVALID', `replicas must be at least 1, not ${String(config.replicas)}`);
    if (!Number.isInteger(config.port) || config.port < 1 || config.port > 65535) throw new DeployError('ROLLOUT_INVALID', `port must be 1-65535, not ${String(config.port)}`);
    // its id is its digest here: a tag moved to another image is a change, the same image is not
    const digest = await ensureImage(this.docker, config.image);
    // an unreadable certificate is refused before a revision is recorded
    await this.edge.loadCertificate(config).catch((err: unknown) => {
      throw new DeployError('ROLLOUT_INVALID', (err as Error).message);
    });
    const env = await this.environmentForDeploy(body.app, body.environment);
    return env.deploy(config, body.trigger, progress, { digest, force: body.force === true });
  }

  private async rollback(body: RollbackBody, progress: (line: string) => void): Promise<DeployOutcome> {
    validateNames(body.app, body.environment);
    const env = this.environments.get(`${body.app}/${body.environment}`);
    if (!env) throw new DeployError('ROLLOUT_NO_REVISION', `${body.app}/${body.environment} has never been deployed by this agent`);
    return env.rollback(body.to, body.by, progress);
  }

  private async scale(body: ScaleBody, progress: (line: string) => void): Promise<ScaleOutcome> {
    validateNames(body.app, body.environment);
    const env = this.environments.get(`${body.app}/${body.environment}`);
    if (!env) throw new DeployError('ROLLOUT_NO_REVISION', `${body.app}/${body.environment} has never been deployed by this agent`);
    return env.scale(body.replicas, String(body.by ?? 'unknown'), progress);
  }

  async shutdown(removeAll = false): Promise<void> {
    this.stopping = true;
    this.engineEvents?.destroy?.();
    if (this.certificateRefresh) clearInterval(this.certificateRefresh);
    if (this.supervisor) clearInterval(this.supervisor);
    this.supervisor = undefined;
    await this.autoscaler?.stop();
    this.log(`deploy agent stopping${removeAll ? ' and removing every environment' : ' (replicas keep running)'}`);
    // Without removeAll the data plane and the replicas keep serving: the next agent adopts them.
    if (removeAll) {
      for (const env of this.environments.values()) await env.destroy().catch(() => undefined);
      await this.planes.remove({ kind: 'edge' });
      for (const environment of new Set(this.state.environments.map((e) => e.environment))) await this.planes.removeNetwork(environment);
      this.state.environments = [];
      await this.persist();
    }
    await this.persisting;
    await new Promise<void>((resolve) => this.api.close(() => resolve()));
    this.api.closeAllConnections();
    await rm(socketPath(this.options.dataDir), { force: true });
    await rm(path.join(this.options.dataDir, 'agent.lock'), { force: true });
    this.markClosed();
  }
}

function validateNames(app: unknown, environment: unknown): void {
  try {
    checkName('app', String(app));
    checkName('environment', String(environment));
  } catch (err) {
    throw new DeployError('ROLLOUT_INVALID', (err as Error).message);
  }
}

function write(res: http.ServerResponse, message: StreamMessage): void {
  if (!res.writableEnded && !res.destroyed) res.write(`${JSON.stringify(message)}\n`);
}

export type { Revision };
