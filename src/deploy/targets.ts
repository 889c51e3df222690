// The registry of deploy targets: `target:` in a deploy block names one. Each entry builds the
// target from the options the engine, CLI or server have (where data lives).
import type { DeployTarget, RegistryPullAccess } from './types.js';

export interface TargetOptions {
  /** the deploy data directory (docker: the agent's state, socket, log and revision history) */
  dataDir: string;
  /** the server's registry: kubernetes gives nodes a pull secret for images in it */
  registry?: RegistryPullAccess;
}

export type TargetName = 'docker' | 'kubernetes';

const factories: Partial<Record<TargetName, (options: TargetOptions) => Promise<DeployTarget>>> = {
  docker: async (options) => new (await import('./docker/index.js')).DockerDeployTarget({ dataDir: options.dataDir }),
  // credentials: KUBECONFIG, ~/.kube/config or the in-cluster service account (see docs/deploy-kubernetes.md)
  kubernetes: async (options) => (await import('./kubernetes/index.js')).createKubernetesTarget({ dataDir: options.dataDir, ...(options.registry ? { registry: options.registry } : {}) }),
};

export async function createTarget(name: TargetName, options: TargetOptions): Promise<DeployTarget> {
  const factory = factories[name];
  if (!factory) {
    const { DeployError } = await import('./types.js');
    throw new DeployError('ROLLOUT_INVALID', `deploy target '${name}' is not available in this build (known: ${Object.keys(factories).join(', ')})`);
  }
  return factory(options);
}
