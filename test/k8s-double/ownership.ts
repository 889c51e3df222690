// Server-side apply's field ownership, kept per top-level field: each label and annotation, each
// top-level field of spec, each key of data, and other top-level fields whole. Coarser than the
// real structured-merge-diff, but the same rules: an applier owns what it sends, a changed field
// owned by someone else is a conflict unless forced, fields an applier stops sending are removed.
import { clone, isObject, jsonEqual, now, statusError, type JsonObject, type KObject, type ManagedFieldsEntry } from './objects.js';

type Unit = string[];
const SKIP_TOP = new Set(['apiVersion', 'kind', 'metadata', 'status']);
const BY_KEY = new Set(['spec', 'data', 'stringData', 'binaryData']);

/** The ownership units an object (or an applied configuration) sets. */
export function unitsOf(obj: Record<string, unknown>): Unit[] {
  const units: Unit[] = [];
  const meta = isObject(obj.metadata) ? obj.metadata : {};
  for (const field of ['labels', 'annotations'] as const) {
    const map = meta[field];
    if (isObject(map)) for (const key of Object.keys(map)) units.push(['metadata', field, key]);
  }
  for (const [key, value] of Object.entries(obj)) {
    if (SKIP_TOP.has(key) || value === undefined) continue;
    if (BY_KEY.has(key) && isObject(value)) for (const sub of Object.keys(value)) units.push([key, sub]);
    else units.push([key]);
  }
  return units;
}

function valueAt(obj: Record<string, unknown>, unit: Unit): unknown {
  let node: unknown = obj;
  for (const part of unit) node = isObject(node) ? node[part] : undefined;
  return node;
}

