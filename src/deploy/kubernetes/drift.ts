// Drift: how a live Deployment, Service or HorizontalPodAutoscaler differs from what the current
// revision renders (manifests.ts) — someone ran `kubectl edit`, `kubectl scale`, `kubectl set env`.
// Pure: it compares the fields Slipway decides (replicas, containers' image, command, args, env and
// ports; the Service's type, selector and ports; the autoscaler's bounds) and nothing Kubernetes
// fills in or other controllers own; and it gives the live object with those fields put back.
import type { KubernetesObject, V1Container, V1ContainerPort, V1Deployment, V1EnvVar, V1Service, V1ServicePort, V2HorizontalPodAutoscaler } from '@kubernetes/client-node';
import { isDeepStrictEqual } from 'node:util';
import type { DriftField } from '../types.js';

export interface ReplicasExpectation {
  /** the count the Deployment should run; undefined: not compared (a HorizontalPodAutoscaler sets it) */
  replicas: number | undefined;
  /** what sets it, for the message: `revision says 2`, `slipway scale set 3` */
  says: string;
}

export interface ObjectDrift {
  fields: DriftField[];
  /** the live object with the drifted fields put back (to replace it with); undefined when none drifted */
  corrected?: KubernetesObject;
}

/** A value as a message shows it: plain words bare, anything else as JSON (cut short). */
function show(value: unknown): string {
  if (typeof value === 'string' && /^[\w.:/@=+-]+$/.test(value)) return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 120 ? `${text.slice(0, 119)}…` : text;
}

function field(object: string, path: string, live: unknown, revision: unknown, says?: string): DriftField {
  const message =
    live === undefined
      ? `${path}: missing (revision says ${show(revision)})`
      : revision === undefined
        ? `${path}: ${show(live)} (not in the revision)`
        : `${path}: ${show(live)} (${says ?? `revision says ${show(revision)}`})`;
  return { object, path, ...(live !== undefined ? { live } : {}), ...(revision !== undefined ? { revision } : {}), message };
}

/** `[]`, `{}` and absent mean the same to Kubernetes for the lists and maps compared here. */
function orAbsent<T>(value: T | undefined): T | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value) && value.length === 0) return undefined;
  if (typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0) return undefined;
  return value;
}

function byKey<T>(items: T[] | undefined, key: (item: T) => string): Map<string, T> {
  return new Map((items ?? []).map((item) => [key(item), item]));
}

const portKey = (p: V1ContainerPort): string => `${p.containerPort}/${p.protocol ?? 'TCP'}`;

/**
 * Environment variables by name. Their values are never shown (a hand-set variable may be a
 * password, and status is readable with the read scope): only that one was added, removed or changed.
 */
function envDrift(object: string, where: string, live: V1EnvVar[] | undefined, revision: V1EnvVar[] | undefined): DriftField[] {
  const l = byKey(live, (e) => e.name);
  const r = byKey(revision, (e) => e.name);
  const out: DriftField[] = [];
  for (const name of new Set([...r.keys(), ...l.keys()])) {
    const path = `${where}.env[${name}]`;
    const le = l.get(name);
    const re = r.get(name);
    if (!re) out.push({ object, path, message: `${path}: set (not in the revision)` });
    else if (!le) out.push({ object, path, message: `${path}: missing (the revision sets it)` });
    else if (!isDeepStrictEqual(orAbsent(le.value), orAbsent(re.value)) || !isDeepStrictEqual(orAbsent(le.valueFrom), orAbsent(re.valueFrom))) {
      out.push({ object, path, message: `${path}: changed (not the revision's value)` });
    }
  }
  return out;
}

