// One replica of an environment: a container started from a revision's image, its health state and
// the probe loop that feeds it. States follow kamal-proxy's target.go: an explicit enum and one
// transition function, so every change of a replica's state is decided in one place.
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import type { DeployHealth } from '../../spec/model.js';
import { probeFor, type Probe, type ProbeResult } from './health.js';
import { LABEL_REVISION, replicaLabels } from './labels.js';
import type { RolloutConfig } from './state.js';

export type ReplicaState =
  /** created and started; not yet passed `healthy` checks in a row: not in the proxy */
  | 'starting'
  /** passed its checks: eligible for the proxy's rotation */
  | 'healthy'
  /** was healthy, then failed `unhealthy` checks in a row: out of rotation, to be replaced */
  | 'unhealthy'
  /** leaving: out of rotation, in-flight requests finishing, then stopped */
  | 'draining'
  /** exited without being asked to: a crash */
  | 'failed'
  /** stopped and removed */
  | 'stopped';

export type ReplicaEvent =
  | { type: 'probe'; result: ProbeResult; inStartPeriod: boolean }
  | { type: 'exited'; exitCode: number }
  | { type: 'retire' }
  | { type: 'removed' };

export interface HealthCounters {
  successes: number;
  failures: number;
}

export interface Transition {
  state: ReplicaState;
  counters: HealthCounters;
}

/** The one place a replica's state changes. Pure, so it is tested table-driven. */
export function transition(state: ReplicaState, counters: HealthCounters, event: ReplicaEvent, thresholds: { healthy: number; unhealthy: number }): Transition {
  switch (event.type) {
    case 'removed':
      return { state: 'stopped', counters };
    case 'exited':
      if (state === 'stopped') return { state, counters };
      // Exiting while draining is what was asked for; otherwise it is a crash.
      return { state: state === 'draining' ? 'draining' : 'failed', counters };
    case 'retire':
      // A crashed replica is retired too (its container removed): it is leaving either way.
      if (state === 'stopped') return { state, counters };
      return { state: 'draining', counters };
    case 'probe': {
      if (state === 'draining' || state === 'failed' || state === 'stopped') return { state, counters };
      if (event.result.ok) {
        const next = { successes: counters.successes + 1, failures: 0 };
        if (state === 'healthy') return { state, counters: next };
        return { state: next.successes >= thresholds.healthy ? 'healthy' : state, counters: next };
      }
      // Failures during the start period do not count (a slow-starting app is not unhealthy yet),
      // nor, while starting, probes the app did not answer (it is not up yet: the progress
      // deadline decides). A starting app that answers "unhealthy" `unhealthy` times in a row is
      // unhealthy, as Docker's own health checks decide.
      const counts = !event.inStartPeriod && (state !== 'starting' || event.result.answered === true);
      const next = { successes: 0, failures: counts ? counters.failures + 1 : counters.failures };
      if (next.failures >= thresholds.unhealthy) return { state: 'unhealthy', counters: next };
      return { state, counters: next };
    }
  }
}

/** Past its probe's own timeout, how long an adopted replica's first check is still waited for. */
const FIRST_CHECK_MARGIN_MS = 500;

export interface ReplicaInfo {
  id: string;
  name: string;
  revision: number;
  hostPort: number;
  state: ReplicaState;
}

export class Replica extends EventEmitter {
  state: ReplicaState = 'starting';
  counters: HealthCounters = { successes: 0, failures: 0 };
  lastProbe?: ProbeResult;
  exitCode?: number;
  /** it served traffic once: it gets the full grace period to finish in-flight work when stopped */
  everHealthy = false;
  /** the data plane has it in rotation (set once announcing it there succeeded) */
  inRotation = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly probe: Probe;
  private readonly startedAt = Date.now();
  /** an adopted replica's first check (see monitor); settled at once for a started one */
  private firstCheck: Promise<void> = Promise.resolve();

  constructor(
    readonly container: Docker.Container,
    readonly name: string,
    readonly revision: number,
    readonly hostPort: number,
    /** the app's port in the container: where the mesh proxy reaches it on the network */
    readonly appPort: number,
    private readonly health: DeployHealth,
    /** adopted by a restarted agent: one passing check puts it back in rotation at once */
    readonly adopted = false,
  ) {
    super();
    this.probe = probeFor(health, container, hostPort);
  }

