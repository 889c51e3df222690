// The double's API machinery without HTTP: create, update, patch, apply and delete with the real
// server's bookkeeping (generation on spec changes only, status subresources, field managers,
// namespace existence, garbage collection of owned objects). The HTTP layer and the controllers
// both go through it, as the real controllers go through the API server.
import { applyDefaults, validate } from './defaults.js';
import { clone, isObject, jsonEqual, statusError, type KObject } from './objects.js';
import { recordUpdate, serverSideApply } from './ownership.js';
import { jsonPatch, mergePatch, strategicMergePatch } from './patch.js';
import { RESOURCES, findByKind, groupVersion, qualifiedName, type ResourceType } from './resources.js';
import { notFound, ObjectStore } from './store.js';

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

export interface WriteOptions {
  manager: string;
  /** 'status' writes only .status; undefined writes everything but .status (for kinds that have one) */
  subresource?: 'status';
  force?: boolean;
}

const NAMESPACE = RESOURCES.find((r) => r.kind === 'Namespace') as ResourceType;

export class Cluster {
  constructor(readonly store: ObjectStore = new ObjectStore()) {}

  get(type: ResourceType, namespace: string | undefined, name: string): KObject {
    const obj = this.store.get(type, namespace, name);
    if (!obj) throw notFound(type, name);
    return obj;
  }

  private hasStatus(type: ResourceType): boolean {
    return type.subresources.includes('status');
  }

  private checkNamespace(type: ResourceType, namespace: string | undefined): void {
    if (!type.namespaced) return;
    if (!namespace) throw statusError(400, 'BadRequest', 'the namespace of the object is required');
    if (!this.store.get(NAMESPACE, undefined, namespace)) {
      throw statusError(404, 'NotFound', `namespaces "${namespace}" not found`, { name: namespace, kind: 'namespaces' });
    }
  }

  private checkKind(type: ResourceType, obj: KObject): void {
    // the endpoint implies the kind: a body may leave both out, as with the real server
    if (obj.apiVersion === undefined && obj.kind === undefined) {
      obj.apiVersion = groupVersion(type);
      obj.kind = type.kind;
    }
    if (obj.kind !== type.kind || obj.apiVersion !== groupVersion(type)) {
      const found = findByKind(String(obj.apiVersion), String(obj.kind));
      throw statusError(400, 'BadRequest', `the API version in the data (${obj.apiVersion}) does not match the expected API version (${groupVersion(type)})${found ? '' : ` or kind ${obj.kind}`}`);
    }
    if (!isObject(obj.metadata)) obj.metadata = {} as KObject['metadata'];
  }

  create(type: ResourceType, input: KObject, namespace: string | undefined, options: WriteOptions): KObject {
    const obj = clone(input);
    this.checkKind(type, obj);
    if (type.namespaced) {
      if (obj.metadata.namespace && namespace && obj.metadata.namespace !== namespace) {
        throw statusError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
      }
      obj.metadata.namespace = namespace ?? obj.metadata.namespace;
    }
    this.checkNamespace(type, obj.metadata.namespace);
    if (this.hasStatus(type)) obj.status = type.kind === 'Pod' ? { phase: 'Pending', qosClass: 'BestEffort' } : {};
    if (!obj.metadata.name && obj.metadata.generateName) obj.metadata.name = `${obj.metadata.generateName}x`; // validated below, renamed by the store
    applyDefaults(type, obj);
    validate(type, obj);
    if (obj.metadata.generateName && obj.metadata.name === `${obj.metadata.generateName}x`) obj.metadata.name = '';
    obj.metadata.resourceVersion = '';
    recordUpdate(undefined, obj, options.manager);
    return this.store.create(type, obj);
  }

