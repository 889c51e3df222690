// A simplified kube-controller-manager: the Deployment controller (pod-template-hash, ReplicaSets
// with revision annotations and revision-history, RollingUpdate honouring maxSurge and
// maxUnavailable, status and the Progressing/Available conditions with the real reasons and
// progress deadline) and the ReplicaSet controller (pods to match replicas). It follows
// kubernetes/pkg/controller/deployment (rolling.go, sync.go, progress.go) in miniature.
import type { Cluster } from './cluster.js';
import type { EventRecorder } from './events.js';
import { clone, isObject, jsonEqual, newMeta, now, type KObject, type OwnerReference } from './objects.js';
import { RESOURCES, type ResourceType } from './resources.js';
import { randomSuffix } from './store.js';

const DEPLOYMENT = RESOURCES.find((r) => r.kind === 'Deployment') as ResourceType;
const REPLICASET = RESOURCES.find((r) => r.kind === 'ReplicaSet') as ResourceType;
const POD = RESOURCES.find((r) => r.kind === 'Pod') as ResourceType;

const REVISION = 'deployment.kubernetes.io/revision';
const REVISION_HISTORY = 'deployment.kubernetes.io/revision-history';
const DESIRED = 'deployment.kubernetes.io/desired-replicas';
const MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas';
const HASH = 'pod-template-hash';
/** annotations a Deployment keeps for itself and never copies to its ReplicaSets */
const NOT_COPIED = new Set(['kubectl.kubernetes.io/last-applied-configuration', REVISION, REVISION_HISTORY, DESIRED, MAX_REPLICAS, 'deprecated.deployment.rollback.to']);
const MANAGER = 'kube-controller-manager';

type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec => (isObject(v) ? v : {});
const num = (v: unknown): number => (typeof v === 'number' ? v : 0);

interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastUpdateTime: string;
  lastTransitionTime: string;
}

function revisionOf(rs: KObject): number {
  return Number(rs.metadata.annotations?.[REVISION] ?? '0') || 0;
}

function templateWithoutHash(template: unknown): unknown {
  const t = clone(rec(template));
  const meta = rec(t.metadata);
  if (isObject(meta.labels)) {
    const { [HASH]: _h, ...labels } = meta.labels;
    meta.labels = labels;
  }
  t.metadata = meta;
  return t;
}

/** FNV-32a over the template, encoded like the real controller's rand.SafeEncodeString. */
function podTemplateHash(template: unknown, collisionCount: number): string {
  let hash = 0x811c9dc5;
  const text = JSON.stringify(sortKeys(template)) + (collisionCount ? String(collisionCount) : '');
  for (const byte of Buffer.from(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return String(hash).split('').map((d) => alphabet[Number(d) % alphabet.length]).join('');
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (isObject(value)) return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys(value[k])]));
  return value;
}

function resolveIntOrPercent(value: unknown, total: number, roundUp: boolean): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.endsWith('%')) {
    const n = (Number(value.slice(0, -1)) * total) / 100;
    return roundUp ? Math.ceil(n) : Math.floor(n);
  }
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  return 0;
}

function ownedBy(obj: KObject, owner: KObject): boolean {
  return (obj.metadata.ownerReferences ?? []).some((r) => r.controller && r.uid === owner.metadata.uid);
}

function controllerRef(owner: KObject): OwnerReference {
  return { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name, uid: owner.metadata.uid, controller: true, blockOwnerDeletion: true };
}

/** Counters are omitted when zero, as the real API serialises them (omitempty). */
function compact(status: Rec): Rec {
  return Object.fromEntries(Object.entries(status).filter(([, v]) => v !== 0 && v !== undefined));
}

export class Controllers {
  constructor(
    private readonly cluster: Cluster,
    private readonly events: EventRecorder,
  ) {}

