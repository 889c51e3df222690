// One job attempt on Kubernetes: its Secret and Pod, the services' health checks, the steps and
// archives exec'd into the job container, and their removal.
import { createReadStream, createWriteStream, ReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { ownerIdentity } from '../docker/labels.js';
import { ExecutorError, type ExecOutput, type Sandbox, type SandboxProgress, type SandboxSpec, type ServiceSpec } from '../types.js';
import { delay, statusCode, toExecutorError, unlessNotFound } from './api.js';
import { podExec, type PodExecRequest } from './exec.js';
import { serviceContainerName, workspacePath } from './names.js';
import { buildPod, buildSecret, CHECKOUT_CONTAINER, JOB_CONTAINER, sandboxObjects, stepCommand, WORKSPACE, type SandboxObjects } from './pod.js';
import { tailLog, terminatedText, waitForPodStart, type PodRef } from './wait.js';

export interface SandboxContext {
  kubeConfig: KubeConfig;
  core: CoreV1Api;
  namespace: string;
  server: string;
  helperImage: string;
  /** how long a Pod no node fits may wait for one */
  scheduleTimeoutMs: number;
  log: (message: string) => void;
}

export class KubernetesSandbox implements Sandbox {
  readonly workspace = WORKSPACE;
  readonly hasWorkspace: boolean;
  readonly objects: SandboxObjects;
  /** whether a create was sent (a timed-out one may have created it all the same) */
  private podRequested = false;
  private secretRequested = false;
  private destroyed?: Promise<void>;

  constructor(
    private readonly context: SandboxContext,
    private readonly spec: SandboxSpec,
  ) {
    this.objects = sandboxObjects(spec, ownerIdentity);
    this.hasWorkspace = spec.checkout !== undefined;
  }

  private get ref(): PodRef {
    const services = new Map(this.spec.services.map((s) => [serviceContainerName(s.name), s.name]));
    return {
      core: this.context.core,
      namespace: this.context.namespace,
      name: this.objects.pod,
      server: this.context.server,
      describe: (container) =>
        container === JOB_CONTAINER ? "the job's container" : container === CHECKOUT_CONTAINER ? 'the checkout container' : `service ${services.get(container) ?? container}`,
    };
  }

  private apiError(err: unknown, doing: string): ExecutorError {
    return toExecutorError(err, this.context.server, `${doing} in namespace ${this.context.namespace}`);
  }

  async start(progress: SandboxProgress, signal: AbortSignal): Promise<void> {
    const { core, namespace } = this.context;
    const secret = buildSecret(this.spec, this.objects);
    const { pod, skippedEnv } = buildPod(this.spec, this.objects, { helperImage: this.context.helperImage });
    if (skippedEnv.length > 0) progress.info(`env ${skippedEnv.join(', ')} not set: not a valid name for Kubernetes`);
    if (secret) {
      signal.throwIfAborted();
      this.secretRequested = true;
      try {
        await core.createNamespacedSecret({ namespace, body: secret });
      } catch (err) {
        // someone else's: not to be deleted by destroy()
        if (statusCode(err) === 409) this.secretRequested = false;
        throw this.alreadyExists(err) ?? this.apiError(err, `create Secret ${this.objects.secret}`);
      }
    }
    for (const service of this.spec.services) progress.info(`starting service ${service.name} (${service.image})`);
    signal.throwIfAborted();
    let uid: string | undefined;
    this.podRequested = true;
    try {
      uid = (await core.createNamespacedPod({ namespace, body: pod })).metadata?.uid;
    } catch (err) {
      if (statusCode(err) === 409) this.podRequested = false;
      throw this.alreadyExists(err) ?? this.apiError(err, `create Pod ${this.objects.pod}`);
    }
    if (secret && uid) await this.adoptSecret(uid);
    await waitForPodStart(this.ref, signal, { scheduleTimeoutMs: this.context.scheduleTimeoutMs, onWaiting: (line) => progress.info(line) });
    await Promise.all(this.spec.services.map((service) => this.awaitHealthy(service, progress, signal)));
  }

  private alreadyExists(err: unknown): ExecutorError | undefined {
    if (statusCode(err) !== 409) return undefined;
    return new ExecutorError(
      'EXECUTOR_FAILED',
      `pod or secret ${this.objects.pod} already exists in namespace ${this.context.namespace}: another Slipway process runs this job attempt, or one that died left it (reapOrphans removes those)`,
    );
  }

  /** The Pod owns the Secret: whoever deletes the Pod (a person, the namespace) deletes it too. */
  private async adoptSecret(uid: string): Promise<void> {
    const owner = { apiVersion: 'v1', kind: 'Pod', name: this.objects.pod, uid };
    try {
      await this.context.core.patchNamespacedSecret({
        name: this.objects.secret,
        namespace: this.context.namespace,
        body: [{ op: 'add', path: '/metadata/ownerReferences', value: [owner] }],
      });
    } catch (err) {
      // destroy() deletes the Secret anyway; only a Pod deleted by someone else would leave it
      this.context.log(`cannot make pod ${this.objects.pod} the owner of its secret: ${(err as Error).message}`);
    }
  }

  private async awaitHealthy(service: ServiceSpec, progress: SandboxProgress, signal: AbortSignal): Promise<void> {
    if (!service.health) return;
    const container = serviceContainerName(service.name);
    const { cmd, intervalMs, timeoutMs, retries } = service.health;
    let lastOutput = '';
    for (let attempt = 1; attempt <= retries; attempt++) {
      signal.throwIfAborted();
      const status = (await this.readPod()).status?.containerStatuses?.find((s) => s.name === container);
      if (status?.state?.terminated) {
        throw new ExecutorError(
          'EXECUTOR_SERVICE_UNHEALTHY',
          `service ${service.name} stopped before it became healthy (${terminatedText(status)})${await tailLog(this.ref, container)}`,
        );
      }
      const output = collector();
      try {
        const code = await podExec(this.context.kubeConfig, this.request(container, ['sh', '-c', cmd], { stdout: output, stderr: output, signal, timeoutMs }));
        if (code === 0) {
          progress.info(`service ${service.name} is healthy`);
          return;
        }
        lastOutput = output.text();
      } catch (err) {
        signal.throwIfAborted();
        lastOutput = (err as Error).message;
      }
      await delay(intervalMs, signal);
    }
    throw new ExecutorError(
      'EXECUTOR_SERVICE_UNHEALTHY',
      `service ${service.name} did not become healthy after ${retries} checks of '${cmd}'` + (lastOutput.trim() ? `; last output: ${lastOutput.trim().slice(-500)}` : ''),
    );
  }

  private async readPod() {
    try {
      return await this.context.core.readNamespacedPod({ name: this.objects.pod, namespace: this.context.namespace });
    } catch (err) {
      throw this.apiError(err, `read Pod ${this.objects.pod}`);
    }
  }

  private request(container: string, command: string[], rest: Partial<PodExecRequest> = {}): PodExecRequest {
    return { namespace: this.context.namespace, pod: this.objects.pod, container, command, ...rest };
  }

  private path(relative: string): string {
    try {
      return workspacePath(WORKSPACE, relative);
    } catch (err) {
      throw new ExecutorError('EXECUTOR_FAILED', (err as Error).message);
    }
  }

  async putArchive(tar: NodeJS.ReadableStream, dir: string): Promise<void> {
    const target = this.path(dir);
    const input = await sized(tar);
    try {
      const output = collector();
      // stdin is never closed (see exec.ts): `head -c` hands tar exactly the archive, then EOF
      const script = 'mkdir -p -- "$1" && head -c "$2" | tar -x -f - -C "$1"';
      const code = await podExec(
        this.context.kubeConfig,
        this.request(JOB_CONTAINER, ['sh', '-c', script, 'sh', target, String(input.length)], { stdin: input, stdout: output, stderr: output }),
      );
      if (code !== 0) throw new ExecutorError('EXECUTOR_FAILED', `cannot unpack an archive into ${target} (exit code ${code}): ${output.text().trim()}`);
    } finally {
      await input.cleanup();
    }
  }

  async getArchive(relative: string): Promise<NodeJS.ReadableStream | undefined> {
    const target = this.path(relative);
    const exists = await podExec(this.context.kubeConfig, this.request(JOB_CONTAINER, ['sh', '-c', 'test -e "$1" || test -L "$1"', 'sh', target]));
    if (exists !== 0) return undefined;
    // as Docker's archive API: the path's last segment at the root of the tar
    const stream = new PassThrough();
    const errors = collector();
    const command = ['tar', '-c', '-f', '-', '-C', path.posix.dirname(target), '--', path.posix.basename(target)];
    podExec(this.context.kubeConfig, this.request(JOB_CONTAINER, command, { stdout: stream, stderr: errors })).then(
      (code) => {
        if (code === 0) stream.end();
        else stream.destroy(new ExecutorError('EXECUTOR_FAILED', `cannot archive ${target} (exit code ${code}): ${errors.text().trim()}`));
      },
      (err: unknown) => stream.destroy(err as Error),
    );
    return stream;
  }

  async exec(script: string, env: Record<string, string>, output: ExecOutput, signal: AbortSignal): Promise<number> {
    signal.throwIfAborted();
    const { command, stdin } = stepCommand(script, env, this.spec.secrets);
    // Closing the socket does not stop the command: on abort the Pod goes, at once.
    const onAbort = (): void => void this.destroy().catch((err: unknown) => this.context.log(`removing pod ${this.objects.pod}: ${(err as Error).message}`));
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const input = stdin ? { stdin: { stream: Readable.from([stdin]), length: stdin.length } } : {};
      return await podExec(this.context.kubeConfig, this.request(JOB_CONTAINER, command, { stdout: output.stdout, stderr: output.stderr, signal, ...input }));
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  destroy(): Promise<void> {
    this.destroyed ??= this.remove().catch((err: unknown) => {
      this.destroyed = undefined;
      throw err;
    });
    return this.destroyed;
  }

  private async remove(): Promise<void> {
    const { core, namespace } = this.context;
    const { pod, secret } = this.objects;
    await Promise.all([
      this.podRequested &&
        unlessNotFound(() => core.deleteNamespacedPod({ name: pod, namespace, gracePeriodSeconds: 0 })).catch((err: unknown) => {
          throw this.apiError(err, `delete Pod ${pod}`);
        }),
      this.secretRequested &&
        unlessNotFound(() => core.deleteNamespacedSecret({ name: secret, namespace })).catch((err: unknown) => {
          throw this.apiError(err, `delete Secret ${secret}`);
        }),
    ]);
  }
}

/** A stream and its length: fs streams of whole files as they are, others spooled to a file. */
async function sized(tar: NodeJS.ReadableStream): Promise<{ stream: NodeJS.ReadableStream; length: number; cleanup(): Promise<void> }> {
  const whole = tar instanceof ReadStream && typeof tar.path === 'string' && tar.bytesRead === 0;
  const range = tar as unknown as { start?: number; end?: number };
  if (whole && range.start === undefined && (range.end === undefined || range.end === Infinity)) {
    try {
      return { stream: tar, length: (await stat(tar.path as string)).size, cleanup: async () => undefined };
    } catch {
      // not there after all: spooling reports the stream's own error
    }
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'slipway-k8s-put-'));
  const cleanup = (): Promise<void> => rm(dir, { recursive: true, force: true });
  try {
    const file = path.join(dir, 'archive.tar');
    await pipeline(tar, createWriteStream(file));
    return { stream: createReadStream(file), length: (await stat(file)).size, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** A writable that keeps the first 64 KiB written to it. */
function collector(): Writable & { text(): string } {
  const chunks: Buffer[] = [];
  let size = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (size < 64 * 1024) chunks.push(chunk);
      size += chunk.length;
      callback();
    },
  });
  return Object.assign(sink, { text: () => Buffer.concat(chunks).toString('utf8') });
}
