// What Slipway applies: a Deployment and a Service generated from the `deploy:` block, or the
// user's own manifests (a folder of YAML, multi-document files) with the built image substituted
// into the containers that use its repository; then put in the order they must be applied in.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { KubernetesObject, V1Container, V1Deployment, V1PodSpec, V1Probe, V1Service, V2HorizontalPodAutoscaler } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import type { DeploySpec } from '../../spec/model.js';
import { DeployError, type Revision } from '../types.js';

export const LABEL_APP = 'slipway.dev/app';
export const LABEL_ENVIRONMENT = 'slipway.dev/environment';
/** on Deployments (and so on their ReplicaSets): the Slipway revision that applied this template */
export const ANNOTATION_REVISION = 'slipway.dev/revision';
export const ANNOTATION_CHANGE_CAUSE = 'kubernetes.io/change-cause';

export interface ManifestContext {
  app: string;
  environment: string;
  namespace: string;
  /** the deploy block (its `image` template is not read: `image` is the rendered reference) */
  spec: Omit<DeploySpec, 'image'>;
  image: string;
  revision: number;
  trigger: Revision['trigger'];
}

/** A DNS-1123 name from an app and environment (`hello-web-production`). */
export function workloadName(app: string, environment: string): string {
  const name = `${app}-${environment}`.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
  return name.slice(0, 63).replace(/-+$/, '');
}

export function changeCause(ctx: Pick<ManifestContext, 'image' | 'trigger' | 'revision'>): string {
  const parts = [`slipway revision ${ctx.revision}`];
  if (ctx.trigger.commit) parts.push(`commit ${ctx.trigger.commit.slice(0, 12)}`);
  if (ctx.trigger.runId) parts.push(`run ${ctx.trigger.runId}`);
  const from = ctx.trigger.kind === 'promote' && ctx.trigger.from ? ` from ${ctx.trigger.from.environment}#${ctx.trigger.from.revision}` : '';
  parts.push(`${ctx.trigger.kind}${from} by ${ctx.trigger.by}`);
  parts.push(`image ${ctx.image}`);
  return parts.join(', ');
}

function probeFor(spec: Omit<DeploySpec, 'image'>, readiness: boolean): V1Probe {
  const h = spec.health;
  const action: V1Probe = h.cmd
    ? { exec: { command: ['sh', '-c', h.cmd] } }
    : h.path
      ? { httpGet: { path: h.path, port: spec.port } }
      : { tcpSocket: { port: spec.port } };
  return {
    ...action,
    initialDelaySeconds: Math.ceil(h.startPeriodMs / 1000),
    periodSeconds: Math.max(1, Math.ceil(h.intervalMs / 1000)),
    timeoutSeconds: Math.max(1, Math.ceil(h.timeoutMs / 1000)),
    // liveness probes must have successThreshold 1 (the API rejects anything else)
    successThreshold: readiness ? h.healthy : 1,
    failureThreshold: h.unhealthy,
  };
}

export function generateManifests(ctx: ManifestContext): KubernetesObject[] {
  const name = workloadName(ctx.app, ctx.environment);
  const selector = { 'app.kubernetes.io/name': ctx.app, 'app.kubernetes.io/instance': name };
  const labels = { ...selector, 'app.kubernetes.io/managed-by': 'slipway', [LABEL_APP]: ctx.app, [LABEL_ENVIRONMENT]: ctx.environment };
  const s = ctx.spec;
  const deployment: V1Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name,
      namespace: ctx.namespace,
      labels,
      annotations: { [ANNOTATION_CHANGE_CAUSE]: changeCause(ctx), [ANNOTATION_REVISION]: String(ctx.revision) },
    },
    spec: {
      replicas: s.replicas,
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: Math.max(1, Math.ceil(s.strategy.progressDeadlineMs / 1000)),
      selector: { matchLabels: selector },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: s.strategy.maxSurge, maxUnavailable: s.strategy.maxUnavailable } },
      template: {
        metadata: { labels: { ...selector, [LABEL_ENVIRONMENT]: ctx.environment } },
        spec: {
          containers: [
            {
              name: 'app',
              image: ctx.image,
              ports: [{ name: 'http', containerPort: s.port, protocol: 'TCP' }],
              readinessProbe: probeFor(s, true),
              livenessProbe: probeFor(s, false),
            },
          ],
        },
      },
    },
  };
  const service: V1Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ctx.namespace, labels },
    spec: { selector, ports: [{ name: 'http', port: s.port, targetPort: s.port, protocol: 'TCP' }] },
  };
  const autoscaler = horizontalPodAutoscaler(ctx, labels);
  return autoscaler ? [deployment, service, autoscaler] : [deployment, service];
}

