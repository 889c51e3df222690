// What is deployed where, across targets: the docker agent's environments, and those whose newest
// revision went to Kubernetes (asked of the cluster only when there are some). Shared by
// `slipway status` and the server's GET /api/status.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { RevisionStore } from './revisions.js';
import type { DeployTarget, EnvironmentStatus } from './types.js';

export type TargetFactory = (name: 'docker' | 'kubernetes') => Promise<DeployTarget>;

/** (app, environment) pairs of the data directory whose newest revision went to Kubernetes. */
async function kubernetesEnvironments(dataDir: string, app: string | undefined, environment: string | undefined): Promise<Array<{ app: string; environment: string }>> {
  const root = path.join(dataDir, 'deploy');
  const apps = app ? [app] : await readdir(root).catch(() => [] as string[]);
  const store = new RevisionStore(dataDir);
  const found: Array<{ app: string; environment: string }> = [];
  for (const a of apps) {
    const environments = environment ? [environment] : await readdir(path.join(root, a)).catch(() => [] as string[]);
    for (const e of environments) {
      const last = (await store.list(a, e).catch(() => [])).at(-1);
      if (last?.target === 'kubernetes') found.push({ app: a, environment: e });
    }
  }
  return found;
}

/**
 * Every environment of the data directory (or those of `app`, `environment`). Docker ones carry
 * the agent's extra fields (replicaList, rollingOut). Asking starts the docker agent if none runs:
 * a restarted agent is what brings the proxies back.
 */
export async function environmentStatuses(targets: TargetFactory, dataDir: string, app?: string, environment?: string): Promise<EnvironmentStatus[]> {
  const environments = [...(await (await targets('docker')).status(app, environment))];
  const known = new Set(environments.map((e) => `${e.app}/${e.environment}`));
  const onKubernetes = (await kubernetesEnvironments(dataDir, app, environment)).filter((e) => !known.has(`${e.app}/${e.environment}`));
  if (onKubernetes.length > 0) {
    const target = await targets('kubernetes');
    for (const e of onKubernetes) environments.push(...(await target.status(e.app, e.environment)));
  }
  return environments;
}
