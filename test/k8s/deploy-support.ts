// Building deploy requests for the Kubernetes target in tests: a deploy block as the spec compiler
// would produce it, and a request that records its progress lines.
import { makeTemplate } from '../../src/spec/index.js';
import type { DeploySpec } from '../../src/spec/model.js';
import { mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import type { DeployRequest, RollbackRequest } from '../../src/deploy/index.js';
import { createKubernetesTarget } from '../../src/deploy/kubernetes/index.js';
import type { TestCluster } from './support.js';

export function deploySpec(namespace: string, overrides: Partial<DeploySpec> = {}, strategy: Partial<DeploySpec['strategy']> = {}): DeploySpec {
  return {
    environment: 'production',
    target: 'kubernetes',
    image: makeTemplate('${{ jobs.image.image }}', { file: 'slipway.yaml', line: 1, col: 1 }),
    replicas: 2,
    port: 80,
    health: { path: '/', intervalMs: 1000, timeoutMs: 2000, healthy: 1, unhealthy: 3, startPeriodMs: 0 },
    strategy: { maxSurge: 1, maxUnavailable: 0, progressDeadlineMs: 120_000, autoRollback: true, ...strategy },
    kubernetes: { namespace },
    ...overrides,
  };
}

export function deployRequest(app: string, spec: DeploySpec, image: string, lines: string[] = []): DeployRequest {
  return {
    app,
    environment: spec.environment,
    spec,
    image,
    trigger: { by: 'test', kind: 'pipeline', commit: 'a1b2c3d4e5f6a7b8', runId: '42' },
    signal: AbortSignal.timeout(170_000),
    onProgress: (line) => lines.push(line),
  };
}

export function rollbackRequest(app: string, environment: string, to?: number, lines: string[] = []): RollbackRequest {
  return { app, environment, ...(to !== undefined ? { to } : {}), by: 'test', signal: AbortSignal.timeout(170_000), onProgress: (line) => lines.push(line) };
}

/** A kubernetes target on the test cluster with a data directory of its own. */
export async function freshTarget(cluster: TestCluster): Promise<ReturnType<typeof createKubernetesTarget>> {
  const dataDir = await mkdtemp(path.join(cluster.dir, 'data-'));
  return createKubernetesTarget({ dataDir, kubeconfig: cluster.kubeconfigPath });
}
