// The one way Slipway reaches a cluster: @kubernetes/client-node with credentials from a
// kubeconfig (the server's or CLI's option, KUBECONFIG, ~/.kube/config) or the in-cluster service
// account — never from the repository. Also maps the API's failures to DeployErrors users can act on.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { AppsV1Api, AutoscalingV2Api, CoreV1Api, KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node';
import { DeployError } from '../types.js';

export interface KubeClients {
  config: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  autoscaling: AutoscalingV2Api;
  objects: KubernetesObjectApi;
  /** the API server's address, for messages */
  server: string;
}

export function loadKubeConfig(kubeconfig?: string): KubeConfig {
  const kc = new KubeConfig();
  const home = path.join(homedir(), '.kube', 'config');
  if (kubeconfig) {
    if (!existsSync(kubeconfig)) throw new DeployError('ROLLOUT_TARGET_UNREACHABLE', `kubeconfig ${kubeconfig} does not exist: point the server's kubeconfig option at the cluster's kubeconfig`);
    kc.loadFromFile(kubeconfig);
  } else if (process.env.KUBECONFIG || existsSync(home) || process.env.KUBERNETES_SERVICE_HOST) {
    // KUBECONFIG (several files merged, as kubectl does), then ~/.kube/config, then in-cluster
    kc.loadFromDefault();
  } else {
    throw new DeployError('ROLLOUT_TARGET_UNREACHABLE', 'no Kubernetes credentials: set KUBECONFIG, give the server a kubeconfig, create ~/.kube/config, or run Slipway inside the cluster with a service account');
  }
  if (!kc.getCurrentCluster()) throw new DeployError('ROLLOUT_TARGET_UNREACHABLE', 'the kubeconfig has no current context with a cluster: set current-context');
  return kc;
}

export function makeClients(config: KubeConfig): KubeClients {
  return {
    config,
    core: config.makeApiClient(CoreV1Api),
    apps: config.makeApiClient(AppsV1Api),
    autoscaling: config.makeApiClient(AutoscalingV2Api),
    objects: KubernetesObjectApi.makeApiClient(config),
    server: config.getCurrentCluster()?.server ?? '(no server)',
  };
}

/** The `Status` body of a failed API call, when there is one. */
export interface ApiStatus {
  code: number;
  reason?: string;
  message?: string;
  details?: { name?: string; group?: string; kind?: string; causes?: { message?: string; field?: string }[] };
}

export function apiStatusOf(err: unknown): ApiStatus | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; body?: unknown; statusCode?: unknown };
  const code = typeof e.code === 'number' ? e.code : typeof e.statusCode === 'number' ? e.statusCode : undefined;
  if (code === undefined) return undefined;
  let body: unknown = e.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      body = { message: body };
    }
  }
  const status = typeof body === 'object' && body !== null ? (body as Omit<ApiStatus, 'code'>) : {};
  return { ...status, code };
}

/** The network error code (ECONNREFUSED, …) of an error or one of its causes. */
export function networkCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * What went wrong talking to the cluster, as a DeployError with a stable code. `doing` says what
 * Slipway was doing ("apply Deployment web in namespace prod").
 */
export function toDeployError(err: unknown, server: string, doing: string): DeployError {
  if (err instanceof DeployError) return err;
  const status = apiStatusOf(err);
  if (!status) {
    const code = networkCode(err);
    const why = code ? `${code}` : err instanceof Error ? err.message : String(err);
    return new DeployError('ROLLOUT_TARGET_UNREACHABLE', `cannot reach the Kubernetes API at ${server} (${why}) while trying to ${doing}: is the cluster running and the kubeconfig's server address right?`);
  }
  const message = status.message ?? `HTTP ${status.code}`;
  switch (status.code) {
    case 401:
      return new DeployError('ROLLOUT_FORBIDDEN', `the cluster at ${server} rejected Slipway's credentials (401 Unauthorized) while trying to ${doing}: the token or certificate in the kubeconfig is invalid or expired; refresh it (kubectl config view --minify shows which user is used)`);
    case 403:
      return new DeployError('ROLLOUT_FORBIDDEN', `forbidden: ${message} (while trying to ${doing}). Grant it with the Role in deploy/slipway-rbac.yaml, or: kubectl auth can-i --list`);
    case 404:
      if (status.details?.kind === 'namespaces' || /namespaces? "[^"]+" not found/.test(message)) {
        const ns = status.details?.name ?? /namespaces? "([^"]+)"/.exec(message)?.[1] ?? '';
        return new DeployError('ROLLOUT_INVALID', `namespace "${ns}" does not exist in the cluster at ${server}: create it (kubectl create namespace ${ns}) or set deploy.kubernetes.namespace`);
      }
      return new DeployError('ROLLOUT_INVALID', `not found: ${message} (while trying to ${doing})`);
    case 409:
      return new DeployError('ROLLOUT_INVALID', `conflict: ${message} (while trying to ${doing})`);
    case 400:
    case 422: {
      const causes = (status.details?.causes ?? []).map((c) => `${c.field ?? ''}: ${c.message ?? ''}`).join('; ');
      return new DeployError('ROLLOUT_INVALID', `the cluster rejected the manifest: ${message}${causes && !message.includes(causes) ? ` (${causes})` : ''} (while trying to ${doing})`);
    }
    default:
      return new DeployError('ROLLOUT_TARGET_UNREACHABLE', `the Kubernetes API at ${server} answered ${status.code}: ${message} (while trying to ${doing})`);
  }
}
