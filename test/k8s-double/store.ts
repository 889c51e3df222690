// The double's etcd: objects by type, namespace and name; one global resourceVersion counter; a
// bounded history of changes so watches can resume from a resourceVersion (older ones: 410).
import { randomUUID } from 'node:crypto';
import { clone, now, statusError, type KObject } from './objects.js';
import { qualifiedName, type ResourceType } from './resources.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface ChangeEvent {
  type: WatchEventType;
  resourceVersion: number;
  resource: ResourceType;
  object: KObject;
}

type Listener = (event: ChangeEvent) => void;

export class ObjectStore {
  private readonly objects = new Map<string, KObject>();
  private readonly history: ChangeEvent[] = [];
  private readonly listeners = new Set<Listener>();
  private revision = 1;

  constructor(private readonly historyLimit = 2000) {}

  get resourceVersion(): number {
    return this.revision;
  }

  /** The oldest resourceVersion a watch can still resume from. */
  get oldestWatchable(): number {
    return this.history[0] ? this.history[0].resourceVersion - 1 : this.revision;
  }

  private key(type: ResourceType, namespace: string | undefined, name: string): string {
    return `${qualifiedName(type)}/${type.namespaced ? namespace ?? '' : ''}/${name}`;
  }

  get(type: ResourceType, namespace: string | undefined, name: string): KObject | undefined {
    const found = this.objects.get(this.key(type, namespace, name));
    return found ? clone(found) : undefined;
  }

  list(type: ResourceType, namespace?: string): KObject[] {
    const prefix = `${qualifiedName(type)}/${type.namespaced && namespace ? `${namespace}/` : ''}`;
    const out: KObject[] = [];
    for (const [key, obj] of this.objects) if (key.startsWith(prefix)) out.push(clone(obj));
    return out.sort((a, b) => (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') || a.metadata.name.localeCompare(b.metadata.name));
  }

  create(type: ResourceType, input: KObject): KObject {
    const obj = clone(input);
    const meta = obj.metadata;
    if (!meta.name && meta.generateName) meta.name = meta.generateName + randomSuffix();
    const key = this.key(type, meta.namespace, meta.name);
    if (this.objects.has(key)) {
      throw statusError(409, 'AlreadyExists', `${qualifiedName(type)} "${meta.name}" already exists`, {
        name: meta.name,
        group: type.group,
        kind: type.plural,
      });
    }
    meta.uid = randomUUID();
    meta.creationTimestamp = now();
    if (type.hasGeneration) meta.generation = 1;
    else delete meta.generation;
    if (!type.namespaced) delete meta.namespace;
    meta.resourceVersion = String(++this.revision);
    this.objects.set(key, obj);
    this.emit('ADDED', type, obj);
    return clone(obj);
  }

  /** Stores a new version; the caller has checked resourceVersion preconditions. */
  update(type: ResourceType, input: KObject): KObject {
    const obj = clone(input);
    const key = this.key(type, obj.metadata.namespace, obj.metadata.name);
    const old = this.objects.get(key);
    if (!old) throw notFound(type, obj.metadata.name);
    obj.metadata.uid = old.metadata.uid;
    obj.metadata.creationTimestamp = old.metadata.creationTimestamp;
    obj.metadata.resourceVersion = String(++this.revision);
    this.objects.set(key, obj);
    this.emit('MODIFIED', type, obj);
    return clone(obj);
  }

  delete(type: ResourceType, namespace: string | undefined, name: string): KObject {
    const key = this.key(type, namespace, name);
    const old = this.objects.get(key);
    if (!old) throw notFound(type, name);
    this.objects.delete(key);
    // a deleted object's last version carries the resourceVersion of its deletion
    old.metadata.resourceVersion = String(++this.revision);
    this.emit('DELETED', type, old);
    return clone(old);
  }

  /** Every object, of every type, owned by `uid` (for garbage collection). */
  ownedBy(uid: string): { object: KObject }[] {
    const out: { object: KObject }[] = [];
    for (const obj of this.objects.values()) {
      if (obj.metadata.ownerReferences?.some((ref) => ref.uid === uid)) out.push({ object: clone(obj) });
    }
    return out;
  }

  allInNamespace(namespace: string): KObject[] {
    return [...this.objects.values()].filter((o) => o.metadata.namespace === namespace).map(clone);
  }

  /**
   * Changes after `fromVersion`, then live ones, to `listener`. Throws 410 Expired when the
   * history no longer reaches back that far (the client must list again).
   */
  subscribe(fromVersion: number | undefined, listener: Listener): () => void {
    if (fromVersion !== undefined) {
      if (fromVersion < this.oldestWatchable) {
        throw statusError(410, 'Expired', `too old resource version: ${fromVersion} (${this.oldestWatchable})`);
      }
      for (const event of this.history) if (event.resourceVersion > fromVersion) listener(event);
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(type: WatchEventType, resource: ResourceType, obj: KObject): void {
    const event: ChangeEvent = { type, resourceVersion: this.revision, resource, object: clone(obj) };
    this.history.push(event);
    if (this.history.length > this.historyLimit) this.history.splice(0, this.history.length - this.historyLimit);
    for (const listener of [...this.listeners]) listener(event);
  }
}

export function notFound(type: ResourceType, name: string) {
  return statusError(404, 'NotFound', `${qualifiedName(type)} "${name}" not found`, {
    name,
    group: type.group,
    kind: type.plural,
  });
}

const SAFE = 'bcdfghjklmnpqrstvwxz2456789';
export function randomSuffix(length = 5): string {
  let out = '';
  for (let i = 0; i < length; i++) out += SAFE[Math.floor(Math.random() * SAFE.length)];
  return out;
}