/**
 * `autoscale:` as a HorizontalPodAutoscaler (autoscaling/v2) of the generated Deployment. targetCPU
 * (percent of one core) is an average value in millicores — a Utilization target would need CPU
 * requests, which the generated pods do not set; the cooldowns become its behavior. targetInflight
 * has no Kubernetes metric without a custom metrics adapter: alone, it makes no autoscaler.
 */
export function horizontalPodAutoscaler(ctx: ManifestContext, labels: Record<string, string>): V2HorizontalPodAutoscaler | undefined {
  const a = ctx.spec.autoscale;
  if (!a || a.targetCPU === undefined) return undefined;
  const name = workloadName(ctx.app, ctx.environment);
  const seconds = (ms: number, min: number, max: number) => Math.min(max, Math.max(min, Math.ceil(ms / 1000)));
  const upPeriod = seconds(a.cooldown.upMs, 1, 1800);
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name, namespace: ctx.namespace, labels },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
      minReplicas: a.min,
      maxReplicas: a.max,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'AverageValue', averageValue: `${Math.round(a.targetCPU * 10)}m` } } }],
      behavior: {
        // Slipway's docker autoscaler's rules: double or +4 per cooldown.up, down after cooldown.down of low load
        scaleUp: { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: upPeriod }, { type: 'Pods', value: 4, periodSeconds: upPeriod }] },
        scaleDown: { stabilizationWindowSeconds: seconds(a.cooldown.downMs, 0, 3600), selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] },
      },
    },
  };
}

/**
 * `--force` of an unchanged revision: a new pod template, so that each Deployment rolls out new
 * pods, as `kubectl rollout restart` does (with the same annotation).
 */
export function restartPodTemplates(deployments: V1Deployment[]): void {
  const at = new Date().toISOString();
  for (const d of deployments) {
    const template = (d.spec ??= { selector: {}, template: {} }).template;
    template.metadata = { ...template.metadata, annotations: { ...template.metadata?.annotations, 'kubectl.kubernetes.io/restartedAt': at } };
  }
}

/** `registry:5000/team/app@sha256:…` → `registry:5000/team/app`. */
export function repositoryOf(image: string): string {
  const noDigest = image.split('@')[0] ?? image;
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > slash ? noDigest.slice(0, colon) : noDigest;
}

/** Whether a manifest's image names the same repository, with or without the registry host. */
function sameRepository(manifestImage: string, builtRepository: string): boolean {
  const repo = repositoryOf(manifestImage);
  return repo === builtRepository || builtRepository.endsWith(`/${repo}`) || repo.endsWith(`/${builtRepository}`);
}

function podSpecsOf(obj: KubernetesObject): V1PodSpec[] {
  const o = obj as { kind?: string; spec?: Record<string, unknown> };
  const spec = o.spec;
  if (!spec) return [];
  if (o.kind === 'Pod') return [spec as unknown as V1PodSpec];
  if (o.kind === 'CronJob') {
    const jt = spec.jobTemplate as { spec?: { template?: { spec?: V1PodSpec } } } | undefined;
    return jt?.spec?.template?.spec ? [jt.spec.template.spec] : [];
  }
  const template = spec.template as { spec?: V1PodSpec } | undefined;
  return template?.spec ? [template.spec] : [];
}

