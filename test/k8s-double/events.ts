// core/v1 Events as the kubelet and controllers record them: one object per (object, reason,
// message), its count and lastTimestamp bumped when it happens again.
import { randomBytes } from 'node:crypto';
import type { Cluster } from './cluster.js';
import { newMeta, now, type KObject } from './objects.js';
import { RESOURCES, type ResourceType } from './resources.js';

const EVENT = RESOURCES.find((r) => r.kind === 'Event') as ResourceType;

export class EventRecorder {
  private readonly names = new Map<string, string>();

  constructor(private readonly cluster: Cluster) {}

  record(about: KObject, type: 'Normal' | 'Warning', reason: string, message: string, component: string, fieldPath?: string): void {
    const ns = about.metadata.namespace ?? 'default';
    const key = `${about.metadata.uid}\u0000${reason}\u0000${message}`;
    const time = now();
    try {
      const existingName = this.names.get(key);
      const existing = existingName ? this.cluster.store.get(EVENT, ns, existingName) : undefined;
      if (existing) {
        this.cluster.update(EVENT, { ...existing, count: Number(existing.count ?? 1) + 1, lastTimestamp: time }, { manager: component });
        return;
      }
      const name = `${about.metadata.name}.${randomBytes(8).toString('hex')}`;
      this.names.set(key, name);
      this.cluster.create(
        EVENT,
        {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: newMeta({ name, namespace: ns }),
          involvedObject: {
            kind: about.kind,
            namespace: ns,
            name: about.metadata.name,
            uid: about.metadata.uid,
            apiVersion: about.apiVersion,
            resourceVersion: about.metadata.resourceVersion,
            ...(fieldPath ? { fieldPath } : {}),
          },
          reason,
          message,
          source: component === 'kubelet' ? { component, host: 'double-node' } : { component },
          firstTimestamp: time,
          lastTimestamp: time,
          count: 1,
          type,
          eventTime: null,
          reportingComponent: component,
          reportingInstance: component === 'kubelet' ? 'double-node' : '',
        },
        ns,
        { manager: component },
      );
    } catch {
      // the namespace is going away; events are best effort, as in a real cluster
    }
  }
}
