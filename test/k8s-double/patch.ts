// The three non-apply patch types the API server accepts: JSON merge patch (RFC 7386), JSON patch
// (RFC 6902, what `kubectl rollout undo` sends) and strategic merge patch (what `kubectl set image`
// sends: lists of containers, ports, env... merge by their key instead of being replaced).
import { clone, isObject, jsonEqual, statusError } from './objects.js';

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

interface JsonPatchOp {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw invalidPatch(`invalid JSON pointer "${path}"`);
  return path.slice(1).split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function invalidPatch(message: string) {
  return statusError(422, 'Invalid', `the server rejected our request due to an error in our request: ${message}`);
}

function parentOf(doc: unknown, parts: string[]): { parent: Record<string, unknown> | unknown[]; key: string } {
  let node: unknown = doc;
  for (const part of parts.slice(0, -1)) {
    if (Array.isArray(node)) node = node[Number(part)];
    else if (isObject(node)) node = node[part];
    else node = undefined;
    if (node === undefined) throw invalidPatch(`doc is missing path: "/${parts.join('/')}"`);
  }
  if (!Array.isArray(node) && !isObject(node)) throw invalidPatch(`doc is missing path: "/${parts.join('/')}"`);
  return { parent: node, key: parts.at(-1) ?? '' };
}

function getAt(doc: unknown, parts: string[]): unknown {
  let node: unknown = doc;
  for (const part of parts) {
    if (Array.isArray(node)) node = node[Number(part)];
    else if (isObject(node)) node = node[part];
    else return undefined;
  }
  return node;
}

export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw invalidPatch('a JSON patch must be a list of operations');
  let doc = clone(target);
  for (const raw of ops as JsonPatchOp[]) {
    const parts = pointer(raw.path);
    const remove = () => {
      const { parent, key } = parentOf(doc, parts);
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else {
        if (!(key in parent)) throw invalidPatch(`unable to remove nonexistent key: ${key}`);
        delete parent[key];
      }
    };
    const add = (value: unknown, replace: boolean) => {
      if (parts.length === 0) {
        doc = clone(value);
        return;
      }
      const { parent, key } = parentOf(doc, parts);
      if (Array.isArray(parent)) {
        const index = key === '-' ? parent.length : Number(key);
        if (replace) parent[index] = clone(value);
        else parent.splice(index, 0, clone(value));
      } else {
        if (replace && !(key in parent)) throw invalidPatch(`replace operation does not apply: doc is missing key: ${raw.path}`);
        parent[key] = clone(value);
      }
    };
    switch (raw.op) {
      case 'add':
        add(raw.value, false);
        break;
      case 'replace':
        add(raw.value, true);
        break;
      case 'remove':
        remove();
        break;
      case 'test':
        if (!jsonEqual(getAt(doc, parts), raw.value)) throw invalidPatch(`testing value ${raw.path} failed`);
        break;
      case 'move':
      case 'copy': {
        const value = getAt(doc, pointer(raw.from ?? ''));
        if (raw.op === 'move') {
          const fromParts = pointer(raw.from ?? '');
          const { parent, key } = parentOf(doc, fromParts);
          if (Array.isArray(parent)) parent.splice(Number(key), 1);
          else delete parent[key];
        }
        add(value, false);
        break;
      }
      default:
        throw invalidPatch(`unexpected kind of operation: ${raw.op}`);
    }
  }
  return doc;
}

/** The patchMergeKey of the lists the double knows (from the core and apps OpenAPI schemas). */
function mergeKeyFor(field: string, items: unknown[]): string | undefined {
  switch (field) {
    case 'containers':
    case 'initContainers':
    case 'ephemeralContainers':
    case 'env':
    case 'volumes':
    case 'imagePullSecrets':
      return 'name';
    case 'volumeMounts':
      return 'mountPath';
    case 'conditions':
      return 'type';
    case 'ownerReferences':
      return 'uid';
    case 'ports':
      return items.some((i) => isObject(i) && 'containerPort' in i) ? 'containerPort' : 'port';
    default:
      return undefined;
  }
}

export function strategicMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  if (patch.$patch === 'replace') {
    const { $patch: _ignored, ...rest } = patch;
    return clone(rest);
  }
  if (patch.$patch === 'delete') return undefined;
  const out: Record<string, unknown> = isObject(target) ? clone(target) : {};
  const retainKeys = Array.isArray(patch.$retainKeys) ? (patch.$retainKeys as string[]) : undefined;
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch' || key === '$retainKeys') continue;
    if (key.startsWith('$setElementOrder/')) continue; // applied below, after the merge
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const field = key.slice('$deleteFromPrimitiveList/'.length);
      const current = out[field];
      if (Array.isArray(current) && Array.isArray(value)) out[field] = current.filter((v) => !value.some((d) => jsonEqual(d, v)));
      continue;
    }
    if (value === null) {
      delete out[key];
      continue;
    }
    const current = out[key];
    if (Array.isArray(value)) {
      const mergeKey = mergeKeyFor(key, [...value, ...(Array.isArray(current) ? current : [])]);
      if (mergeKey && Array.isArray(current)) out[key] = mergeList(current, value, mergeKey);
      else out[key] = clone(value.filter((v) => !(isObject(v) && v.$patch === 'delete')));
    } else if (isObject(value)) {
      const merged = strategicMergePatch(current, value);
      if (merged === undefined) delete out[key];
      else out[key] = merged;
    } else {
      out[key] = value;
    }
  }
  for (const [key, order] of Object.entries(patch)) {
    if (!key.startsWith('$setElementOrder/') || !Array.isArray(order)) continue;
    const field = key.slice('$setElementOrder/'.length);
    const list = out[field];
    if (!Array.isArray(list)) continue;
    const mergeKey = mergeKeyFor(field, list);
    if (!mergeKey) continue;
    const rank = (item: unknown) => {
      const i = order.findIndex((o) => isObject(o) && isObject(item) && jsonEqual(o[mergeKey], item[mergeKey]));
      return i === -1 ? order.length : i;
    };
    out[field] = [...list].sort((a, b) => rank(a) - rank(b));
  }
  if (retainKeys) for (const key of Object.keys(out)) if (!retainKeys.includes(key)) delete out[key];
  return out;
}

function mergeList(current: unknown[], patch: unknown[], mergeKey: string): unknown[] {
  const out = clone(current);
  for (const item of patch) {
    if (!isObject(item)) continue;
    const index = out.findIndex((c) => isObject(c) && jsonEqual(c[mergeKey], item[mergeKey]));
    if (item.$patch === 'delete') {
      if (index !== -1) out.splice(index, 1);
    } else if (index === -1) {
      out.push(strategicMergePatch({}, item));
    } else {
      out[index] = strategicMergePatch(out[index], item);
    }
  }
  return out;
}
