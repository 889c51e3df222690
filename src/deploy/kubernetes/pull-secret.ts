// The image pull secret of an environment whose image lives in Slipway's own registry: a Secret of
// type kubernetes.io/dockerconfigjson, `slipway-pull-<app>-<environment>`, holding a credential
// that may only pull that one repository and expires (src/registry/pull-credentials.ts). The
// Deployment's pod template names it in `imagePullSecrets`; a new credential replaces the old one
// once it is past half its lifetime, so the template (and the pods) never change for a rotation.
import type { KubernetesObject, V1Deployment, V1PodSpec, V1Secret } from '@kubernetes/client-node';
import { parseImageReference } from '../../registry/index.js';
import type { RegistryPullAccess } from '../types.js';
import { applyManifests } from './apply.js';
import { apiStatusOf, toDeployError, type KubeClients } from './client.js';
import { LABEL_APP, LABEL_ENVIRONMENT, workloadName } from './manifests.js';

export const ANNOTATION_PULL_REGISTRY = 'slipway.dev/pull-registry';
export const ANNOTATION_PULL_REPOSITORY = 'slipway.dev/pull-repository';
export const ANNOTATION_PULL_ISSUED_AT = 'slipway.dev/pull-issued-at';
export const ANNOTATION_PULL_EXPIRES_AT = 'slipway.dev/pull-expires-at';

export function pullSecretName(app: string, environment: string): string {
  return `slipway-pull-${workloadName(app, environment)}`;
}

/** The repository `image` names in the registry at `host`; undefined for an image from anywhere else. */
export function repositoryInRegistry(image: string, host: string): string | undefined {
  const ref = parseImageReference(image);
  return ref?.host !== undefined && ref.host.toLowerCase() === host.toLowerCase() ? ref.repository : undefined;
}

/** Why the secret needs a new credential, or undefined while the one it holds will do. */
export function refreshReason(secret: V1Secret | undefined, host: string, repository: string, nowMs: number): string | undefined {
  if (!secret) return 'there was none';
  const a = secret.metadata?.annotations ?? {};
  if (a[ANNOTATION_PULL_REGISTRY] !== host || a[ANNOTATION_PULL_REPOSITORY] !== repository) return `it was for ${a[ANNOTATION_PULL_REGISTRY] ?? '?'}/${a[ANNOTATION_PULL_REPOSITORY] ?? '?'}`;
  const issued = Date.parse(a[ANNOTATION_PULL_ISSUED_AT] ?? '');
  const expires = Date.parse(a[ANNOTATION_PULL_EXPIRES_AT] ?? '');
  if (!Number.isFinite(issued) || !Number.isFinite(expires)) return 'it does not say when its credential expires';
  if (nowMs >= issued + (expires - issued) / 2) return `its credential was past half its lifetime (expires ${new Date(expires).toISOString()})`;
  return undefined;
}

export function pullSecret(options: { name: string; namespace: string; app: string; environment: string; host: string; repository: string; credential: Awaited<ReturnType<RegistryPullAccess['pullCredential']>> }): V1Secret {
  const { credential: c, host } = options;
  const auth = Buffer.from(`${c.username}:${c.password}`).toString('base64');
  const config = { auths: { [host]: { username: c.username, password: c.password, auth } } };
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/dockerconfigjson',
    metadata: {
      name: options.name,
      namespace: options.namespace,
      labels: { 'app.kubernetes.io/managed-by': 'slipway', [LABEL_APP]: options.app, [LABEL_ENVIRONMENT]: options.environment },
      annotations: {
        [ANNOTATION_PULL_REGISTRY]: host,
        [ANNOTATION_PULL_REPOSITORY]: options.repository,
        [ANNOTATION_PULL_ISSUED_AT]: c.issuedAt.toISOString(),
        [ANNOTATION_PULL_EXPIRES_AT]: c.expiresAt.toISOString(),
      },
    },
    data: { '.dockerconfigjson': Buffer.from(JSON.stringify(config)).toString('base64') },
  };
}

export interface EnsurePullSecret {
  access: RegistryPullAccess | undefined;
  namespace: string;
  app: string;
  environment: string;
  image: string;
  onProgress: (line: string) => void;
  nowMs?: number;
}

/**
 * Makes sure the environment's pull secret holds a live credential for `image`'s repository when
 * the image is in Slipway's registry; its name then, else undefined (no secret is needed).
 */
export async function ensurePullSecret(clients: KubeClients, o: EnsurePullSecret): Promise<string | undefined> {
  const repository = o.access ? repositoryInRegistry(o.image, o.access.host) : undefined;
  if (!o.access || !repository) return undefined;
  const { namespace } = o;
  const name = pullSecretName(o.app, o.environment);
  let existing: V1Secret | undefined;
  try {
    existing = await clients.core.readNamespacedSecret({ name, namespace });
  } catch (err) {
    const status = apiStatusOf(err);
    // a missing secret is made below; a missing namespace is reported by the apply
    if (status?.code !== 404) throw toDeployError(err, clients.server, `read secret ${name} in namespace ${namespace}`);
  }
  const reason = refreshReason(existing, o.access.host, repository, o.nowMs ?? Date.now());
  if (!reason) return name;
  const credential = await o.access.pullCredential(repository);
  await applyManifests(clients, [pullSecret({ name, namespace, app: o.app, environment: o.environment, host: o.access.host, repository, credential })], () => undefined);
  o.onProgress(`secret/${name}: a pull-only credential for ${o.access.host}/${repository}, valid until ${credential.expiresAt.toISOString()} (${existing ? 'rotated: ' : ''}${reason})`);
  return name;
}

/** Names the secret in the pod template of every Deployment with a container running `image`. */
export function usePullSecret(objects: KubernetesObject[], name: string, image: string): void {
  for (const obj of objects) {
    if (obj.kind !== 'Deployment') continue;
    const pod: V1PodSpec | undefined = (obj as V1Deployment).spec?.template.spec;
    if (!pod || ![...pod.containers, ...(pod.initContainers ?? [])].some((c) => c.image === image)) continue;
    if (!(pod.imagePullSecrets ?? []).some((s) => s.name === name)) pod.imagePullSecrets = [...(pod.imagePullSecrets ?? []), { name }];
  }
}

/** Deletes the environment's pull secret (an environment taken down); none is fine. */
export async function deletePullSecret(clients: KubeClients, namespace: string, app: string, environment: string): Promise<void> {
  const name = pullSecretName(app, environment);
  try {
    await clients.core.deleteNamespacedSecret({ name, namespace });
  } catch (err) {
    if (apiStatusOf(err)?.code !== 404) throw toDeployError(err, clients.server, `delete secret ${name} in namespace ${namespace}`);
  }
}