/** Puts `image` into every container whose image is of the same repository; returns how many. */
export function substituteImage(objects: KubernetesObject[], image: string): number {
  const built = repositoryOf(image);
  let count = 0;
  for (const obj of objects) {
    for (const pod of podSpecsOf(obj)) {
      const containers: V1Container[] = [...(pod.containers ?? []), ...(pod.initContainers ?? [])];
      for (const c of containers) {
        if (c.image && sameRepository(c.image, built)) {
          c.image = image;
          count++;
        }
      }
    }
  }
  return count;
}

async function yamlFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const out: string[] = [];
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await yamlFiles(full)));
    else if (/\.(ya?ml|json)$/.test(e.name)) out.push(full);
  }
  return out;
}

/**
 * Reads the user's manifests from a file or folder (relative to `root`). Every problem names the
 * file and the document's number in it (1-based), as users count them.
 */
export async function loadManifests(root: string, location: string): Promise<KubernetesObject[]> {
  const base = path.resolve(root, location);
  let files: string[];
  try {
    files = (await stat(base)).isDirectory() ? await yamlFiles(base) : [base];
  } catch {
    throw new DeployError('ROLLOUT_INVALID', `deploy.kubernetes.manifests: ${location} does not exist in the workspace`);
  }
  if (files.length === 0) throw new DeployError('ROLLOUT_INVALID', `deploy.kubernetes.manifests: ${location} holds no .yaml, .yml or .json file`);
  const objects: KubernetesObject[] = [];
  for (const file of files) {
    const shown = path.relative(root, file) || file;
    const docs = parseAllDocuments(await readFile(file, 'utf8'));
    const list = Array.isArray(docs) ? docs : [docs];
    for (const [index, doc] of list.entries()) {
      const where = `${shown} document ${index + 1}`;
      if (doc.errors.length > 0) {
        const err = doc.errors[0];
        const line = err?.linePos?.[0] ? ` (line ${err.linePos[0].line}, column ${err.linePos[0].col})` : '';
        throw new DeployError('ROLLOUT_INVALID', `${where}: invalid YAML${line}: ${err?.message.split('\n')[0] ?? ''}`);
      }
      const value: unknown = doc.toJS();
      if (value === null || value === undefined) continue; // an empty document, e.g. after a trailing ---
      const items = isList(value) ? value.items : [value];
      for (const item of items) {
        if (typeof item !== 'object' || item === null || Array.isArray(item)) throw new DeployError('ROLLOUT_INVALID', `${where}: expected a Kubernetes object (a mapping with apiVersion, kind and metadata)`);
        const obj = item as KubernetesObject;
        const missing = [!obj.apiVersion && 'apiVersion', !obj.kind && 'kind', !obj.metadata?.name && 'metadata.name'].filter(Boolean);
        if (missing.length > 0) throw new DeployError('ROLLOUT_INVALID', `${where}: ${obj.kind ?? 'object'} is missing ${missing.join(', ')}`);
        objects.push(obj);
      }
    }
  }
  return objects;
}

function isList(value: unknown): value is { items: unknown[] } {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'List' && Array.isArray((value as { items?: unknown }).items);
}

const ORDER: Record<string, number> = {
  Namespace: 0,
  CustomResourceDefinition: 1,
  ServiceAccount: 2,
  Secret: 2,
  ConfigMap: 2,
  PersistentVolume: 2,
  PersistentVolumeClaim: 2,
  StorageClass: 2,
  ClusterRole: 3,
  ClusterRoleBinding: 3,
  Role: 3,
  RoleBinding: 3,
  Service: 4,
  Deployment: 5,
  StatefulSet: 5,
  DaemonSet: 5,
  ReplicaSet: 5,
  Job: 5,
  CronJob: 5,
  Pod: 5,
};

/** Namespaces, then config (service accounts, config maps, secrets, RBAC), Services, workloads, the rest. */
export function orderForApply(objects: KubernetesObject[]): KubernetesObject[] {
  return objects.map((o, i) => ({ o, i })).sort((a, b) => (ORDER[a.o.kind ?? ''] ?? 6) - (ORDER[b.o.kind ?? ''] ?? 6) || a.i - b.i).map(({ o }) => o);
}