function setAt(obj: Record<string, unknown>, unit: Unit, value: unknown): void {
  let node = obj;
  for (const part of unit.slice(0, -1)) {
    if (!isObject(node[part])) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[unit.at(-1) ?? ''] = clone(value);
}

function deleteAt(obj: Record<string, unknown>, unit: Unit): void {
  let node: unknown = obj;
  for (const part of unit.slice(0, -1)) node = isObject(node) ? node[part] : undefined;
  if (isObject(node)) delete node[unit.at(-1) ?? ''];
}

const keyOf = (unit: Unit) => JSON.stringify(unit);

function toFields(units: Unit[]): JsonObject {
  const root: JsonObject = {};
  for (const unit of units) {
    let node = root;
    for (const part of unit) {
      const k = `f:${part}`;
      if (!isObject(node[k])) node[k] = {};
      node = node[k] as JsonObject;
    }
  }
  return root;
}

function fromFields(fields: JsonObject, prefix: Unit = []): Unit[] {
  const out: Unit[] = [];
  for (const [k, v] of Object.entries(fields)) {
    if (!k.startsWith('f:') || !isObject(v)) continue;
    const unit = [...prefix, k.slice(2)];
    const children = fromFields(v as JsonObject, unit);
    out.push(...(children.length ? children : [unit]));
  }
  return out;
}

interface Owner {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  units: Map<string, Unit>;
}

function readOwners(obj: KObject): Owner[] {
  return (obj.metadata.managedFields ?? []).filter((e) => !e.subresource).map((e) => ({
    manager: e.manager,
    operation: e.operation,
    apiVersion: e.apiVersion,
    units: new Map(fromFields(e.fieldsV1).map((u) => [keyOf(u), u])),
  }));
}

function writeOwners(obj: KObject, owners: Owner[]): void {
  const entries: ManagedFieldsEntry[] = owners
    .filter((o) => o.units.size > 0)
    .map((o) => ({ manager: o.manager, operation: o.operation, apiVersion: o.apiVersion, time: now(), fieldsType: 'FieldsV1', fieldsV1: toFields([...o.units.values()]) }));
  obj.metadata.managedFields = entries;
}

/**
 * Server-side apply of `applied` onto `existing` (undefined: a create) by `manager`. Returns the
 * new object (not yet defaulted) or throws 409 Conflict with the real Status causes.
 */
export function serverSideApply(existing: KObject | undefined, applied: KObject, manager: string, force: boolean): KObject {
  const appliedUnits = unitsOf(applied);
  const result: KObject = existing ? clone(existing) : { apiVersion: applied.apiVersion, kind: applied.kind, metadata: clone(applied.metadata) };
  const owners = existing ? readOwners(existing) : [];
  let mine = owners.find((o) => o.manager === manager && o.operation === 'Apply');
  if (!mine) {
    mine = { manager, operation: 'Apply', apiVersion: applied.apiVersion, units: new Map() };
    owners.push(mine);
  }
  const conflicts: { manager: string; apiVersion: string; unit: Unit }[] = [];
  for (const unit of appliedUnits) {
    // what the server defaulted (protocol: TCP, the strategy type...) is not a difference: the
    // real structured merge compares leaf by leaf, so an applied value contained in the stored one agrees
    const differs = !contains(valueAt(result, unit), valueAt(applied, unit));
    if (!differs) continue;
    for (const other of owners) {
      if (other === mine || !other.units.has(keyOf(unit))) continue;
      if (force) other.units.delete(keyOf(unit));
      else conflicts.push({ manager: other.manager, apiVersion: other.apiVersion, unit });
    }
  }
  if (conflicts.length > 0) {
    const causes = conflicts.map((c) => ({
      type: 'FieldManagerConflict',
      message: `conflict with "${c.manager}" using ${c.apiVersion}`,
      field: `.${c.unit.join('.')}`,
    }));
    const lines = conflicts.map((c) => `conflict with "${c.manager}" using ${c.apiVersion}: .${c.unit.join('.')}`);
    const message =
      conflicts.length === 1
        ? `Apply failed with 1 conflict: ${lines[0]}`
        : `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
    throw statusError(409, 'Conflict', message, { causes });
  }
  // fields this manager applied before and no longer sends are removed, unless someone else owns them
  const appliedKeys = new Set(appliedUnits.map(keyOf));
  for (const [key, unit] of mine.units) {
    if (appliedKeys.has(key)) continue;
    if (!owners.some((o) => o !== mine && o.units.has(key))) deleteAt(result, unit);
  }
  for (const unit of appliedUnits) setAt(result, unit, valueAt(applied, unit));
  mine.units = new Map(appliedUnits.map((u) => [keyOf(u), u]));
  mine.apiVersion = applied.apiVersion;
  writeOwners(result, owners);
  return result;
}

/** After an update or a non-apply patch: `manager` takes the fields it changed from everyone. */
export function recordUpdate(before: KObject | undefined, after: KObject, manager: string): void {
  const owners = before ? readOwners(before) : [];
  const beforeUnits = before ? new Map(unitsOf(before).map((u) => [keyOf(u), u])) : new Map<string, Unit>();
  const afterUnits = new Map(unitsOf(after).map((u) => [keyOf(u), u]));
  let mine = owners.find((o) => o.manager === manager && o.operation === 'Update');
  for (const [key, unit] of afterUnits) {
    const changed = !beforeUnits.has(key) || !jsonEqual(valueAt(before ?? {}, unit), valueAt(after, unit));
    if (!changed) continue;
    for (const o of owners) if (o !== mine) o.units.delete(key);
    if (!mine) {
      mine = { manager, operation: 'Update', apiVersion: after.apiVersion, units: new Map() };
      owners.push(mine);
    }
    mine.units.set(key, unit);
  }
  for (const key of beforeUnits.keys()) if (!afterUnits.has(key)) for (const o of owners) o.units.delete(key);
  writeOwners(after, owners);
}

/** Whether `inner` agrees with `outer`: every field it sets is set to the same in `outer`. */
function contains(outer: unknown, inner: unknown): boolean {
  if (Array.isArray(inner)) return Array.isArray(outer) && outer.length === inner.length && inner.every((v, i) => contains(outer[i], v));
  if (isObject(inner)) return isObject(outer) && Object.entries(inner).every(([k, v]) => v === undefined || contains(outer[k], v));
  return jsonEqual(outer, inner);
}