  tick(): void {
    for (const d of this.cluster.store.list(DEPLOYMENT)) this.safely(() => this.syncDeployment(d));
    for (const rs of this.cluster.store.list(REPLICASET)) this.safely(() => this.syncReplicaSet(rs));
  }

  private safely(fn: () => void): void {
    try {
      fn();
    } catch {
      // a conflict with a concurrent write (or an object deleted meanwhile): the next tick retries
    }
  }

  private scale(rs: KObject, replicas: number, d: KObject, maxSurge: number): KObject {
    const from = num(rec(rs.spec).replicas);
    const desired = String(num(rec(d.spec).replicas));
    const max = String(num(rec(d.spec).replicas) + maxSurge);
    const annotations = rs.metadata.annotations ?? {};
    if (from === replicas && annotations[DESIRED] === desired && annotations[MAX_REPLICAS] === max) return rs;
    const next = clone(rs);
    rec(next.spec).replicas = replicas;
    next.metadata.annotations = { ...annotations, [DESIRED]: desired, [MAX_REPLICAS]: max };
    const stored = this.cluster.update(REPLICASET, next, { manager: MANAGER });
    if (from !== replicas) {
      this.events.record(d, 'Normal', 'ScalingReplicaSet', `Scaled ${replicas > from ? 'up' : 'down'} replica set ${rs.metadata.name} from ${from} to ${replicas}`, 'deployment-controller');
    }
    return stored;
  }

  private syncDeployment(input: KObject): void {
    let d = input;
    const spec = rec(d.spec);
    const replicas = num(spec.replicas);
    const ns = d.metadata.namespace;
    let all = this.cluster.store.list(REPLICASET, ns).filter((rs) => ownedBy(rs, d));
    let newRS = all.find((rs) => jsonEqual(templateWithoutHash(rec(rs.spec).template), templateWithoutHash(spec.template)));
    const olds = () => all.filter((rs) => rs.metadata.uid !== newRS?.metadata.uid);
    const maxOldRevision = Math.max(0, ...olds().map(revisionOf));
    const strategy = rec(spec.strategy);
    const rolling = rec(strategy.rollingUpdate);
    let maxSurge = strategy.type === 'Recreate' ? 0 : resolveIntOrPercent(rolling.maxSurge, replicas, true);
    let maxUnavailable = strategy.type === 'Recreate' ? replicas : resolveIntOrPercent(rolling.maxUnavailable, replicas, false);
    if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
    if (strategy.type === 'Recreate') maxSurge = 0;
    const status = clone(rec(d.status));
    const conditions: Condition[] = Array.isArray(status.conditions) ? (status.conditions as Condition[]) : [];
    const copiedAnnotations = Object.fromEntries(Object.entries(d.metadata.annotations ?? {}).filter(([k]) => !NOT_COPIED.has(k)));
    const paused = spec.paused === true;

    if (!newRS && !paused) {
      const collisionCount = num(status.collisionCount);
      const hash = podTemplateHash(templateWithoutHash(spec.template), collisionCount);
      const template = clone(rec(spec.template));
      const tmeta = rec(template.metadata);
      tmeta.labels = { ...rec(tmeta.labels), [HASH]: hash };
      template.metadata = tmeta;
      const selector = clone(rec(spec.selector));
      selector.matchLabels = { ...rec(selector.matchLabels), [HASH]: hash };
      const created = this.cluster.create(
        REPLICASET,
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          metadata: newMeta({
            name: `${d.metadata.name}-${hash}`,
            namespace: ns,
            labels: { ...rec(rec(spec.template).metadata).labels as Record<string, string>, [HASH]: hash },
            annotations: { ...copiedAnnotations, [REVISION]: String(maxOldRevision + 1), [DESIRED]: String(replicas), [MAX_REPLICAS]: String(replicas + maxSurge) },
            ownerReferences: [controllerRef(d)],
          }),
          spec: { replicas: 0, minReadySeconds: num(spec.minReadySeconds), selector, template },
        },
        ns,
        { manager: MANAGER },
      );
      newRS = created;
      all = [...all, created];
      setCondition(conditions, 'Progressing', 'True', 'NewReplicaSetCreated', `Created new replica set "${created.metadata.name}"`);
    } else if (newRS) {
      // an old template came back (a rollback): its ReplicaSet takes the next revision
      const current = revisionOf(newRS);
      const annotations = { ...(newRS.metadata.annotations ?? {}), ...copiedAnnotations };
      if (current <= maxOldRevision) {
        annotations[REVISION] = String(maxOldRevision + 1);
        const history = annotations[REVISION_HISTORY];
        annotations[REVISION_HISTORY] = history ? `${history},${current}` : String(current);
      }
      if (!jsonEqual(annotations, newRS.metadata.annotations ?? {})) {
        newRS = this.cluster.update(REPLICASET, { ...newRS, metadata: { ...newRS.metadata, annotations } }, { manager: MANAGER });
        all = all.map((rs) => (rs.metadata.uid === newRS?.metadata.uid ? (newRS as KObject) : rs));
      }
      if (!conditions.some((c) => c.type === 'Progressing')) {
        setCondition(conditions, 'Progressing', 'True', 'FoundNewReplicaSet', `Found new replica set "${newRS.metadata.name}"`);
      }
    }

