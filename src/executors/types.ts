// The one interface every executor offers the engine: a Sandbox per job attempt (its container,
// workspace and services), and a way to reap what a killed process left behind. The engine decides
// what runs in which order; an executor only knows how to run one command in a sandbox.
import type { Writable } from 'node:stream';

export interface ServiceSpec {
  name: string;
  image: string;
  env: Record<string, string>;
  command?: string[];
  health?: { cmd: string; intervalMs: number; timeoutMs: number; retries: number };
}

export interface SandboxSpec {
  runId: string;
  jobName: string;
  attempt: number;
  image: string;
  /** environment of every command run in the sandbox (secrets are not here: they go per exec) */
  env: Record<string, string>;
  services: ServiceSpec[];
  /**
   * values of the run's secrets by name; they also reach every exec's env. An executor whose
   * workload spec others can read (Kubernetes) keeps them in a Secret and drops them from exec env.
   */
  secrets?: Record<string, string>;
  /** the executor the job asked for (`runs-on`); absent: the default one */
  runsOn?: ExecutorName;
  /** requests = limits for the job's own container, in Kubernetes quantities ("500m", "512Mi") */
  resources?: JobResources;
  /**
   * where the sandbox may fetch the workspace itself: a tar of the run's commit over HTTP with a
   * short-lived bearer token. An executor that does (Sandbox.hasWorkspace) spares the engine's
   * putArchive of the source; one that does not ignores it.
   */
  checkout?: { url: string; token: string };
}

export type ExecutorName = 'docker' | 'kubernetes';

export interface JobResources {
  cpu?: string;
  memory?: string;
}

/** Where a command's output goes; writes honour backpressure. */
export interface ExecOutput {
  stdout: Writable;
  stderr: Writable;
}

/**
 * One job attempt's isolated place: a container whose working directory is the workspace.
 * Methods may be called one at a time only (the engine runs a job's steps in order).
 */
export interface Sandbox {
  /** the workspace path inside the sandbox */
  readonly workspace: string;
  /** true when the sandbox already holds the workspace (fetched through SandboxSpec.checkout) */
  readonly hasWorkspace?: boolean;
  /** unpacks a tar stream into `dir` (relative to the workspace; created if missing) */
  putArchive(tar: NodeJS.ReadableStream, dir: string): Promise<void>;
  /** a tar stream of `path` (relative to the workspace), or undefined when it does not exist */
  getArchive(path: string): Promise<NodeJS.ReadableStream | undefined>;
  /** runs `script` with `sh -e -c` in the workspace; resolves with its exit code */
  exec(script: string, env: Record<string, string>, output: ExecOutput, signal: AbortSignal): Promise<number>;
  /** stops and removes everything the sandbox created; safe to call twice */
  destroy(): Promise<void>;
}

export interface SandboxProgress {
  /** a line of what the executor is doing (starting a service, waiting for its health) */
  info(message: string): void;
}

export interface Executor {
  readonly name: string;
  createSandbox(spec: SandboxSpec, progress: SandboxProgress, signal: AbortSignal): Promise<Sandbox>;
  /**
   * Removes containers, networks and volumes of runs whose owning process is gone: dead processes
   * of this host, and the owners in `gone` (replicas elsewhere that stopped beating).
   */
  reapOrphans(gone?: ReadonlySet<string>): Promise<{ containers: number; networks: number; volumes: number }>;
  /** stops whatever the executor keeps running between jobs (warm containers, watches) */
  close?(): Promise<void>;
  /** gets sandboxes of these images ready ahead of the jobs that will want them (if it can) */
  prewarm?(images: readonly string[]): void;
}

/** A failure of the executor itself (not a step's non-zero exit): image missing, engine down. */
export class ExecutorError extends Error {
  constructor(
    readonly code: 'EXECUTOR_IMAGE_NOT_FOUND' | 'EXECUTOR_ENGINE_UNREACHABLE' | 'EXECUTOR_SERVICE_UNHEALTHY' | 'EXECUTOR_FAILED',
    message: string,
  ) {
    super(message);
  }
}