  get id(): string {
    return this.container.id;
  }

  /** healthy and in the data plane's rotation: what a rollout counts as available */
  get serving(): boolean {
    return this.state === 'healthy' && this.inRotation;
  }

  get isLive(): boolean {
    return this.state === 'starting' || this.state === 'healthy';
  }

  info(): ReplicaInfo {
    return { id: this.id, name: this.name, revision: this.revision, hostPort: this.hostPort, state: this.state };
  }

  apply(event: ReplicaEvent): void {
    if (event.type === 'probe') this.lastProbe = event.result;
    if (event.type === 'exited') this.exitCode = event.exitCode;
    const thresholds = { healthy: this.adopted ? 1 : this.health.healthy, unhealthy: this.health.unhealthy };
    const next = transition(this.state, this.counters, event, thresholds);
    const previous = this.state;
    this.state = next.state;
    this.counters = next.counters;
    if (next.state === 'healthy') this.everHealthy = true;
    if (next.state !== previous) this.emit('state', this, previous);
    if (next.state === 'draining' || next.state === 'failed' || next.state === 'stopped') this.stopProbing();
  }

  /** Starts the probe loop and watches for the container's exit. */
  monitor(docker: Docker): void {
    const tick = async (): Promise<void> => {
      this.timer = undefined;
      if (this.hostPort === 0) return; // exited before it published a port: wait() reports it
      const result = await this.probe();
      if (!this.isLive && this.state !== 'unhealthy') return;
      this.apply({ type: 'probe', result, inStartPeriod: Date.now() - this.startedAt < this.health.startPeriodMs });
      if (this.isLive || this.state === 'unhealthy') this.timer = setTimeout(() => void tick(), this.health.intervalMs);
    };
    if (this.adopted) {
      // It was serving before the agent restarted: checked at once, and the agent waits for that
      // check (firstChecked) before it answers, so its status never calls a healthy replica down.
      this.firstCheck = tick();
    } else {
      // The first check soon after start, not a whole interval later: an app up in 200 ms joins sooner.
      this.timer = setTimeout(() => void tick(), Math.min(this.health.intervalMs, 250));
    }
    docker
      .getContainer(this.id)
      .wait()
      .then((result: { StatusCode?: number }) => this.apply({ type: 'exited', exitCode: result.StatusCode ?? -1 }))
      .catch(() => {
        // the engine connection dropped (agent shutdown) or the container is gone: nothing to report
      });
  }

  /**
   * Resolves once the first health check of an adopted replica was applied, or after the health
   * timeout (and a little more, so that a probe timing out itself is still applied): the probe's
   * engine calls (an exec) are not bounded by it, and an agent must not wait on a stuck engine.
   */
  async firstChecked(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.firstCheck, new Promise<void>((resolve) => (timer = setTimeout(resolve, this.health.timeoutMs + FIRST_CHECK_MARGIN_MS)))]);
    clearTimeout(timer);
  }

  private stopProbing(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Stops (SIGTERM, the app drains, SIGKILL after `graceSeconds`) and removes the container. */
  async remove(graceSeconds = 10): Promise<void> {
    if (this.state !== 'draining') this.apply({ type: 'retire' });
    this.stopProbing();
    try {
      await this.container.stop({ t: graceSeconds });
    } catch (err) {
      if (!isGoneOrStopped(err)) throw err;
    }
    try {
      await this.container.remove({ force: true });
    } catch (err) {
      if (!isGoneOrStopped(err)) throw err;
    }
    this.apply({ type: 'removed' });
  }

  async logTail(lines = 10): Promise<string> {
    try {
      const raw = (await this.container.logs({ stdout: true, stderr: true, tail: lines, follow: false })) as unknown as Buffer;
      return demuxBuffer(raw).trimEnd();
    } catch {
      return '';
    }
  }

  /** Why this replica is not serving: what users see when a rollout fails. */
  async explain(): Promise<string> {
    const parts = [`replica ${this.name} (revision ${this.revision})`];
    if (this.state === 'failed') parts.push(`exited with code ${this.exitCode ?? '?'}`);
    else if (this.state === 'starting') parts.push('never passed its health check');
    else if (this.state === 'unhealthy') parts.push(`failed ${this.counters.failures} health checks in a row`);
    else parts.push(`is ${this.state}`);
    if (this.lastProbe) parts.push(`last health check: ${this.lastProbe.output}`);
    const logs = await this.logTail();
    const text = `${parts.join('; ')}`;
    return logs ? `${text}\nlast log lines:\n${logs.split('\n').map((l) => `  ${l}`).join('\n')}` : `${text}\n(no log lines)`;
  }
}