  /** A full replacement (PUT), with the optimistic-concurrency check on resourceVersion. */
  update(type: ResourceType, input: KObject, options: WriteOptions): KObject {
    const obj = clone(input);
    this.checkKind(type, obj);
    const old = this.get(type, obj.metadata.namespace, obj.metadata.name);
    if (obj.metadata.resourceVersion && obj.metadata.resourceVersion !== old.metadata.resourceVersion) {
      throw statusError(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedName(type)} "${obj.metadata.name}": the object has been modified; please apply your changes to the latest version and try again`, {
        name: obj.metadata.name,
        group: type.group,
        kind: type.plural,
      });
    }
    return this.store_(type, old, obj, options);
  }

  patch(type: ResourceType, namespace: string | undefined, name: string, patchType: PatchType, body: unknown, options: WriteOptions): KObject {
    const old = this.store.get(type, namespace, name);
    if (patchType === 'apply') {
      if (!isObject(body)) throw statusError(400, 'BadRequest', 'the apply patch must be an object');
      const applied = body as KObject;
      if (!isObject(applied.metadata)) applied.metadata = {} as KObject['metadata'];
      if (applied.metadata.name && applied.metadata.name !== name) {
        throw statusError(400, 'BadRequest', `the name of the object (${applied.metadata.name}) does not match the name on the URL (${name})`);
      }
      applied.metadata.name = name;
      if (type.namespaced) applied.metadata.namespace = namespace;
      this.checkKind(type, applied);
      if (!options.manager) {
        throw statusError(422, 'Invalid', 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
      }
      if (old && applied.metadata.resourceVersion && applied.metadata.resourceVersion !== old.metadata.resourceVersion) {
        throw statusError(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedName(type)} "${name}": the object has been modified; please apply your changes to the latest version and try again`);
      }
      const { status: _status, ...withoutStatus } = applied;
      const merged = serverSideApply(old, (options.subresource === 'status' ? applied : withoutStatus) as KObject, options.manager, options.force === true);
      if (!old) {
        // apply to a missing object creates it (ownership already computed by the apply)
        this.checkNamespace(type, namespace);
        if (this.hasStatus(type)) merged.status = type.kind === 'Pod' ? { phase: 'Pending', qosClass: 'BestEffort' } : {};
        applyDefaults(type, merged);
        validate(type, merged);
        return this.store.create(type, merged);
      }
      return this.store_(type, old, merged, options, true);
    }
    if (!old) throw notFound(type, name);
    let patched: unknown;
    if (patchType === 'json') patched = jsonPatch(old, body);
    else if (patchType === 'merge') patched = mergePatch(old, body);
    else patched = strategicMergePatch(old, body);
    if (!isObject(patched)) throw statusError(422, 'Invalid', 'the patch did not produce an object');
    const obj = patched as KObject;
    obj.metadata.name = name;
    obj.metadata.namespace = old.metadata.namespace;
    if (obj.metadata.resourceVersion !== old.metadata.resourceVersion && obj.metadata.resourceVersion) {
      throw statusError(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedName(type)} "${name}": the object has been modified; please apply your changes to the latest version and try again`);
    }
    return this.store_(type, old, obj, options);
  }

  private store_(type: ResourceType, old: KObject, next: KObject, options: WriteOptions, ownershipDone = false): KObject {
    let obj = next;
    if (this.hasStatus(type)) {
      if (options.subresource === 'status') {
        // a status write changes nothing else
        obj = { ...clone(old), status: clone(next.status) };
      } else {
        obj.status = clone(old.status);
      }
    }
    obj.metadata.uid = old.metadata.uid;
    obj.metadata.creationTimestamp = old.metadata.creationTimestamp;
    if (type.kind === 'Namespace') obj.status = old.status;
    applyDefaults(type, obj);
    validate(type, obj, old);
    if (!ownershipDone && options.subresource !== 'status') recordUpdate(old, obj, options.manager);
    else if (options.subresource === 'status') obj.metadata.managedFields = old.metadata.managedFields;
    if (type.hasGeneration) {
      obj.metadata.generation = (old.metadata.generation ?? 1) + (jsonEqual(old.spec, obj.spec) ? 0 : 1);
    }
    if (jsonEqual(stripVolatile(old), stripVolatile(obj))) return old; // a no-op write keeps its resourceVersion
    return this.store.update(type, obj);
  }

  delete(type: ResourceType, namespace: string | undefined, name: string): KObject {
    const deleted = this.store.delete(type, namespace, name);
    this.collectGarbage(deleted.metadata.uid);
    if (type.kind === 'Namespace') {
      for (const obj of this.store.allInNamespace(name)) {
        const t = findByKind(obj.apiVersion, obj.kind);
        if (t && this.store.get(t, name, obj.metadata.name)) this.delete(t, name, obj.metadata.name);
      }
    }
    return deleted;
  }

  /** Background cascading deletion: dependents go when their owner goes. */
  private collectGarbage(uid: string): void {
    for (const { object } of this.store.ownedBy(uid)) {
      const t = findByKind(object.apiVersion, object.kind);
      if (t && this.store.get(t, object.metadata.namespace, object.metadata.name)) this.delete(t, object.metadata.namespace, object.metadata.name);
    }
  }
}

function stripVolatile(obj: KObject): unknown {
  // a write that changes nothing but timestamps of field ownership is a no-op
  const { managedFields, resourceVersion: _r, ...meta } = obj.metadata;
  return { ...obj, metadata: { ...meta, managedFields: (managedFields ?? []).map(({ time: _t, ...entry }) => entry) } };
}