function containerDrift(object: string, where: string, live: V1Container, revision: V1Container): DriftField[] {
  const out: DriftField[] = [];
  if (live.image !== revision.image) out.push(field(object, `${where}.image`, live.image, revision.image));
  for (const key of ['command', 'args', 'envFrom'] as const) {
    const l = orAbsent(live[key]);
    const r = orAbsent(revision[key]);
    if (!isDeepStrictEqual(l, r)) out.push(field(object, `${where}.${key}`, l, r));
  }
  out.push(...envDrift(object, where, live.env, revision.env));
  const lp = byKey(live.ports, portKey);
  const rp = byKey(revision.ports, portKey);
  for (const key of new Set([...rp.keys(), ...lp.keys()])) {
    const l = lp.get(key);
    const r = rp.get(key);
    if (!l || !r || (l.name ?? '') !== (r.name ?? '') || (l.hostPort ?? 0) !== (r.hostPort ?? 0)) out.push(field(object, `${where}.ports[${key}]`, l, r));
  }
  return out;
}

function containersDrift(object: string, list: 'containers' | 'initContainers', live: V1Container[] | undefined, revision: V1Container[] | undefined): DriftField[] {
  const l = byKey(live, (c) => c.name);
  const r = byKey(revision, (c) => c.name);
  const out: DriftField[] = [];
  for (const name of new Set([...r.keys(), ...l.keys()])) {
    const where = `spec.template.spec.${list}[${name}]`;
    const lc = l.get(name);
    const rc = r.get(name);
    if (!lc) out.push({ object, path: where, message: `${where}: missing (the revision runs it with image ${rc?.image ?? '?'})` });
    else if (!rc) out.push({ object, path: where, message: `${where}: present with image ${lc.image ?? '?'} (not in the revision)` });
    else out.push(...containerDrift(object, where, lc, rc));
  }
  return out;
}

/** The revision's container with whatever else the live one has (resources, defaults filled in…). */
function putBack(live: V1Container | undefined, revision: V1Container): V1Container {
  if (!live) return revision;
  const { image: _image, command: _command, args: _args, env: _env, envFrom: _envFrom, ports: _ports, ...rest } = live;
  const { image, command, args, env, envFrom, ports } = revision;
  const decided = Object.entries({ image, command, args, env, envFrom, ports }).filter(([, value]) => value !== undefined);
  return { ...rest, ...(Object.fromEntries(decided) as Partial<V1Container>) };
}

export function deploymentDrift(live: V1Deployment, revision: V1Deployment, replicas: ReplicasExpectation): ObjectDrift {
  const object = `deployment/${revision.metadata?.name ?? ''}`;
  const fields: DriftField[] = [];
  const liveReplicas = live.spec?.replicas ?? 1;
  if (replicas.replicas !== undefined && liveReplicas !== replicas.replicas) fields.push(field(object, 'spec.replicas', liveReplicas, replicas.replicas, replicas.says));
  const lp = live.spec?.template.spec;
  const rp = revision.spec?.template.spec;
  fields.push(...containersDrift(object, 'containers', lp?.containers, rp?.containers));
  fields.push(...containersDrift(object, 'initContainers', lp?.initContainers, rp?.initContainers));
  if (fields.length === 0) return { fields };
  const corrected = withoutServerFields(live) as V1Deployment;
  if (corrected.spec && replicas.replicas !== undefined) corrected.spec.replicas = replicas.replicas;
  const pod = corrected.spec?.template.spec;
  if (pod && rp) {
    const byName = byKey(pod.containers, (c) => c.name);
    pod.containers = rp.containers.map((c) => putBack(byName.get(c.name), c));
    const initByName = byKey(pod.initContainers, (c) => c.name);
    const init = (rp.initContainers ?? []).map((c) => putBack(initByName.get(c.name), c));
    if (init.length > 0) pod.initContainers = init;
    else delete pod.initContainers;
  }
  return { fields, corrected };
}

const servicePortKey = (p: V1ServicePort): string => p.name || String(p.port);

