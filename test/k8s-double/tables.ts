// Server-side printing: the `Table` kubectl asks for when it prints `kubectl get` without `-o`.
import { isObject, type KObject } from './objects.js';
import type { ResourceType } from './resources.js';

export function wantsTable(accept: string | undefined): boolean {
  return (accept ?? '').includes('as=Table');
}

function age(timestamp: string): string {
  const s = Math.max(0, Math.floor((Date.now() - Date.parse(timestamp)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  return `${Math.floor(s / 3600)}h`;
}

const num = (v: unknown) => (typeof v === 'number' ? v : 0);

function columns(type: ResourceType): [string[], (obj: KObject) => unknown[]] {
  switch (type.kind) {
    case 'Deployment':
      return [['Name', 'Ready', 'Up-to-date', 'Available', 'Age'], (o) => {
        const spec = isObject(o.spec) ? o.spec : {};
        const st = isObject(o.status) ? o.status : {};
        return [o.metadata.name, `${num(st.readyReplicas)}/${num(spec.replicas)}`, num(st.updatedReplicas), num(st.availableReplicas), age(o.metadata.creationTimestamp)];
      }];
    case 'ReplicaSet':
      return [['Name', 'Desired', 'Current', 'Ready', 'Age'], (o) => {
        const spec = isObject(o.spec) ? o.spec : {};
        const st = isObject(o.status) ? o.status : {};
        return [o.metadata.name, num(spec.replicas), num(st.replicas), num(st.readyReplicas), age(o.metadata.creationTimestamp)];
      }];
    case 'Pod':
      return [['Name', 'Ready', 'Status', 'Restarts', 'Age'], (o) => {
        const st = isObject(o.status) ? o.status : {};
        const cs = Array.isArray(st.containerStatuses) ? st.containerStatuses.filter(isObject) : [];
        const waiting = cs.map((c) => (isObject(c.state) && isObject(c.state.waiting) ? String(c.state.waiting.reason) : '')).find(Boolean);
        return [o.metadata.name, `${cs.filter((c) => c.ready === true).length}/${cs.length}`, waiting ?? String(st.phase ?? ''), cs.reduce((n, c) => n + num(c.restartCount), 0), age(o.metadata.creationTimestamp)];
      }];
    default:
      return [['Name', 'Age'], (o) => [o.metadata.name, age(o.metadata.creationTimestamp)]];
  }
}

export function toTable(type: ResourceType, items: KObject[], metadata: Record<string, unknown>): unknown {
  const [names, cells] = columns(type);
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata,
    columnDefinitions: names.map((name, i) => ({ name, type: i === 0 ? 'string' : 'string', format: i === 0 ? 'name' : '', description: name, priority: 0 })),
    rows: items.map((o) => ({
      cells: cells(o),
      object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
    })),
  };
}