    // the Deployment carries the revision of its new ReplicaSet
    if (newRS && d.metadata.annotations?.[REVISION] !== newRS.metadata.annotations?.[REVISION]) {
      const annotations = { ...(d.metadata.annotations ?? {}), [REVISION]: newRS.metadata.annotations?.[REVISION] ?? '1' };
      d = this.cluster.update(DEPLOYMENT, { ...d, metadata: { ...d.metadata, annotations } }, { manager: MANAGER });
    }

    if (newRS && !paused) {
      const byCreation = (a: KObject, b: KObject) => a.metadata.creationTimestamp.localeCompare(b.metadata.creationTimestamp) || revisionOf(a) - revisionOf(b);
      if (strategy.type === 'Recreate') {
        for (const old of olds()) if (num(rec(old.spec).replicas) > 0) this.replaceIn(all, this.scale(old, 0, d, maxSurge));
        const oldPods = olds().reduce((n, rs) => n + num(rec(rs.status).replicas), 0);
        if (oldPods === 0) this.replaceIn(all, (newRS = this.scale(newRS, replicas, d, maxSurge)));
      } else {
        // scale up the new ReplicaSet within maxSurge
        const newReplicas = num(rec(newRS.spec).replicas);
        if (newReplicas > replicas) newRS = this.replaceIn(all, this.scale(newRS, replicas, d, maxSurge));
        else if (newReplicas < replicas) {
          const total = all.reduce((n, rs) => n + num(rec(rs.spec).replicas), 0);
          const up = Math.min(replicas + maxSurge - total, replicas - newReplicas);
          if (up > 0) newRS = this.replaceIn(all, this.scale(newRS, newReplicas + up, d, maxSurge));
        }
        // scale down old ReplicaSets within maxUnavailable: unhealthy replicas first
        const oldList = olds().sort(byCreation);
        if (oldList.some((rs) => num(rec(rs.spec).replicas) > 0)) {
          const allPods = all.reduce((n, rs) => n + num(rec(rs.spec).replicas), 0);
          const minAvailable = replicas - maxUnavailable;
          const newUnavailable = num(rec(newRS.spec).replicas) - num(rec(newRS.status).availableReplicas);
          let maxScaledDown = allPods - minAvailable - newUnavailable;
          if (maxScaledDown > 0) {
            for (const rs of oldList) {
              if (maxScaledDown <= 0) break;
              const specReplicas = num(rec(rs.spec).replicas);
              const unhealthy = specReplicas - num(rec(rs.status).availableReplicas);
              if (specReplicas === 0 || unhealthy <= 0) continue;
              const down = Math.min(maxScaledDown, unhealthy);
              this.replaceIn(all, this.scale(rs, specReplicas - down, d, maxSurge));
              maxScaledDown -= down;
            }
            const available = all.reduce((n, rs) => n + num(rec(rs.status).availableReplicas), 0);
            let toScaleDown = available - minAvailable;
            for (const rs of olds().sort(byCreation)) {
              if (toScaleDown <= 0) break;
              const specReplicas = num(rec(rs.spec).replicas);
              if (specReplicas === 0) continue;
              const down = Math.min(specReplicas, toScaleDown);
              this.replaceIn(all, this.scale(rs, specReplicas - down, d, maxSurge));
              toScaleDown -= down;
            }
          }
        }
      }
      // keep at most revisionHistoryLimit old ReplicaSets that run nothing
      const limit = typeof spec.revisionHistoryLimit === 'number' ? spec.revisionHistoryLimit : 10;
      const idle = olds().filter((rs) => num(rec(rs.spec).replicas) === 0 && num(rec(rs.status).replicas) === 0).sort((a, b) => revisionOf(a) - revisionOf(b));
      for (const rs of idle.slice(0, Math.max(0, idle.length - limit))) {
        this.cluster.delete(REPLICASET, ns, rs.metadata.name);
        all = all.filter((x) => x.metadata.uid !== rs.metadata.uid);
      }
    }