export function serviceDrift(live: V1Service, revision: V1Service): ObjectDrift {
  const object = `service/${revision.metadata?.name ?? ''}`;
  const fields: DriftField[] = [];
  const type = (s: V1Service) => s.spec?.type ?? 'ClusterIP';
  if (type(live) !== type(revision)) fields.push(field(object, 'spec.type', type(live), type(revision)));
  const ls = orAbsent(live.spec?.selector);
  const rs = orAbsent(revision.spec?.selector);
  if (!isDeepStrictEqual(ls, rs)) fields.push({ ...field(object, 'spec.selector', ls, rs), message: `spec.selector: ${labels(ls)} (revision says ${labels(rs)})` });
  const lp = byKey(live.spec?.ports, servicePortKey);
  const rp = byKey(revision.spec?.ports, servicePortKey);
  for (const key of new Set([...rp.keys(), ...lp.keys()])) {
    const where = `spec.ports[${key}]`;
    const l = lp.get(key);
    const r = rp.get(key);
    if (!l || !r) {
      fields.push(field(object, where, l && comparablePort(l), r && comparablePort(r)));
      continue;
    }
    const lc = comparablePort(l);
    const rc = comparablePort(r);
    for (const k of ['port', 'targetPort', 'protocol'] as const) if (lc[k] !== rc[k]) fields.push(field(object, `${where}.${k}`, lc[k], rc[k]));
  }
  if (fields.length === 0) return { fields };
  const corrected = withoutServerFields(live) as V1Service;
  corrected.spec = { ...corrected.spec, type: type(revision), selector: revision.spec?.selector ?? {}, ports: revision.spec?.ports ?? [] };
  return { fields, corrected };
}

/** A selector as kubectl writes one: `a=1,b=2`, sorted. */
function labels(selector: Record<string, string> | undefined): string {
  const pairs = Object.entries(selector ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return pairs.length > 0 ? pairs.map(([k, v]) => `${k}=${v}`).join(',') : 'none';
}

/** A Service port as Kubernetes reads it: targetPort defaults to port, protocol to TCP. */
function comparablePort(p: V1ServicePort): { port: number; targetPort: string; protocol: string } {
  return { port: p.port, targetPort: String(p.targetPort ?? p.port), protocol: p.protocol ?? 'TCP' };
}

export function autoscalerDrift(live: V2HorizontalPodAutoscaler, revision: V2HorizontalPodAutoscaler): ObjectDrift {
  const object = `horizontalpodautoscaler/${revision.metadata?.name ?? ''}`;
  const fields: DriftField[] = [];
  const lmin = live.spec?.minReplicas ?? 1;
  const rmin = revision.spec?.minReplicas ?? 1;
  if (lmin !== rmin) fields.push(field(object, 'spec.minReplicas', lmin, rmin));
  if (live.spec?.maxReplicas !== revision.spec?.maxReplicas) fields.push(field(object, 'spec.maxReplicas', live.spec?.maxReplicas, revision.spec?.maxReplicas));
  if (fields.length === 0) return { fields };
  const corrected = withoutServerFields(live) as V2HorizontalPodAutoscaler;
  if (corrected.spec && revision.spec) corrected.spec = { ...corrected.spec, minReplicas: rmin, maxReplicas: revision.spec.maxReplicas };
  return { fields, corrected };
}

/** An object of the revision that is not in the cluster at all (someone deleted it). */
export function missingObject(revision: KubernetesObject): DriftField {
  const object = `${(revision.kind ?? 'object').toLowerCase()}/${revision.metadata?.name ?? ''}`;
  return { object, path: '', message: `${object}: missing from namespace ${revision.metadata?.namespace ?? '?'} (the revision has it)` };
}

/** The live object to send back whole: without managedFields, which the API server would take as given. */
function withoutServerFields(obj: KubernetesObject): KubernetesObject {
  const copy = structuredClone(obj);
  if (copy.metadata) delete copy.metadata.managedFields;
  delete (copy as { status?: unknown }).status;
  return copy;
}
