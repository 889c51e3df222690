// The Kubernetes executor: one Pod per job attempt in a namespace of its own, steps exec'd into
// its container `job`, services as sidecars, secrets through a per-attempt Secret (never in the
// Pod's spec). It talks to the cluster only through @kubernetes/client-node.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { CoreV1Api, KubeConfig, type V1ObjectMeta } from '@kubernetes/client-node';
import { isOwnerAlive } from '../docker/labels.js';
import { ExecutorError, type Executor, type Sandbox, type SandboxProgress, type SandboxSpec } from '../types.js';
import { statusCode, toExecutorError, unlessNotFound } from './api.js';
import { ANNOTATION_OWNER, LABEL_MANAGED } from './names.js';
import { KubernetesSandbox, type SandboxContext } from './sandbox.js';

export const DEFAULT_NAMESPACE = 'slipway-jobs';
export const DEFAULT_HELPER_IMAGE = 'busybox:1.36';
/** GitLab's kubernetes executor waits as long for its Pods: long enough for a cluster autoscaler to add a node */
export const DEFAULT_SCHEDULE_TIMEOUT_MS = 180_000;

export interface KubernetesExecutorOptions {
  kubeConfig: KubeConfig;
  /** where the job pods go; default 'slipway-jobs', created when missing */
  namespace?: string;
  /** image of the checkout init container: needs sh, wget and tar; default 'busybox:1.36' */
  helperImage?: string;
  /** how long a job Pod no node fits may wait for one before the job fails; default 3 minutes, 0: not at all */
  scheduleTimeoutMs?: number;
  log?: (message: string) => void;
}

export class KubernetesExecutor implements Executor {
  readonly name = 'kubernetes';
  readonly namespace: string;
  private readonly context: SandboxContext;
  private namespaceReady?: Promise<void>;

  /** With the default kubeconfig: KUBECONFIG, ~/.kube/config, else the in-cluster service account. */
  static fromEnvironment(options: Omit<KubernetesExecutorOptions, 'kubeConfig'> = {}): KubernetesExecutor {
    const home = path.join(homedir(), '.kube', 'config');
    if (!process.env.KUBECONFIG && !existsSync(home) && !process.env.KUBERNETES_SERVICE_HOST) {
      throw new ExecutorError(
        'EXECUTOR_ENGINE_UNREACHABLE',
        'no Kubernetes credentials for the kubernetes executor: set KUBECONFIG, create ~/.kube/config, or run Slipway inside the cluster with a service account',
      );
    }
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromDefault();
    if (!kubeConfig.getCurrentCluster()) {
      throw new ExecutorError('EXECUTOR_ENGINE_UNREACHABLE', 'the kubeconfig has no current context with a cluster: set current-context');
    }
    return new KubernetesExecutor({ ...options, kubeConfig });
  }

  constructor(options: KubernetesExecutorOptions) {
    this.namespace = options.namespace ?? DEFAULT_NAMESPACE;
    this.context = {
      kubeConfig: options.kubeConfig,
      core: options.kubeConfig.makeApiClient(CoreV1Api),
      namespace: this.namespace,
      server: options.kubeConfig.getCurrentCluster()?.server ?? '(no server)',
      helperImage: options.helperImage ?? DEFAULT_HELPER_IMAGE,
      scheduleTimeoutMs: options.scheduleTimeoutMs ?? DEFAULT_SCHEDULE_TIMEOUT_MS,
      log: options.log ?? (() => undefined),
    };
  }

  async createSandbox(spec: SandboxSpec, progress: SandboxProgress, signal: AbortSignal): Promise<Sandbox> {
    signal.throwIfAborted();
    await this.ensureNamespace();
    const sandbox = new KubernetesSandbox(this.context, spec);
    try {
      await sandbox.start(progress, signal);
      return sandbox;
    } catch (err) {
      await sandbox.destroy().catch((cleanup: unknown) => this.context.log(`removing pod ${sandbox.objects.pod}: ${(cleanup as Error).message}`));
      throw err;
    }
  }

  /** Reads the namespace, creating it when missing; one that may not be read is taken as there. */
  private ensureNamespace(): Promise<void> {
    const { core, server } = this.context;
    const name = this.namespace;
    this.namespaceReady ??= (async () => {
      try {
        await core.readNamespace({ name });
        return;
      } catch (err) {
        const code = statusCode(err);
        if (code === 403) return;
        if (code !== 404) throw toExecutorError(err, server, `read namespace ${name}`);
      }
      try {
        await core.createNamespace({ body: { metadata: { name } } });
        this.context.log(`created namespace ${name} for job pods`);
      } catch (err) {
        if (statusCode(err) !== 409) throw toExecutorError(err, server, `create namespace ${name}`);
      }
    })().catch((err: unknown) => {
      this.namespaceReady = undefined;
      throw err;
    });
    return this.namespaceReady;
  }

  /**
   * Deletes the pods and secrets of job attempts whose owning process (on this host) is gone.
   * Returned as containers (pods) and volumes (secrets); there are no networks.
   */
  async reapOrphans(gone?: ReadonlySet<string>): Promise<{ containers: number; networks: number; volumes: number }> {
    const { core, server } = this.context;
    const namespace = this.namespace;
    const labelSelector = `${LABEL_MANAGED}=true`;
    const isOrphan = (metadata: V1ObjectMeta | undefined): metadata is V1ObjectMeta & { name: string } => {
      const owner = metadata?.annotations?.[ANNOTATION_OWNER];
      return metadata?.name !== undefined && owner !== undefined && (gone?.has(owner) === true || !isOwnerAlive(owner));
    };
    try {
      const pods = (await core.listNamespacedPod({ namespace, labelSelector })).items.map((p) => p.metadata).filter(isOrphan);
      const secrets = (await core.listNamespacedSecret({ namespace, labelSelector })).items.map((s) => s.metadata).filter(isOrphan);
      const deleted = await Promise.all(pods.map((m) => unlessNotFound(() => core.deleteNamespacedPod({ name: m.name, namespace, gracePeriodSeconds: 0 }))));
      const deletedSecrets = await Promise.all(secrets.map((m) => unlessNotFound(() => core.deleteNamespacedSecret({ name: m.name, namespace }))));
      const count = (results: boolean[]): number => results.filter(Boolean).length;
      if (pods.length + secrets.length > 0) this.context.log(`reaped ${count(deleted)} pods and ${count(deletedSecrets)} secrets of dead processes in ${namespace}`);
      return { containers: count(deleted), networks: 0, volumes: count(deletedSecrets) };
    } catch (err) {
      throw toExecutorError(err, server, `reap orphaned job pods in namespace ${namespace}`);
    }
  }
}