    // status, as calculateStatus and syncRolloutStatus compute it
    const sum = (list: KObject[], field: string) => list.reduce((n, rs) => n + num(rec(rs.status)[field]), 0);
    const totalSpec = all.reduce((n, rs) => n + num(rec(rs.spec).replicas), 0);
    const available = sum(all, 'availableReplicas');
    const next: Rec = {
      observedGeneration: d.metadata.generation ?? 1,
      replicas: sum(all, 'replicas'),
      updatedReplicas: newRS ? num(rec(newRS.status).replicas) : 0,
      readyReplicas: sum(all, 'readyReplicas'),
      availableReplicas: available,
      unavailableReplicas: Math.max(0, totalSpec - available),
      collisionCount: num(status.collisionCount),
    };
    if (available >= replicas - maxUnavailable) setCondition(conditions, 'Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.');
    else setCondition(conditions, 'Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.');
    const progressing = conditions.find((c) => c.type === 'Progressing');
    const isComplete = num(next.replicas) === num(next.updatedReplicas) && progressing?.reason === 'NewReplicaSetAvailable';
    const rsName = newRS?.metadata.name ?? '';
    if (!isComplete && !paused && newRS) {
      const deadline = num(spec.progressDeadlineSeconds);
      const complete = num(next.updatedReplicas) === replicas && num(next.replicas) === replicas && available === replicas;
      const old = status;
      const oldOld = num(old.replicas) - num(old.updatedReplicas);
      const newOld = num(next.replicas) - num(next.updatedReplicas);
      const madeProgress = num(next.updatedReplicas) > num(old.updatedReplicas) || newOld < oldOld || num(next.readyReplicas) > num(old.readyReplicas) || available > num(old.availableReplicas);
      if (complete) setCondition(conditions, 'Progressing', 'True', 'NewReplicaSetAvailable', `ReplicaSet "${rsName}" has successfully progressed.`);
      else if (madeProgress) setCondition(conditions, 'Progressing', 'True', 'ReplicaSetUpdated', `ReplicaSet "${rsName}" is progressing.`);
      else if (progressing && progressing.reason !== 'ProgressDeadlineExceeded' && Date.parse(progressing.lastUpdateTime) + deadline * 1000 < Date.now()) {
        setCondition(conditions, 'Progressing', 'False', 'ProgressDeadlineExceeded', `ReplicaSet "${rsName}" has timed out progressing.`);
        this.events.record(d, 'Warning', 'ProgressDeadlineExceeded', `Deployment "${d.metadata.name}" has timed out progressing.`, 'deployment-controller');
      }
    }
    if (paused) setCondition(conditions, 'Progressing', 'Unknown', 'DeploymentPaused', 'Deployment is paused');
    else if (progressing?.reason === 'DeploymentPaused') setCondition(conditions, 'Progressing', 'Unknown', 'DeploymentResumed', 'Deployment is resumed');
    const nextStatus = { ...compact(next), conditions };
    if (!jsonEqual(nextStatus, d.status)) {
      this.cluster.update(DEPLOYMENT, { ...d, status: nextStatus }, { manager: MANAGER, subresource: 'status' });
    }
  }

  private replaceIn(all: KObject[], rs: KObject): KObject {
    const i = all.findIndex((x) => x.metadata.uid === rs.metadata.uid);
    if (i !== -1) all[i] = rs;
    return rs;
  }

  private syncReplicaSet(rs: KObject): void {
    const ns = rs.metadata.namespace;
    const spec = rec(rs.spec);
    const pods = this.cluster.store.list(POD, ns).filter((p) => ownedBy(p, rs));
    const want = num(spec.replicas);
    if (pods.length < want) {
      for (let i = pods.length; i < want; i++) {
        const template = rec(spec.template);
        const tmeta = rec(template.metadata);
        const pod = this.cluster.create(
          POD,
          {
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: newMeta({
              name: `${rs.metadata.name}-${randomSuffix()}`,
              namespace: ns,
              labels: clone(rec(tmeta.labels)) as Record<string, string>,
              ...(isObject(tmeta.annotations) ? { annotations: clone(tmeta.annotations) as Record<string, string> } : {}),
              ownerReferences: [controllerRef(rs)],
            }),
            spec: { ...clone(rec(template.spec)), nodeName: 'double-node' },
          },
          ns,
          { manager: MANAGER },
        );
        pods.push(pod);
        this.events.record(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`, 'replicaset-controller');
      }
    } else if (pods.length > want) {
      // not-ready pods go first, then the youngest
      const isReady = (p: KObject) => (Array.isArray(rec(p.status).conditions) ? (rec(p.status).conditions as Rec[]) : []).some((c) => c.type === 'Ready' && c.status === 'True');
      const victims = [...pods].sort((a, b) => Number(isReady(a)) - Number(isReady(b)) || b.metadata.creationTimestamp.localeCompare(a.metadata.creationTimestamp)).slice(0, pods.length - want);
      for (const pod of victims) {
        this.cluster.delete(POD, ns, pod.metadata.name);
        this.events.record(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`, 'replicaset-controller');
      }
    }
    const current = this.cluster.store.list(POD, ns).filter((p) => ownedBy(p, rs));
    const ready = current.filter((p) => (Array.isArray(rec(p.status).conditions) ? (rec(p.status).conditions as Rec[]) : []).some((c) => c.type === 'Ready' && c.status === 'True'));
    const status = compact({
      replicas: current.length,
      fullyLabeledReplicas: current.length,
      readyReplicas: ready.length,
      availableReplicas: ready.length,
      observedGeneration: rs.metadata.generation ?? 1,
    });
    if (!jsonEqual(status, rs.status)) this.cluster.update(REPLICASET, { ...rs, status }, { manager: MANAGER, subresource: 'status' });
  }
}

function setCondition(conditions: Condition[], type: string, status: Condition['status'], reason: string, message: string): void {
  const existing = conditions.find((c) => c.type === type);
  const time = now();
  if (!existing) {
    conditions.push({ type, status, lastUpdateTime: time, lastTransitionTime: time, reason, message });
    return;
  }
  if (existing.status === status && existing.reason === reason && existing.message === message && type === 'Available') return;
  if (existing.status !== status) existing.lastTransitionTime = time;
  // the Available condition only moves its update time when it changes; Progressing moves on every update
  if (type !== 'Available' || existing.reason !== reason || existing.status !== status) existing.lastUpdateTime = time;
  existing.status = status;
  existing.reason = reason;
  existing.message = message;
}
