// The default executor: one container per job attempt, with the workspace on a Docker volume,
// steps run one after another with `exec`, and services as sibling containers on a network of
// the job's own, reachable by their names.
import type Docker from 'dockerode';
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { PassThrough, Writable } from 'node:stream';
import { Demuxer } from './demux.js';
import { connectDocker } from './client.js';
import { isOwnerAlive, LABEL_MANAGED, LABEL_OWNER, runLabels } from './labels.js';
import { WarmPool, type ContainerRecipe } from './warm-pool.js';
import {
  ExecutorError,
  type ExecOutput,
  type Executor,
  type Sandbox,
  type SandboxProgress,
  type SandboxSpec,
  type ServiceSpec,
  type JobResources,
} from '../types.js';

const WORKSPACE = '/workspace';
/** keeps the job container alive between execs; steps never run as its main process */
const IDLE_COMMAND = ['/bin/sh', '-c', 'trap "exit 0" TERM INT; while :; do sleep 3600 & wait $!; done'];

function isNotFound(err: unknown): boolean {
  return (err as { statusCode?: number }).statusCode === 404;
}

function dockerName(...parts: string[]): string {
  const name = parts.join('-');
  const safe = name.replace(/[^a-zA-Z0-9_.-]/g, '_');
  // Matrix job names (`test (os=a b)`, `test (os=a_b)`) may differ only where characters are
  // replaced: a hash of the name keeps their containers apart.
  return safe === name ? safe : `${safe}-${createHash('sha256').update(name).digest('hex').slice(0, 12)}`;
}

/** The job container: an idle main process, the workspace volume mounted, on `networkName`. */
const jobContainer = (networkName: string): ContainerRecipe => (image, name, volumeName, labels) => ({
  name,
  Image: image,
  Entrypoint: IDLE_COMMAND.slice(0, 1),
  Cmd: IDLE_COMMAND.slice(1),
  WorkingDir: WORKSPACE,
  Labels: labels,
  HostConfig: {
    Mounts: [{ Type: 'volume', Source: volumeName, Target: WORKSPACE }],
    NetworkMode: networkName,
  },
});

/** `resources:` as the engine's limits: the same numbers a Pod gets as requests = limits. */
export function resourceLimits(resources: JobResources | undefined): { NanoCpus?: number; Memory?: number } {
  const limits: { NanoCpus?: number; Memory?: number } = {};
  if (resources?.cpu) {
    const cpu = resources.cpu.endsWith('m') ? Number(resources.cpu.slice(0, -1)) / 1000 : Number(resources.cpu);
    if (cpu > 0) limits.NanoCpus = Math.round(cpu * 1e9);
  }
  if (resources?.memory) {
    const match = /^(\d+)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(resources.memory);
    const unit: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
    if (match) limits.Memory = Number(match[1]) * (match[2] ? (unit[match[2]] ?? 1) : 1);
  }
  return limits;
}

export interface DockerExecutorOptions {
  /**
   * Started job containers kept ready per recently used image (jobs without services), for a
   * long-running process such as the server; 0 (the default): every job starts its own.
   */
  warmContainers?: number;
  /** an image no job used for this long loses its warm containers; default 10 minutes */
  warmIdleMs?: number;
  log?: (message: string) => void;
}

export class DockerExecutor implements Executor {
  readonly name = 'docker';
  private readonly pool?: WarmPool;

  static async connect(options: DockerExecutorOptions = {}): Promise<DockerExecutor> {
    return new DockerExecutor(await connectDocker(), options);
  }

  constructor(
    private readonly docker: Docker,
    options: DockerExecutorOptions = {},
  ) {
    if ((options.warmContainers ?? 0) > 0) {
      // Warm containers sit on the default bridge, as the containers of jobs without services do.
      this.pool = new WarmPool(docker, jobContainer('bridge'), {
        perImage: options.warmContainers ?? 0,
        maxImages: 4,
        idleMs: options.warmIdleMs ?? 600_000,
        log: options.log ?? (() => undefined),
      });
    }
  }

  prewarm(images: readonly string[]): void {
    this.pool?.prewarm(images);
  }