export interface StartOptions {
  agent: string;
  app: string;
  environment: string;
  revision: number;
  config: RolloutConfig;
  /** the environment's network, where other apps reach it through its mesh proxy */
  network: string;
}

/**
 * Creates and starts a replica container on the environment's network, its port also published on
 * an ephemeral 127.0.0.1 port (health checks and the edge use that one).
 */
export async function startReplica(docker: Docker, options: StartOptions): Promise<Replica> {
  const { app, environment, revision, config } = options;
  const name = `slipway-${app}-${environment}-${revision}-${randomBytes(3).toString('hex')}`;
  const port = `${config.port}/tcp`;
  const container = await docker.createContainer({
    name,
    Image: config.image,
    Labels: replicaLabels(options.agent, app, environment, revision),
    ExposedPorts: { [port]: {} },
    HostConfig: {
      PortBindings: { [port]: [{ HostIp: '127.0.0.1', HostPort: '' }] },
      NetworkMode: options.network,
      // Slipway replaces crashed replicas itself (and records why); Docker restarting them behind
      // its back would hide crashes (and their exit codes) from the rollout. After an engine
      // restart the supervised agent starts fresh replicas of the current revision.
      RestartPolicy: { Name: 'no' },
    },
  });
  try {
    await container.start();
    const hostPort = await publishedPort(container, port);
    return new Replica(container, name, revision, hostPort, config.port, config.health);
  } catch (err) {
    await container.remove({ force: true }).catch(() => undefined);
    throw err;
  }
}

/** A running container found by its labels after an agent restart. */
export async function adoptReplica(docker: Docker, id: string, config: RolloutConfig): Promise<Replica | undefined> {
  const container = docker.getContainer(id);
  const info = await container.inspect();
  if (!info.State.Running) return undefined;
  const hostPort = await publishedPort(container, `${config.port}/tcp`);
  const revision = Number(info.Config.Labels?.[LABEL_REVISION] ?? 0);
  return new Replica(container, info.Name.replace(/^\//, ''), revision, hostPort, config.port, config.health, true);
}

/** The host port; 0 when the container already exited (a crash at start: its exit is reported). */
async function publishedPort(container: Docker.Container, port: string): Promise<number> {
  const info = await container.inspect();
  if (!info.State.Running) return 0;
  const binding = info.NetworkSettings.Ports?.[port]?.find((b) => b.HostIp === '127.0.0.1') ?? info.NetworkSettings.Ports?.[port]?.[0];
  const hostPort = Number(binding?.HostPort);
  if (!hostPort) throw new Error(`container ${info.Name} publishes no host port for ${port}`);
  return hostPort;
}

function isGoneOrStopped(err: unknown): boolean {
  const status = (err as { statusCode?: number }).statusCode;
  return status === 304 || status === 404 || status === 409;
}

/** Docker's multiplexed log frames (non-TTY containers) to plain text. */
export function demuxBuffer(raw: Buffer): string {
  if (raw.length < 8 || (raw[0] !== 1 && raw[0] !== 2) || raw[1] !== 0) return raw.toString('utf8');
  const parts: string[] = [];
  let offset = 0;
  while (offset + 8 <= raw.length) {
    const size = raw.readUInt32BE(offset + 4);
    parts.push(raw.subarray(offset + 8, offset + 8 + size).toString('utf8'));
    offset += 8 + size;
  }
  return parts.join('');
}