  /** Warm containers ready, per image. */
  warmContainers(): Map<string, number> {
    return this.pool?.counts() ?? new Map();
  }

  /** Removes the warm containers; the executor stays usable (jobs then start their own). */
  async close(): Promise<void> {
    await this.pool?.close();
  }

  async createSandbox(spec: SandboxSpec, progress: SandboxProgress, signal: AbortSignal): Promise<Sandbox> {
    const sandbox = new DockerSandbox(this.docker, spec, this.pool);
    try {
      await sandbox.start(progress, signal);
      return sandbox;
    } catch (err) {
      await sandbox.destroy();
      throw err;
    }
  }

  async reapOrphans(gone?: ReadonlySet<string>): Promise<{ containers: number; networks: number; volumes: number }> {
    const filters = JSON.stringify({ label: [`${LABEL_MANAGED}=true`, LABEL_OWNER] });
    const isOrphan = (labels: Record<string, string> | undefined | null): boolean => {
      const owner = labels?.[LABEL_OWNER];
      return owner !== undefined && (gone?.has(owner) === true || !isOwnerAlive(owner));
    };
    const containers = (await this.docker.listContainers({ all: true, filters })).filter((c) => isOrphan(c.Labels));
    await Promise.all(containers.map((c) => removeContainer(this.docker.getContainer(c.Id))));
    const networks = (await this.docker.listNetworks({ filters })).filter((n) => isOrphan(n.Labels));
    await Promise.all(
      networks.map((n) =>
        removeNetwork(this.docker.getNetwork(n.Id)).catch((err: unknown) => {
          // 403 "has active endpoints": as for volumes below, a container another process is removing
          if ((err as { statusCode?: number }).statusCode !== 403) throw err;
        }),
      ),
    );
    const volumeList = await this.docker.listVolumes({ filters });
    const volumes = (volumeList.Volumes ?? []).filter((v) => isOrphan(v.Labels));
    await Promise.all(
      volumes.map((v) =>
        removeVolume(this.docker.getVolume(v.Name)).catch((err: unknown) => {
          // 409 "in use": another process (a replica starting beside this one) is still removing
          // the container that mounts it; the next reap takes what is left.
          if ((err as { statusCode?: number }).statusCode !== 409) throw err;
        }),
      ),
    );
    return { containers: containers.length, networks: networks.length, volumes: volumes.length };
  }
}

async function removeContainer(container: Docker.Container): Promise<void> {
  try {
    await container.remove({ force: true, v: true });
  } catch (err) {
    // 409: removal already in progress (a concurrent destroy); 404: already gone
    const status = (err as { statusCode?: number }).statusCode;
    if (status !== 404 && status !== 409) throw err;
  }
}

async function removeNetwork(network: Docker.Network): Promise<void> {
  try {
    await network.remove();
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

async function removeVolume(volume: Docker.Volume): Promise<void> {
  try {
    await volume.remove({ force: true });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/** Makes sure the image is in the engine (pulling it if it can); its ID. */
async function ensureImage(docker: Docker, image: string, progress: SandboxProgress): Promise<string> {
  try {
    return (await docker.getImage(image).inspect()).Id;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  progress.info(`pulling ${image}`);
  try {
    const stream = await docker.pull(image);
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve()));
    });
    return (await docker.getImage(image).inspect()).Id;
  } catch (err) {
    throw new ExecutorError(
      'EXECUTOR_IMAGE_NOT_FOUND',
      `image '${image}' is not in the local Docker engine and could not be pulled: ${(err as Error).message.trim()}`,
    );
  }
}

class DockerSandbox implements Sandbox {
  readonly workspace = WORKSPACE;
  private readonly baseName: string;
  private readonly labels: Record<string, string>;
  private container?: Docker.Container;
  private readonly services: Docker.Container[] = [];
  private network?: Docker.Network;
  private volume?: Docker.Volume;
  private destroyed?: Promise<void>;
  private refillAfterFirstExec = false;

  constructor(
    private readonly docker: Docker,
    private readonly spec: SandboxSpec,
    private readonly pool?: WarmPool,
  ) {
    this.baseName = dockerName('slipway', spec.runId, spec.jobName, String(spec.attempt));
    this.labels = runLabels(spec.runId, spec.jobName);
  }

  async start(progress: SandboxProgress, signal: AbortSignal): Promise<void> {
    const images = [...new Set([this.spec.image, ...this.spec.services.map((s) => s.image)])];
    const ids = await Promise.all(images.map((image) => ensureImage(this.docker, image, progress)));
    signal.throwIfAborted();

    // warm containers have no CPU or memory limits: a job that sets them starts its own
    if (this.pool && this.spec.services.length === 0 && !this.spec.resources && WarmPool.accepts(this.spec.image)) {
      const warm = await this.pool.take(this.spec.image, ids[0] ?? '');
      if (warm) {
        this.container = warm.container;
        this.volume = this.docker.getVolume(warm.volumeName);
        // the run's name, so that `docker ps` shows whose job it is
        await warm.container.rename({ name: this.baseName }).catch(() => undefined);
        this.refillAfterFirstExec = true;
        return;
      }
    }

    const volumeName = `${this.baseName}-ws`;
    await this.docker.createVolume({ Name: volumeName, Labels: this.labels });
    this.volume = this.docker.getVolume(volumeName);

    let networkName = 'bridge';
    if (this.spec.services.length > 0) {
      networkName = `${this.baseName}-net`;
      this.network = await this.docker.createNetwork({ Name: networkName, Labels: this.labels, CheckDuplicate: true });
      await Promise.all(this.spec.services.map((service) => this.startService(service, networkName, progress, signal)));
    }

    const recipe = jobContainer(networkName)(this.spec.image, this.baseName, volumeName, this.labels);
    this.container = await this.docker.createContainer({ ...recipe, HostConfig: { ...recipe.HostConfig, ...resourceLimits(this.spec.resources) } });
    await this.container.start();
  }

  private async startService(service: ServiceSpec, networkName: string, progress: SandboxProgress, signal: AbortSignal): Promise<void> {
    progress.info(`starting service ${service.name} (${service.image})`);
    const container = await this.docker.createContainer({
      name: `${this.baseName}-svc-${dockerName(service.name)}`,
      Image: service.image,
      ...(service.command ? { Cmd: service.command } : {}),
      Env: Object.entries(service.env).map(([k, v]) => `${k}=${v}`),
      Labels: { ...this.labels, 'io.slipway.service': service.name },
      HostConfig: { NetworkMode: networkName },
      NetworkingConfig: { EndpointsConfig: { [networkName]: { Aliases: [service.name] } } },
    });
    this.services.push(container);
    await container.start();
    if (!service.health) return;
    const { cmd, intervalMs, timeoutMs, retries } = service.health;
    let lastOutput = '';
    for (let attempt = 1; attempt <= retries; attempt++) {
      signal.throwIfAborted();
      const state = (await container.inspect()).State;
      if (!state.Running) {
        throw new ExecutorError(
          'EXECUTOR_SERVICE_UNHEALTHY',
          `service ${service.name} exited with code ${state.ExitCode} before it became healthy${await tailLogs(container)}`,
        );
      }
      const result = await execCollect(container, ['/bin/sh', '-c', cmd], timeoutMs);
      if (result.exitCode === 0) {
        progress.info(`service ${service.name} is healthy`);
        return;
      }
      lastOutput = result.output.trim();
      await delay(intervalMs, signal);
    }
    throw new ExecutorError(
      'EXECUTOR_SERVICE_UNHEALTHY',
      `service ${service.name} did not become healthy after ${retries} checks of '${cmd}'` +
        (lastOutput ? `; last output: ${lastOutput.slice(-500)}` : ''),
    );
  }

  private requireContainer(): Docker.Container {
    if (!this.container) throw new ExecutorError('EXECUTOR_FAILED', 'the sandbox has no container');
    return this.container;
  }

  private absolute(relative: string): string {
    const clean = relative.replace(/^\.?\/*/, '').replace(/\/+$/, '');
    return clean === '' ? WORKSPACE : `${WORKSPACE}/${clean}`;
  }

  async putArchive(tar: NodeJS.ReadableStream, dir: string): Promise<void> {
    const container = this.requireContainer();
    const target = this.absolute(dir);
    if (target !== WORKSPACE) {
      const made = await execCollect(container, ['mkdir', '-p', target], 30_000);
      if (made.exitCode !== 0) throw new ExecutorError('EXECUTOR_FAILED', `cannot create ${target}: ${made.output}`);
    }
    await container.putArchive(tar, { path: target });
  }

  async getArchive(path: string): Promise<NodeJS.ReadableStream | undefined> {
    try {
      return await this.requireContainer().getArchive({ path: this.absolute(path) });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async exec(script: string, env: Record<string, string>, output: ExecOutput, signal: AbortSignal): Promise<number> {
    signal.throwIfAborted();
    const exec = await this.requireContainer().exec({
      Cmd: ['/bin/sh', '-e', '-c', script],
      // the job's environment goes with every command, not into the container: a warm container
      // was started before anyone knew the job
      Env: Object.entries({ ...this.spec.env, ...env }).map(([k, v]) => `${k}=${v}`),
      WorkingDir: WORKSPACE,
      AttachStdout: true,
      AttachStderr: true,
    });
    const stream = (await exec.start({ hijack: true, stdin: false })) as NodeJS.ReadableStream & { destroy(): void };
    if (this.refillAfterFirstExec) {
      // the next job of this image gets a warm container too; started now that this job's first
      // command runs, so that it does not slow this job's way to it
      this.refillAfterFirstExec = false;
      this.pool?.replenish(this.spec.image);
    }
    const onAbort = (): void => stream.destroy();
    signal.addEventListener('abort', onAbort, { once: true });
    // an abort during the awaits above has fired already and will not fire for this listener
    if (signal.aborted) onAbort();
    try {
      await pipeline(stream, new Demuxer(output.stdout, output.stderr));
    } catch (err) {
      signal.throwIfAborted();
      throw err;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    signal.throwIfAborted();
    const info = await exec.inspect();
    return info.ExitCode ?? -1;
  }

  destroy(): Promise<void> {
    this.destroyed ??= (async () => {
      const containers = [...this.services, ...(this.container ? [this.container] : [])];
      await Promise.all(containers.map((c) => removeContainer(c)));
      if (this.network) await removeNetwork(this.network);
      if (this.volume) await removeVolume(this.volume);
      if (this.container && this.spec.services.length === 0) this.pool?.replenish(this.spec.image);
    })();
    return this.destroyed;
  }
}

async function execCollect(container: Docker.Container, cmd: string[], timeoutMs: number): Promise<{ exitCode: number; output: string }> {
  const exec = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = (await exec.start({ hijack: true, stdin: false })) as NodeJS.ReadableStream & { destroy(): void };
  const chunks: Buffer[] = [];
  let size = 0;
  const collector = new Writable({
    write(chunk: Buffer, _enc, callback) {
      if (size < 64 * 1024) chunks.push(chunk);
      size += chunk.length;
      callback();
    },
  });
  const sink = new PassThrough();
  sink.pipe(collector);
  const timer = setTimeout(() => stream.destroy(), timeoutMs);
  try {
    await pipeline(stream, new Demuxer(sink, sink));
  } catch {
    return { exitCode: -1, output: `timed out after ${timeoutMs} ms` };
  } finally {
    clearTimeout(timer);
  }
  const info = await exec.inspect();
  return { exitCode: info.ExitCode ?? -1, output: Buffer.concat(chunks).toString('utf8') };
}

async function tailLogs(container: Docker.Container): Promise<string> {
  try {
    const raw = (await container.logs({ stdout: true, stderr: true, tail: 20 })) as unknown as Buffer;
    const text = stripFrames(raw).trim();
    return text ? `; last log lines:\n${text}` : '';
  } catch {
    return '';
  }
}

/** Removes the 8-byte frame headers of a non-TTY container's buffered log output. */
function stripFrames(raw: Buffer): string {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= raw.length) {
    const size = raw.readUInt32BE(offset + 4);
    parts.push(raw.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}
